import { setTimeout as sleep } from 'node:timers/promises';
import {
  type BatchSizing,
  DEFAULT_BATCH_SIZING,
  type DeletionStep,
  deletionProgress,
  encodeOrgControl,
  firstBatchSize,
  nextBatchSize,
  nextDefaultOrg,
  nextDeletionStep,
  orderChildrenFirst,
  orgControlChannel,
  restAfterBatch,
} from '@tenantry/core';
import {
  addToOrgDeletionCounter,
  batchRowsDeleted,
  clearSessionsActiveOrg,
  completeOrgDeletion,
  countOrgRows,
  countOrgRowsInSteps,
  type Db,
  deleteOrganizationRow,
  deleteUnboundTokensOfUser,
  deleteUserWithoutMemberships,
  findOrgDeletion,
  findUserById,
  inOrgScope,
  listMemberUserIds,
  listOrgDeletionTables,
  listOrgsOfUser,
  listTenantTables,
  listTokenIdsBoundTo,
  listUsersLandingIn,
  markOrgDeletionTableDone,
  type OrgDeletionRow,
  orgHasRows,
  orgRowsBatchStatement,
  ownersOfTokens,
  recordOrgDeletionBatchMs,
  recordOrgDeletionPlan,
  recordOrgDeletionUser,
  setOrgDeletionStep,
  setUserDefaultOrg,
  withoutParallelScans,
} from '@tenantry/db';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { sweepOrgFiles, sweepOrgQueuedJobs, sweepOrgRedisKeys } from './sweeps.js';

/** Thrown between two batches when the worker is closing: the job comes back later. */
export class DeletionInterrupted extends Error {
  override readonly name = 'DeletionInterrupted';
}

/** What a deletion run needs besides its record. */
export interface DeletionRunDeps {
  db: Db;
  redis: Redis;
  /** BullMQ key prefix of every queue to sweep. */
  prefix: string;
  dataDir: string;
  logger: Logger;
  /** Most rows per batch (the batch shrinks below it when batches hold their locks too long). */
  maxBatchRows: number;
  /** The share (0–1] of the rows step's time its batches may take; it rests between them for the rest. */
  batchShare: number;
  /** Rows the plan counts per step before resting like a batch (default 50,000; tests use fewer). */
  countStepRows?: number;
  signal?: AbortSignal | undefined;
  /** Told the progress after every batch (job progress for the dashboard). */
  onProgress?: (progress: { rowsDeleted: number; rowsTotal: number; step: DeletionStep }) => Promise<void>;
}

/**
 * Runs a started deletion from its recorded step to the end. Every step is idempotent and
 * records its completion (batches record their progress as they commit), so a run killed at
 * any point is resumed by the next one.
 */
export async function runOrgDeletion(deletion: OrgDeletionRow, deps: DeletionRunDeps): Promise<void> {
  const { db } = deps;
  const id = deletion.id;
  const orgId = deletion.deletedOrgId;
  const log = deps.logger.child({ orgId, deletionId: id });
  await deps.redis.publish(orgControlChannel(orgId), encodeOrgControl('deleted')).catch(() => 0);

  // How long each step of this run took (a resumed run times only the steps it ran).
  const stepsMs: Partial<Record<DeletionStep, number>> = {};
  let step: DeletionStep | null = deletion.step;
  while (step) {
    if (deps.signal?.aborted) throw new DeletionInterrupted(`deletion ${id} interrupted before ${step}`);
    log.info({ step }, 'deletion step');
    // Each step reads the record as the previous steps left it (the plan, the counters).
    const current = (await db.platform({}, (em) => findOrgDeletion(em, id))) ?? deletion;
    const started = performance.now();
    await STEPS[step](current, { ...deps, stepsMs });
    stepsMs[step] = Math.round(performance.now() - started);
    step = nextDeletionStep(step);
    if (step) {
      const next = step;
      await db.platform({}, (em) => setOrgDeletionStep(em, id, next));
    }
  }
  log.info('deletion completed');
}

type StepDeps = DeletionRunDeps & { stepsMs: Partial<Record<DeletionStep, number>> };
type StepFn = (deletion: OrgDeletionRow, deps: StepDeps) => Promise<void>;

