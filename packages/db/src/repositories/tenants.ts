import type { UsageCounts } from '@tenantry/core';
import type { EntityManager } from '../db.js';
import type { OrgRow } from '../types.js';
import { listOrgs } from './orgs.js';
import { inOrgScope } from './scope.js';

// What platform admins see of every tenant. The registry (organizations) is global, but the
// counts come from tenant tables: each is read in its org's own scope, so RLS stays on and
// no query ever sees two orgs' rows at once.

/** An org with the counts of its tenant rows that the Tenants page shows. */
export interface TenantSummaryRow extends OrgRow {
  /** Members counted against limits (shadow memberships excluded). */
  members: number;
  agents: number;
}

/** The org's members (shadows excluded), pending invitations, agents and own resources. Run in its scope. */
export async function countOrgUsage(em: EntityManager, orgId: string): Promise<UsageCounts> {
  const [row] = await em.execute<Record<string, unknown>[]>(
    `select
       (select count(*) from memberships where org_id = ? and not is_shadow)::int as members,
       (select count(*) from invitations where org_id = ? and status = 'pending' and expires_at > now())::int as pending,
       (select count(*) from agents where org_id = ?)::int as agents,
       (select count(*) from resources where org_id = ?)::int as resources`,
    [orgId, orgId, orgId, orgId],
  );
  return {
    members: Number(row?.members ?? 0),
    pendingInvitations: Number(row?.pending ?? 0),
    agents: Number(row?.agents ?? 0),
    resources: Number(row?.resources ?? 0),
  };
}

/**
 * Every org with its member and agent counts, by name. Runs in the caller's transaction and
 * switches to each org's scope in turn for its counts (the caller's scope is restored).
 */
export async function listTenantSummaries(em: EntityManager): Promise<TenantSummaryRow[]> {
  const run = async (tx: EntityManager): Promise<TenantSummaryRow[]> => {
    const orgs = await listOrgs(tx);
    const summaries: TenantSummaryRow[] = [];
    for (const org of orgs) {
      const counts = await inOrgScope(tx, org.id, async () => {
        const [row] = await tx.execute<Record<string, unknown>[]>(
          `select (select count(*) from memberships where org_id = ? and not is_shadow)::int as members,
                  (select count(*) from agents where org_id = ?)::int as agents`,
          [org.id, org.id],
        );
        return { members: Number(row?.members ?? 0), agents: Number(row?.agents ?? 0) };
      });
      summaries.push({ ...org, ...counts });
    }
    return summaries;
  };
  return em.isInTransaction() ? run(em) : em.transactional(run);
}
