import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { DeletionStatus, DeletionStep, OrgStatus, TableReference } from '@tenantry/core';
import { ASYNC_COMMIT_SQL, type EntityManager, type SqlStatement } from '../db.js';
import { isUniqueViolation } from '../errors.js';
import type { OrgRow } from '../types.js';

// The records of org deletions (global tables) and the catalog-driven batches that empty an
// org's tenant tables. Row deletes run in the org's own unit of work (db.tenant), so RLS holds
// for them like for any tenant write; the records are global and written alongside.

type Raw = Record<string, unknown>;

const date = (v: unknown): Date | null =>
  v === null || v === undefined ? null : v instanceof Date ? v : new Date(v as string);

/** uuid[] arrives as an array (PGlite, pg with parsers) or as `{a,b}` text. */
function uuidArray(v: unknown): string[] {
  if (Array.isArray(v)) return v as string[];
  if (typeof v === 'string')
    return v
      .replace(/^\{|\}$/g, '')
      .split(',')
      .filter(Boolean);
  return [];
}

/** A uuid[] literal for a bound parameter (knex expands JS arrays into lists). */
function uuidArrayLiteral(ids: readonly string[]): string {
  return `{${ids.join(',')}}`;
}

/** Quotes a catalog identifier for SQL. */
function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A row of `org_deletions`. */
export interface OrgDeletionRow {
  id: string;
  deletedOrgId: string;
  orgSlug: string;
  orgName: string;
  requestedById: string | null;
  requestedAs: 'owner' | 'platform_admin';
  orgStatusBefore: 'active' | 'suspended';
  status: DeletionStatus;
  step: DeletionStep;
  runAfter: Date;
  memberUserIds: string[];
  tokenIds: string[];
  usersDone: number;
  usersDeleted: number;
  usersRepointed: number;
  sessionsCleared: number;
  tokensDeleted: number;
  jobsRemoved: number;
  redisKeysDeleted: number;
  filesDeleted: number;
  batches: number;
  longestBatchMs: number;
  attempts: number;
  error: string | null;
  report: Record<string, unknown> | null;
  requestedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
}

/** One tenant table of a deletion. */
export interface OrgDeletionTableRow {
  table: string;
  position: number;
  total: number;
  deleted: number;
  done: boolean;
  byCascade: boolean;
}

const DELETION_COLUMNS = `d.id, d.deleted_org_id as "deletedOrgId", d.org_slug as "orgSlug", d.org_name as "orgName",
  d.requested_by_id as "requestedById", d.requested_as as "requestedAs", d.org_status_before as "orgStatusBefore",
  d.status, d.step, d.run_after as "runAfter", d.member_user_ids::text as "memberUserIds", d.token_ids::text as "tokenIds",
  d.users_done as "usersDone", d.users_deleted as "usersDeleted", d.users_repointed as "usersRepointed",
  d.sessions_cleared as "sessionsCleared", d.tokens_deleted as "tokensDeleted", d.jobs_removed as "jobsRemoved",
  d.redis_keys_deleted as "redisKeysDeleted", d.files_deleted as "filesDeleted", d.batches,
  d.longest_batch_ms::float8 as "longestBatchMs", d.attempts, d.error, d.report, d.requested_at as "requestedAt",
  d.started_at as "startedAt", d.finished_at as "finishedAt", d.updated_at as "updatedAt"`;