const STEPS: Record<DeletionStep, StepFn> = {
  prepare: prepare,
  jobs: async (d, deps) => {
    await sweepOrgQueuedJobs(deps.redis, deps.prefix, d.deletedOrgId, (n) =>
      deps.db.platform({}, (em) => addToOrgDeletionCounter(em, d.id, 'jobsRemoved', n)),
    );
  },
  rows: deleteRows,
  tokens: deleteOrphanedTokens,
  users: settleUsers,
  organization: deleteOrganization,
  redis: async (d, deps) => {
    await sweepOrgRedisKeys(deps.redis, d.deletedOrgId, (n) =>
      deps.db.platform({}, (em) => addToOrgDeletionCounter(em, d.id, 'redisKeysDeleted', n)),
    );
  },
  files: async (d, deps) => {
    const n = await sweepOrgFiles(deps.dataDir, d.deletedOrgId);
    await deps.db.platform({}, (em) => addToOrgDeletionCounter(em, d.id, 'filesDeleted', n));
  },
  report: writeReport,
};

/**
 * Rows the plan counts per step: an index-only scan of about 10 ms on the deletion bench's
 * machine, after which the count rests like a batch would.
 */
const COUNT_STEP_ROWS = 50_000;

/**
 * Rests after work that took `ms`, so that work takes at most the batch share of the time;
 * answers how long it meant to rest (a closing worker does not wait it out).
 */
async function restFor(ms: number, deps: DeletionRunDeps): Promise<number> {
  const restMs = restAfterBatch(ms, deps.batchShare);
  await rest(restMs, deps);
  return restMs;
}

/** Waits `ms` without holding anything, unless the worker is closing. */
async function rest(ms: number, deps: DeletionRunDeps): Promise<void> {
  if (ms > 0) await sleep(ms, undefined, { signal: deps.signal }).catch(() => undefined);
}

/**
 * Counts the org's rows in every tenant table of the catalog (children first), records its
 * members, the users landing in it and its API tokens, and sends its browser sessions back
 * to their default org. One transaction in the org's scope: a second run replaces the plan.
 */
async function prepare(d: OrgDeletionRow, deps: DeletionRunDeps): Promise<void> {
  const orgId = d.deletedOrgId;
  await deps.db.tenant({ orgId }, async (em) => {
    await withoutParallelScans(em);
    const { tables, references } = await listTenantTables(em);
    const deletable = new Map(tables.map((t) => [t.table, t.deletable]));
    const order = orderChildrenFirst(
      tables.map((t) => t.table),
      references,
    );
    const counted: { table: string; total: number; byCascade: boolean }[] = [];
    // Counted in steps, resting between them like the batches do: before any row is locked.
    const step = deps.countStepRows ?? COUNT_STEP_ROWS;
    for (const table of order) {
      const started = performance.now();
      let steps = 1;
      let restedMs = 0;
      const total = await countOrgRowsInSteps(em, table, orgId, step, async (ms) => {
        steps += 1;
        restedMs += await restFor(ms, deps);
      });
      const ms = Math.round(performance.now() - started);
      deps.logger.debug({ table, rows: total, steps, ms, restMs: Math.round(restedMs) }, 'deletion plan count');
      counted.push({ table, total, byCascade: !deletable.get(table) });
    }
    const members = await listMemberUserIds(em, orgId);
    const landing = await listUsersLandingIn(em, orgId);
    await recordOrgDeletionPlan(em, d.id, {
      memberUserIds: [...new Set([...members, ...landing])],
      tokenIds: await listTokenIdsBoundTo(em, orgId),
      sessionsCleared: await clearSessionsActiveOrg(em, orgId),
      tables: counted,
    });
  });
}

