import { randomUUID } from 'node:crypto';
import type { EntityManager } from '../db.js';
import type { FeatureOverrides, OrgRow, OrgStatus, Role, Tier, UserOrgRow } from '../types.js';
import { mapOrg, mapUserOrg, ORG_COLUMNS } from './rows.js';
import { inOrgScope } from './scope.js';

/** The org with this id, or null. */
export async function findOrgById(em: EntityManager, id: string): Promise<OrgRow | null> {
  const [row] = await em.execute(`select ${ORG_COLUMNS} from organizations o where o.id = ?`, [id]);
  return row ? mapOrg(row) : null;
}

/** The org with this slug, or null. */
export async function findOrgBySlug(em: EntityManager, slug: string): Promise<OrgRow | null> {
  const [row] = await em.execute(`select ${ORG_COLUMNS} from organizations o where o.slug = ?`, [slug]);
  return row ? mapOrg(row) : null;
}

/** Every org of the install, by name (platform admin). */
export async function listOrgs(em: EntityManager): Promise<OrgRow[]> {
  const rows = await em.execute(`select ${ORG_COLUMNS} from organizations o order by o.name, o.slug`);
  return rows.map(mapOrg);
}

/** Number of orgs of the install (license `maxTenants`). */
export async function countOrgs(em: EntityManager): Promise<number> {
  const [row] = await em.execute<{ n: number }[]>('select count(*)::int as n from organizations');
  return row?.n ?? 0;
}

/** The admin tenancy, if one is flagged. */
export async function findAdminTenancy(em: EntityManager): Promise<OrgRow | null> {
  const [row] = await em.execute(`select ${ORG_COLUMNS} from organizations o where o.is_admin_tenancy`);
  return row ? mapOrg(row) : null;
}

/** Fields of a new org. */
export interface CreateOrgInput {
  /** Defaults to a random UUID. */
  id?: string;
  slug: string;
  name: string;
  description?: string | null;
  tier?: Tier;
  createdById?: string | null;
  /** Becomes the org's owner. */
  ownerId?: string | null;
  /**
   * Give members of the admin tenancy a shadow membership (spec §2). Default true. Their
   * admin-tenancy role carries over, capped at `admin` (shadows never own an org).
   */
  adminTenancyShadows?: boolean;
}

/**
 * Inserts an org and its owner membership (written in the new org's scope, so RLS checks it
 * like any tenant write), plus shadow memberships of the admin tenancy's members. Must run in
 * a platform or tenant unit of work; the caller's org scope is restored afterwards. A taken
 * slug raises a unique violation (`isUniqueViolation(err, 'organizations_slug_unique')`).
 */
export async function createOrg(em: EntityManager, input: CreateOrgInput): Promise<OrgRow> {
  const run = async (tx: EntityManager): Promise<OrgRow> => {
    const id = input.id ?? randomUUID();
    const [row] = await tx.execute(
      `insert into organizations as o (id, slug, name, description, tier, created_by_id)
       values (?, ?, ?, ?, ?, ?) returning ${ORG_COLUMNS}`,
      [id, input.slug, input.name, input.description ?? null, input.tier ?? 'free', input.createdById ?? null],
    );
    if (!row) throw new Error('insert into organizations returned no row');

    let shadows: { userId: string; role: Role }[] = [];
    if (input.adminTenancyShadows ?? true) {
      const [admin] = await tx.execute<{ id: string }[]>('select id from organizations where is_admin_tenancy');
      if (admin) {
        shadows = await inOrgScope(tx, admin.id, () =>
          tx.execute<{ userId: string; role: Role }[]>(
            `select user_id as "userId", case when role = 'owner' then 'admin' else role end as role
             from memberships where org_id = ? and not is_shadow`,
            [admin.id],
          ),
        );
      }
    }

    await inOrgScope(tx, id, async () => {
      if (input.ownerId) {
        await tx.execute(
          `insert into memberships (org_id, user_id, role, is_shadow, added_by_id)
           values (?, ?, 'owner', false, ?)`,
          [id, input.ownerId, input.createdById ?? input.ownerId],
        );
      }
      const others = shadows.filter((s) => s.userId !== input.ownerId);
      if (others.length > 0) {
        await tx.execute(
          `insert into memberships (org_id, user_id, role, is_shadow)
           values ${others.map(() => '(?, ?, ?, true)').join(', ')}
           on conflict do nothing`,
          others.flatMap((s) => [id, s.userId, s.role]),
        );
      }
    });
    return mapOrg(row);
  };
  return em.isInTransaction() ? run(em) : em.transactional(run);
}