function mapDeletion(r: Raw): OrgDeletionRow {
  const report = typeof r.report === 'string' ? (JSON.parse(r.report) as Record<string, unknown>) : r.report;
  return {
    id: r.id as string,
    deletedOrgId: r.deletedOrgId as string,
    orgSlug: r.orgSlug as string,
    orgName: r.orgName as string,
    requestedById: (r.requestedById as string | null) ?? null,
    requestedAs: r.requestedAs as OrgDeletionRow['requestedAs'],
    orgStatusBefore: r.orgStatusBefore as OrgDeletionRow['orgStatusBefore'],
    status: r.status as DeletionStatus,
    step: r.step as DeletionStep,
    runAfter: date(r.runAfter)!,
    memberUserIds: uuidArray(r.memberUserIds),
    tokenIds: uuidArray(r.tokenIds),
    usersDone: Number(r.usersDone),
    usersDeleted: Number(r.usersDeleted),
    usersRepointed: Number(r.usersRepointed),
    sessionsCleared: Number(r.sessionsCleared),
    tokensDeleted: Number(r.tokensDeleted),
    jobsRemoved: Number(r.jobsRemoved),
    redisKeysDeleted: Number(r.redisKeysDeleted),
    filesDeleted: Number(r.filesDeleted),
    batches: Number(r.batches),
    longestBatchMs: Number(r.longestBatchMs),
    attempts: Number(r.attempts),
    error: (r.error as string | null) ?? null,
    report: (report as Record<string, unknown> | null) ?? null,
    requestedAt: date(r.requestedAt)!,
    startedAt: date(r.startedAt),
    finishedAt: date(r.finishedAt),
    updatedAt: date(r.updatedAt)!,
  };
}

/** Thrown by `createOrgDeletion` when the org already has an open deletion. */
export class OrgDeletionOpenError extends Error {
  override readonly name = 'OrgDeletionOpenError';
}

/** What a new deletion records. */
export interface CreateOrgDeletionInput {
  id: string;
  org: Pick<OrgRow, 'id' | 'slug' | 'name' | 'status'>;
  requestedById: string | null;
  requestedAs: OrgDeletionRow['requestedAs'];
  runAfter: Date;
  /** With a grace period the org waits in `pending_deletion`; without, it is `deleting` at once. */
  graceful: boolean;
}

/**
 * Records a deletion and moves the org to `pending_deletion` (grace period) or `deleting`, in
 * the caller's transaction. Throws OrgDeletionOpenError if the org already has an open one.
 */
export async function createOrgDeletion(em: EntityManager, input: CreateOrgDeletionInput): Promise<OrgDeletionRow> {
  const run = async (tx: EntityManager): Promise<OrgDeletionRow> => {
    let row: Raw | undefined;
    try {
      [row] = await tx.execute(
        `insert into org_deletions as d (id, deleted_org_id, org_slug, org_name, requested_by_id, requested_as,
           org_status_before, run_after)
         values (?, ?, ?, ?, ?, ?, ?, ?) returning ${DELETION_COLUMNS}`,
        [
          input.id,
          input.org.id,
          input.org.slug,
          input.org.name,
          input.requestedById,
          input.requestedAs,
          input.org.status === 'suspended' ? 'suspended' : 'active',
          input.runAfter,
        ],
      );
    } catch (error) {
      if (isUniqueViolation(error, 'org_deletions_open_unique')) throw new OrgDeletionOpenError(input.org.id);
      throw error;
    }
    await tx.execute(`update organizations set status = ?, updated_at = now() where id = ?`, [
      input.graceful ? 'pending_deletion' : 'deleting',
      input.org.id,
    ]);
    return mapDeletion(row!);
  };
  return em.isInTransaction() ? run(em) : em.transactional(run);
}

/** The deletion with this id, or null. */
export async function findOrgDeletion(em: EntityManager, id: string): Promise<OrgDeletionRow | null> {
  const [row] = await em.execute(`select ${DELETION_COLUMNS} from org_deletions d where d.id = ?`, [id]);
  return row ? mapDeletion(row) : null;
}

/** The org's scheduled or running deletion, or null. */
export async function findOpenOrgDeletion(em: EntityManager, orgId: string): Promise<OrgDeletionRow | null> {
  const [row] = await em.execute(
    `select ${DELETION_COLUMNS} from org_deletions d where d.deleted_org_id = ? and d.status in ('scheduled', 'running')`,
    [orgId],
  );
  return row ? mapDeletion(row) : null;
}

