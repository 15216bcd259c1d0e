import type { EntityManager } from '../db.js';

/**
 * Runs `fn` with `app.org_id` switched to `orgId` inside the caller's transaction, then puts
 * the previous value back. For the few writes that span two orgs' scopes (creating an org and
 * its first memberships); everything else runs in exactly one scope.
 */
export async function inOrgScope<T>(em: EntityManager, orgId: string, fn: () => Promise<T>): Promise<T> {
  if (!em.isInTransaction()) throw new Error('inOrgScope needs a transaction');
  const [row] = await em.execute<{ prev: string | null }[]>(
    `select current_setting('app.org_id', true) as prev, set_config('app.org_id', ?, true)`,
    [orgId],
  );
  const result = await fn();
  // Restored only on success: on failure the transaction is aborted and rolls back anyway.
  await em.execute(`select set_config('app.org_id', ?, true)`, [row?.prev ?? '']);
  return result;
}