/** Empties every table of the plan in batches, each its own short transaction in the org's scope. */
async function deleteRows(d: OrgDeletionRow, deps: DeletionRunDeps): Promise<void> {
  const orgId = d.deletedOrgId;
  const sizing: BatchSizing = {
    ...DEFAULT_BATCH_SIZING,
    max: deps.maxBatchRows,
    min: Math.min(DEFAULT_BATCH_SIZING.min, deps.maxBatchRows),
  };
  const tables = await deps.db.platform({}, (em) => listOrgDeletionTables(em, d.id));
  let sinceProgress = 0;
  // How long the last batch held its locks: each batch records the one before it.
  let previousBatchMs = 0;
  for (const table of tables) {
    if (table.done) continue;
    if (table.byCascade) {
      await deps.db.platform({}, (em) => markOrgDeletionTableDone(em, d.id, table.table, true));
      continue;
    }
    let size = firstBatchSize(sizing);
    // The rows the plan counted and no batch has taken yet. A batch asks for no more than
    // those, so the last one stops at the last row instead of scanning the rest of the table,
    // and no batch runs once they are gone (a scan that finds nothing walks every dead row of
    // the org). Rows written after the count go with the organizations row, whose step checks
    // through the catalog that none is left.
    let expected = table.total - table.deleted;
    while (expected > 0) {
      if (deps.signal?.aborted) throw new DeletionInterrupted(`deletion ${d.id} interrupted in ${table.table}`);
      const limit = Math.min(size, expected);
      // One short transaction per batch, in the org's scope, sent with its BEGIN and COMMIT in
      // one exchange; its progress commits with it, without waiting for the disk.
      const batch = orgRowsBatchStatement(table.table, orgId, limit, { deletionId: d.id, previousBatchMs });
      const started = performance.now();
      const [rows] = await deps.db.writeInOrg({ orgId }, [batch], { asyncCommit: true });
      const heldMs = performance.now() - started;
      const deleted = batchRowsDeleted(rows);
      expected -= deleted;
      // The other tenants' share of the database: no lock is held while resting.
      const restMs = expected > 0 && deleted > 0 ? restAfterBatch(heldMs, deps.batchShare) : 0;
      deps.logger.debug(
        { table: table.table, rows: deleted, limit, heldMs: Math.round(heldMs), restMs: Math.round(restMs) },
        'deletion batch',
      );
      if (deleted === 0) {
        // Nothing went although rows were counted: RLS or a missing grant keeps the app from
        // them, so they go with the organizations row (and the final check makes sure).
        const left = await deps.db.tenant({ orgId }, (em) => countOrgRows(em, table.table, orgId));
        await deps.db.platform({}, (em) => markOrgDeletionTableDone(em, d.id, table.table, left > 0));
        if (left > 0) deps.logger.warn({ table: table.table, left }, 'rows left to the organization cascade');
        break;
      }
      previousBatchMs = heldMs;
      size = nextBatchSize(size, heldMs, sizing);
      await rest(restMs, deps);
      sinceProgress += deleted;
      if (deps.onProgress && sinceProgress >= 50_000) {
        sinceProgress = 0;
        const progress = deletionProgress(await deps.db.platform({}, (em) => listOrgDeletionTables(em, d.id)));
        await deps.onProgress({ ...progress, step: 'rows' });
      }
    }
    if (expected <= 0) await deps.db.platform({}, (em) => markOrgDeletionTableDone(em, d.id, table.table, false));
  }
  await deps.db.platform({}, (em) => recordOrgDeletionBatchMs(em, d.id, previousBatchMs));
}

/** Deletes the API tokens that were bound to the org and are now bound to no org at all. */
async function deleteOrphanedTokens(d: OrgDeletionRow, deps: DeletionRunDeps): Promise<void> {
  const owners = await deps.db.platform({}, (em) => ownersOfTokens(em, d.tokenIds));
  for (const userId of owners) {
    // In the owner's own scope: RLS shows them their bindings in every org.
    await deps.db.platform({ userId }, async (em) => {
      const n = await deleteUnboundTokensOfUser(em, userId, d.tokenIds);
      await addToOrgDeletionCounter(em, d.id, 'tokensDeleted', n);
    });
  }
}

/**
 * Deletes the users whose only membership it was (never a platform administrator) and moves
 * the others' landing org to one of theirs, one user per transaction, resuming after the last
 * one recorded.
 */