/** Every scheduled or running deletion. */
export async function listOpenOrgDeletions(em: EntityManager): Promise<OrgDeletionRow[]> {
  const rows = await em.execute(
    `select ${DELETION_COLUMNS} from org_deletions d where d.status in ('scheduled', 'running') order by d.requested_at`,
  );
  return rows.map(mapDeletion);
}

/** Every deletion that has not reached its end, failed ones included (a starting worker takes them up again). */
export async function listUnfinishedOrgDeletions(em: EntityManager): Promise<OrgDeletionRow[]> {
  const rows = await em.execute(
    `select ${DELETION_COLUMNS} from org_deletions d where d.status in ('scheduled', 'running', 'failed')
     order by d.requested_at`,
  );
  return rows.map(mapDeletion);
}

/** The tables of a deletion, in the order they are emptied. */
export async function listOrgDeletionTables(em: EntityManager, deletionId: string): Promise<OrgDeletionTableRow[]> {
  const rows = await em.execute<Raw[]>(
    `select table_name as "table", position, total::float8 as total, deleted::float8 as deleted, done,
       by_cascade as "byCascade"
     from org_deletion_tables where deletion_id = ? order by position`,
    [deletionId],
  );
  return rows.map((r) => ({
    table: r.table as string,
    position: Number(r.position),
    total: Number(r.total),
    deleted: Number(r.deleted),
    done: r.done as boolean,
    byCascade: r.byCascade as boolean,
  }));
}

/**
 * Cancels a deletion that has not started and puts the org back as it was (restore). Returns
 * the cancelled deletion, or null when there is none to cancel (already started or over).
 */
export async function cancelScheduledOrgDeletion(em: EntityManager, orgId: string): Promise<OrgDeletionRow | null> {
  const run = async (tx: EntityManager): Promise<OrgDeletionRow | null> => {
    const [row] = await tx.execute(
      `update org_deletions d set status = 'cancelled', finished_at = now(), updated_at = now()
       where d.deleted_org_id = ? and d.status = 'scheduled' returning ${DELETION_COLUMNS}`,
      [orgId],
    );
    if (!row) return null;
    const cancelled = mapDeletion(row);
    await tx.execute(
      `update organizations set status = ?, updated_at = now() where id = ? and status = 'pending_deletion'`,
      [cancelled.orgStatusBefore, orgId],
    );
    return cancelled;
  };
  return em.isInTransaction() ? run(em) : em.transactional(run);
}

/**
 * Starts (or resumes, or retries after a failure) a deletion: `running`, one more attempt, the
 * org `deleting`. Null when the deletion is cancelled, completed, or not due yet.
 */
export async function startOrgDeletion(
  em: EntityManager,
  id: string,
  now = new Date(),
): Promise<OrgDeletionRow | null> {
  const [row] = await em.execute(
    `update org_deletions d set status = 'running', attempts = attempts + 1, error = null,
       started_at = coalesce(started_at, now()), updated_at = now()
     where d.id = ? and (d.status in ('running', 'failed') or (d.status = 'scheduled' and d.run_after <= ?))
     returning ${DELETION_COLUMNS}`,
    [id, now],
  );
  if (!row) return null;
  const deletion = mapDeletion(row);
  await em.execute(`update organizations set status = 'deleting', updated_at = now() where id = ?`, [
    deletion.deletedOrgId,
  ]);
  return deletion;
}

/** Moves a deletion to `step` (the steps before it are done). */
export async function setOrgDeletionStep(em: EntityManager, id: string, step: DeletionStep): Promise<void> {
  await em.execute('update org_deletions set step = ?, updated_at = now() where id = ?', [step, id]);
}

