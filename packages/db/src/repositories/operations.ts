import type { EntityManager } from '../db.js';
import { ORG_STATUSES, type OrgStatus } from '../types.js';

/**
 * Number of organizations in each status, every status present (zero when none), for the
 * operators' `tenantry_tenants{status}` gauge. Reads the global tenant registry only.
 */
export async function countOrgsByStatus(em: EntityManager): Promise<Record<OrgStatus, number>> {
  const rows = await em.execute<{ status: OrgStatus; n: number }[]>(
    'select status, count(*)::int as n from organizations group by status',
  );
  const counts = Object.fromEntries(ORG_STATUSES.map((s) => [s, 0])) as Record<OrgStatus, number>;
  for (const row of rows) counts[row.status] = row.n;
  return counts;
}