/** Changeable fields of an org. Slugs are immutable. */
export interface UpdateOrgInput {
  name?: string;
  description?: string | null;
  logoUrl?: string | null;
  billingEmail?: string | null;
  tier?: Tier;
  maxMembers?: number | null;
  maxAgents?: number | null;
  maxRequestsPerMinute?: number | null;
  featureOverrides?: FeatureOverrides;
  status?: OrgStatus;
  suspendedAt?: Date | null;
}

const UPDATABLE: Record<keyof UpdateOrgInput, string> = {
  name: 'name',
  description: 'description',
  logoUrl: 'logo_url',
  billingEmail: 'billing_email',
  tier: 'tier',
  maxMembers: 'max_members',
  maxAgents: 'max_agents',
  maxRequestsPerMinute: 'max_requests_per_minute',
  featureOverrides: 'feature_overrides',
  status: 'status',
  suspendedAt: 'suspended_at',
};

/** Applies the given fields (undefined = unchanged) and returns the org, or null if unknown. */
export async function updateOrg(em: EntityManager, orgId: string, patch: UpdateOrgInput): Promise<OrgRow | null> {
  const sets: string[] = [];
  const params: unknown[] = [];
  for (const [key, column] of Object.entries(UPDATABLE) as [keyof UpdateOrgInput, string][]) {
    const value = patch[key];
    if (value === undefined) continue;
    if (key === 'featureOverrides') {
      sets.push(`${column} = ?::jsonb`);
      params.push(JSON.stringify(value));
    } else {
      sets.push(`${column} = ?`);
      params.push(value);
    }
  }
  if (sets.length === 0) return findOrgById(em, orgId);
  const [row] = await em.execute(
    `update organizations o set ${sets.join(', ')}, updated_at = now() where o.id = ?
     returning ${ORG_COLUMNS}`,
    [...params, orgId],
  );
  return row ? mapOrg(row) : null;
}

/** Makes `orgId` the one admin tenancy (null: none). */
export async function setAdminTenancy(em: EntityManager, orgId: string | null): Promise<void> {
  const run = async (tx: EntityManager) => {
    // Two statements: the partial unique index is checked row by row, so clearing and setting
    // in one UPDATE could collide depending on row order.
    await tx.execute(
      'update organizations set is_admin_tenancy = false, updated_at = now() where is_admin_tenancy and id is distinct from ?',
      [orgId],
    );
    if (orgId) {
      await tx.execute(
        'update organizations set is_admin_tenancy = true, updated_at = now() where id = ? and not is_admin_tenancy',
        [orgId],
      );
    }
  };
  await (em.isInTransaction() ? run(em) : em.transactional(run));
}

/** One org of a user's list: what the org switcher and `GET /api/orgs` show. */
export interface UserOrgSummary {
  id: string;
  slug: string;
  name: string;
  description: string | null;
  role: UserOrgRow['role'];
  isShadow: boolean;
}

/**
 * Like `listOrgsOfUser`, with only the columns a list shows (a user of an MSP may be in
 * hundreds of orgs: the list is read on every page load).
 */
export async function listOrgSummariesOfUser(em: EntityManager, userId: string): Promise<UserOrgSummary[]> {
  return em.execute<UserOrgSummary[]>(
    `select o.id, o.slug, o.name, o.description, m.role, m.is_shadow as "isShadow"
     from memberships m join organizations o on o.id = m.org_id
     where m.user_id = ? order by o.name, o.slug`,
    [userId],
  );
}

/**
 * Orgs the user is a member of (shadow memberships included), with the role, by name. Reads
 * memberships through the `app.user_id` clause of RLS: run it in a unit of work whose userId
 * is this user.
 */
export async function listOrgsOfUser(em: EntityManager, userId: string): Promise<UserOrgRow[]> {
  const rows = await em.execute(
    `select ${ORG_COLUMNS}, m.role, m.is_shadow as "isShadow"
     from memberships m join organizations o on o.id = m.org_id
     where m.user_id = ? order by o.name, o.slug`,
    [userId],
  );
  return rows.map(mapUserOrg);
}