/** A table holding an `org_id` column, and whether the app may delete its rows itself. */
export interface TenantTable {
  table: string;
  /** The app role holds DELETE on it (else its rows go with the organizations row). */
  deletable: boolean;
  /**
   * Its `org_id` is a foreign key to organizations with ON DELETE CASCADE: deleting the
   * organizations row deletes whatever rows of the org it still holds, in the same transaction.
   */
  cascades: boolean;
}

/**
 * The tenant tables as the catalog lists them: every ordinary table of the schema with an
 * `org_id` column, so a table added later is covered without a list to maintain, and the
 * foreign keys between them (for the children-first order).
 */
export async function listTenantTables(
  em: EntityManager,
): Promise<{ tables: TenantTable[]; references: TableReference[] }> {
  const tables = await em.execute<TenantTable[]>(
    `select c.relname as "table", has_table_privilege(current_user, c.oid, 'DELETE') as deletable,
       exists (
         select 1 from pg_constraint con
         join pg_class parent on parent.oid = con.confrelid
         where con.conrelid = c.oid and con.contype = 'f' and con.confdeltype = 'c'
           and parent.relname = 'organizations' and parent.relnamespace = n.oid
           and con.conkey = array[a.attnum]::int2[]
       ) as cascades
     from pg_class c
     join pg_namespace n on n.oid = c.relnamespace
     join pg_attribute a on a.attrelid = c.oid and a.attname = 'org_id' and not a.attisdropped
     where c.relkind = 'r' and n.nspname = current_schema()
     order by c.relname`,
  );
  const references = await em.execute<TableReference[]>(
    `select distinct child.relname as child, parent.relname as parent
     from pg_constraint con
     join pg_class child on child.oid = con.conrelid
     join pg_class parent on parent.oid = con.confrelid
     join pg_namespace n on n.oid = child.relnamespace
     where con.contype = 'f' and n.nspname = current_schema()`,
  );
  return { tables, references };
}

/**
 * Keeps the rest of the transaction's scans to one process: no parallel workers, so a count of
 * a large tenant does not take every core from the other tenants' requests for its duration.
 */
export async function withoutParallelScans(em: EntityManager): Promise<void> {
  await em.execute(`select set_config('max_parallel_workers_per_gather', '0', true)`);
}

/**
 * Lets the transaction commit without waiting for its WAL to reach the disk, for deletion
 * batches: each batch records its progress in the same transaction, so a crash of the server
 * can only lose the last few batches whole (rows and progress together), which the resumed run
 * deletes again; the next step's record commits durably and with it every batch before it.
 * The other tenants' commits no longer queue behind a flush per batch.
 */
export async function withAsyncCommit(em: EntityManager): Promise<void> {
  await em.execute(ASYNC_COMMIT_SQL);
}

/**
 * Whether the org has any row left in a tenant table. Run in the org's scope. It stops at the
 * first row, and on a table the org has just been emptied of it reads no further than its
 * dead index entries, where a count would read the whole table.
 */
export async function orgHasRows(em: EntityManager, table: string, orgId: string): Promise<boolean> {
  const [row] = await em.execute<{ found: unknown }[]>(
    `select exists (select 1 from ${ident(table)} where org_id = ?) as found`,
    [orgId],
  );
  return row?.found === true;
}

/** Rows of the org in a tenant table. Run in the org's scope. */
export async function countOrgRows(em: EntityManager, table: string, orgId: string): Promise<number> {
  const [row] = await em.execute<{ n: unknown }[]>(
    `select count(*)::float8 as n from ${ident(table)} where org_id = ?`,
    [orgId],
  );
  return Number(row?.n ?? 0);
}

/**
 * Rows of the org in a tenant table, counted `step` rows at a time through a cursor, with
 * `between(ms)` awaited after each step that took `ms`. It is the same scan as a count, but
 * the caller can rest between its steps: one count of a large tenant in a single statement
 * keeps a core busy for its whole length (190 ms for the deletion bench's 1M rows), and the
 * other tenants' requests queue behind it. Run in a transaction in the org's scope (the cursor
 * lives until the transaction ends). Takes no lock beyond a read's. Embedded PGlite, whose
 * driver does not report how far a cursor moved and which serves one process anyway, counts
 * in one statement.
 */