async function settleUsers(d: OrgDeletionRow, deps: DeletionRunDeps): Promise<void> {
  const orgId = d.deletedOrgId;
  for (const userId of d.memberUserIds.slice(d.usersDone)) {
    await deps.db.platform({ userId }, async (em) => {
      const user = await findUserById(em, userId);
      let outcome: 'deleted' | 'repointed' | 'kept' = 'kept';
      if (user) {
        const orgs = (await listOrgsOfUser(em, userId)).filter((o) => o.id !== orgId);
        if (orgs.length === 0 && (await deleteUserWithoutMemberships(em, userId))) {
          outcome = 'deleted';
        } else if (user.defaultOrgId === orgId) {
          const next = nextDefaultOrg(
            orgs.map((o) => ({ orgId: o.id, isShadow: o.isShadow })),
            orgId,
            deps.db.defaultOrgId,
          );
          await setUserDefaultOrg(em, userId, next);
          outcome = next ? 'repointed' : 'kept';
        }
      }
      await recordOrgDeletionUser(em, d.id, outcome);
    });
  }
}

/**
 * Deletes the organizations row, then checks through the catalog, in the org's scope, that
 * no tenant table holds a row of it (tables added since the plan included). One transaction:
 * if anything is left, nothing of this step happened and the job fails saying where. A table
 * whose `org_id` cascades from organizations needs no check: the row's own delete empties it
 * in this transaction. Reading the others' emptied ranges took most of the step (96 ms on
 * `resources` and 45 ms on `audit_events` in the deletion bench, against a cascade of about
 * 280 ms), with the organizations row locked. The worker's debug log times the cascade and
 * each check.
 */
async function deleteOrganization(d: OrgDeletionRow, deps: DeletionRunDeps): Promise<void> {
  const orgId = d.deletedOrgId;
  await deps.db.platform({}, async (em) => {
    await withoutParallelScans(em);
    let started = performance.now();
    await deleteOrganizationRow(em, orgId);
    const deleteMs = Math.round(performance.now() - started);
    const { tables } = await listTenantTables(em);
    const left: string[] = [];
    const checkMs: Record<string, number> = {};
    await inOrgScope(em, orgId, async () => {
      for (const t of tables) {
        if (t.cascades) continue;
        started = performance.now();
        if (await orgHasRows(em, t.table, orgId)) left.push(`${t.table} (${await countOrgRows(em, t.table, orgId)})`);
        checkMs[t.table] = Math.round(performance.now() - started);
      }
    });
    deps.logger.debug({ deleteMs, checkMs }, 'organization row deleted and checked');
    if (left.length > 0) {
      throw new Error(
        `rows of the organization are left in ${left.join(', ')}: give those tables a foreign key to organizations with ON DELETE CASCADE, or let the app role delete their rows in the org's scope`,
      );
    }
  });
}

/** Stores what the deletion removed: rows per table, users deleted and repointed, and the sweeps. */
async function writeReport(d: OrgDeletionRow, deps: StepDeps): Promise<void> {
  await deps.db.platform({}, async (em) => {
    const record = (await findOrgDeletion(em, d.id)) ?? d;
    const tables = await listOrgDeletionTables(em, d.id);
    const rowsDeleted: Record<string, number> = {};
    for (const t of tables) rowsDeleted[t.table] = t.byCascade ? t.total : t.deleted;
    const report = {
      org: { id: record.deletedOrgId, slug: record.orgSlug, name: record.orgName },
      rowsDeleted,
      rowsTotal: Object.values(rowsDeleted).reduce((a, b) => a + b, 0),
      usersDeleted: record.usersDeleted,
      usersRepointed: record.usersRepointed,
      sessionsCleared: record.sessionsCleared,
      tokensDeleted: record.tokensDeleted,
      jobsRemoved: record.jobsRemoved,
      redisKeysDeleted: record.redisKeysDeleted,
      filesDeleted: record.filesDeleted,
      batches: record.batches,
      longestBatchMs: Math.round(record.longestBatchMs * 10) / 10,
      attempts: record.attempts,
      durationMs: record.startedAt ? Date.now() - record.startedAt.getTime() : null,
      stepsMs: deps.stepsMs,
    };
    await completeOrgDeletion(em, d.id, report);
  });
}