export async function countOrgRowsInSteps(
  em: EntityManager,
  table: string,
  orgId: string,
  step: number,
  between?: (ms: number) => Promise<void>,
): Promise<number> {
  if (!(em.getDriver() instanceof PostgreSqlDriver)) return countOrgRows(em, table, orgId);
  const size = Math.max(1, Math.trunc(step));
  // Plan for reading every row, like the count (a cursor's default plans for the first tenth).
  await em.execute(`select set_config('cursor_tuple_fraction', '1', true)`);
  await em.execute(`declare org_rows_count no scroll cursor for select from ${ident(table)} where org_id = ?`, [orgId]);
  let total = 0;
  for (;;) {
    const started = performance.now();
    const moved = await em.execute<{ affectedRows?: unknown }>(`move forward ${size} in org_rows_count`, [], 'run');
    const n = Number(moved.affectedRows);
    if (!Number.isFinite(n)) throw new Error('the driver did not report the rows a cursor moved over');
    total += n;
    if (n < size) break;
    await between?.(performance.now() - started);
  }
  // (A failed statement ends the transaction, and the cursor with it.)
  await em.execute('close org_rows_count');
  return total;
}

/** Where a batch records its progress: the deletion, and how long the previous batch held its locks. */
export interface BatchProgress {
  deletionId: string;
  /** Duration of the previous batch of this run (0 for the first): kept as the longest if it was. */
  previousBatchMs: number;
}

/**
 * The statement of a deletion batch: deletes up to `limit` rows of the org from a tenant table,
 * by physical row id (`ctid`), and answers `n`, how many went. Run in the org's scope: RLS
 * decides what the delete may touch. A scan that finds fewer than `limit` rows goes on to the
 * end of the table (on a table the org holds much of, the planner scans the heap), so callers
 * ask for no more rows than are left. With `progress`, the same statement adds the rows to the
 * deletion's table progress and records the previous batch's duration, so progress commits
 * with the batch. The worker sends it with `db.writeInOrg`, BEGIN and COMMIT in one exchange.
 */
export function orgRowsBatchStatement(
  table: string,
  orgId: string,
  limit: number,
  progress?: BatchProgress,
): SqlStatement {
  const t = ident(table);
  const doomed = `with gone as (
       delete from ${t} where org_id = ? and ctid = any(array(select ctid from ${t} where org_id = ? limit ?))
       returning 1),
     n as (select count(*)::int as n from gone)`;
  const size = Math.max(1, Math.trunc(limit));
  if (!progress) return { sql: `${doomed} select n from n`, params: [orgId, orgId, size] };
  return {
    sql: `${doomed},
     tbl as (
       update org_deletion_tables set deleted = deleted + (select n from n)
       where deletion_id = ? and table_name = ? returning 1),
     rec as (
       update org_deletions set batches = batches + (case when (select n from n) > 0 then 1 else 0 end),
         longest_batch_ms = greatest(longest_batch_ms, ?), updated_at = now()
       where id = ? returning 1)
     select n from n`,
    params: [orgId, orgId, size, progress.deletionId, table, progress.previousBatchMs, progress.deletionId],
  };
}

/** How many rows a batch statement's answer says went. */
export function batchRowsDeleted(rows: readonly Record<string, unknown>[] | undefined): number {
  return Number(rows?.[0]?.n ?? 0);
}

/** Runs one deletion batch (`orgRowsBatchStatement`) in the unit of work's org scope. */
export async function deleteOrgRowsBatch(
  em: EntityManager,
  table: string,
  orgId: string,
  limit: number,
  progress?: BatchProgress,
): Promise<number> {
  const s = orgRowsBatchStatement(table, orgId, limit, progress);
  return batchRowsDeleted(await em.execute<Record<string, unknown>[]>(s.sql, [...s.params]));
}

/** Keeps `ms` as the deletion's longest batch if it was (for the last batch of a run). */
export async function recordOrgDeletionBatchMs(em: EntityManager, id: string, ms: number): Promise<void> {
  await em.execute(
    'update org_deletions set longest_batch_ms = greatest(longest_batch_ms, ?), updated_at = now() where id = ?',
    [ms, id],
  );
}

/** What the prepare step records. */
export interface OrgDeletionPlan {
  memberUserIds: string[];
  tokenIds: string[];
  sessionsCleared: number;
  tables: { table: string; total: number; byCascade: boolean }[];
}

/** Records the plan of a deletion (idempotent: a second call replaces the tables' counts). */
export async function recordOrgDeletionPlan(em: EntityManager, id: string, plan: OrgDeletionPlan): Promise<void> {
  await em.execute(
    `update org_deletions set member_user_ids = ?::uuid[], token_ids = ?::uuid[], sessions_cleared = ?,
       updated_at = now() where id = ?`,
    [uuidArrayLiteral(plan.memberUserIds), uuidArrayLiteral(plan.tokenIds), plan.sessionsCleared, id],
  );
  await em.execute('delete from org_deletion_tables where deletion_id = ?', [id]);
  if (plan.tables.length === 0) return;
  await em.execute(
    `insert into org_deletion_tables (deletion_id, table_name, position, total, by_cascade)
     values ${plan.tables.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
    plan.tables.flatMap((t, i) => [id, t.table, i, t.total, t.byCascade]),
  );
}

/** Marks a table of a deletion as emptied (or left to the cascade of the organizations row). */
export async function markOrgDeletionTableDone(
  em: EntityManager,
  id: string,
  table: string,
  byCascade: boolean,
): Promise<void> {
  await em.execute(
    `insert into org_deletion_tables as t (deletion_id, table_name, position, total, done, by_cascade)
     values (?, ?, (select coalesce(max(position), -1) + 1 from org_deletion_tables where deletion_id = ?), 0, true, ?)
     on conflict (deletion_id, table_name) do update set done = true, by_cascade = t.by_cascade or excluded.by_cascade`,
    [id, table, id, byCascade],
  );
}

/** Adds to one of the sweep counters of a deletion. */
export async function addToOrgDeletionCounter(
  em: EntityManager,
  id: string,
  counter: 'jobsRemoved' | 'redisKeysDeleted' | 'filesDeleted' | 'tokensDeleted',
  n: number,
): Promise<void> {
  const column = {
    jobsRemoved: 'jobs_removed',
    redisKeysDeleted: 'redis_keys_deleted',
    filesDeleted: 'files_deleted',
    tokensDeleted: 'tokens_deleted',
  }[counter];
  if (n === 0) return;
  await em.execute(`update org_deletions set ${column} = ${column} + ?, updated_at = now() where id = ?`, [n, id]);
}

/** Records what happened to the next member user of a deletion (the users step resumes after it). */
export async function recordOrgDeletionUser(
  em: EntityManager,
  id: string,
  outcome: 'deleted' | 'repointed' | 'kept',
): Promise<void> {
  await em.execute(
    `update org_deletions set users_done = users_done + 1,
       users_deleted = users_deleted + ?, users_repointed = users_repointed + ?, updated_at = now()
     where id = ?`,
    [outcome === 'deleted' ? 1 : 0, outcome === 'repointed' ? 1 : 0, id],
  );
}

/** Stores the report and ends the deletion. */
export async function completeOrgDeletion(
  em: EntityManager,
  id: string,
  report: Record<string, unknown>,
): Promise<void> {
  await em.execute(
    `update org_deletions set status = 'completed', step = 'report', report = ?::jsonb, finished_at = now(),
       updated_at = now() where id = ?`,
    [JSON.stringify(report), id],
  );
}

/** Records why the last attempt failed (the job retries; `final` marks the deletion failed). */
export async function recordOrgDeletionError(
  em: EntityManager,
  id: string,
  message: string,
  final: boolean,
): Promise<void> {
  await em.execute(
    `update org_deletions set error = ?, status = case when ? then 'failed' else status end,
       finished_at = case when ? then now() else finished_at end, updated_at = now() where id = ?`,
    [message.slice(0, 2000), final, final, id],
  );
}

/** Every user with a membership in the org, shadow ones included. Run in the org's scope. */
export async function listMemberUserIds(em: EntityManager, orgId: string): Promise<string[]> {
  const rows = await em.execute<{ id: string }[]>('select user_id as id from memberships where org_id = ?', [orgId]);
  return rows.map((r) => r.id);
}

/** Users whose landing org is the org (members or not). */
export async function listUsersLandingIn(em: EntityManager, orgId: string): Promise<string[]> {
  const rows = await em.execute<{ id: string }[]>('select id from users where default_org_id = ?', [orgId]);
  return rows.map((r) => r.id);
}

/** API tokens bound to the org. Run in the org's scope. */
export async function listTokenIdsBoundTo(em: EntityManager, orgId: string): Promise<string[]> {
  const rows = await em.execute<{ id: string }[]>('select token_id as id from api_token_orgs where org_id = ?', [
    orgId,
  ]);
  return rows.map((r) => r.id);
}

/** Browser sessions whose active org is the org fall back to their user's default. Returns how many. */
export async function clearSessionsActiveOrg(em: EntityManager, orgId: string): Promise<number> {
  const rows = await em.execute('update sessions set active_org_id = null where active_org_id = ? returning id', [
    orgId,
  ]);
  return rows.length;
}

/** Owners of the given tokens (global table). */
export async function ownersOfTokens(em: EntityManager, tokenIds: readonly string[]): Promise<string[]> {
  if (tokenIds.length === 0) return [];
  const rows = await em.execute<{ id: string }[]>(
    'select distinct user_id as id from api_tokens where id = any(?::uuid[])',
    [uuidArrayLiteral(tokenIds)],
  );
  return rows.map((r) => r.id);
}

/**
 * Deletes the user's tokens among `tokenIds` that no org binds any more. Run in a unit of
 * work whose `app.user_id` is the user: RLS then shows their bindings in every org.
 */
export async function deleteUnboundTokensOfUser(
  em: EntityManager,
  userId: string,
  tokenIds: readonly string[],
): Promise<number> {
  const rows = await em.execute(
    `delete from api_tokens t where t.user_id = ? and t.id = any(?::uuid[])
       and not exists (select 1 from api_token_orgs b where b.token_id = t.id)
     returning t.id`,
    [userId, uuidArrayLiteral(tokenIds)],
  );
  return rows.length;
}

/**
 * Deletes a user who has no membership left and is not a platform administrator. Run with
 * `app.user_id` = the user (RLS shows their memberships in every org). Returns whether it did.
 */
export async function deleteUserWithoutMemberships(em: EntityManager, userId: string): Promise<boolean> {
  const rows = await em.execute(
    `delete from users u where u.id = ? and u.platform_role <> 'superadmin'
       and not exists (select 1 from memberships m where m.user_id = u.id)
     returning u.id`,
    [userId],
  );
  return rows.length > 0;
}

/** Deletes the organizations row (what is left of the org's rows goes with it by cascade). */
export async function deleteOrganizationRow(em: EntityManager, orgId: string): Promise<boolean> {
  const rows = await em.execute('delete from organizations where id = ? returning id', [orgId]);
  return rows.length > 0;
}

/** Whether the org row still exists, and in which state. */
export async function orgStatusOf(em: EntityManager, orgId: string): Promise<OrgStatus | null> {
  const [row] = await em.execute<{ status: OrgStatus }[]>('select status from organizations where id = ?', [orgId]);
  return row?.status ?? null;
}
