import { randomUUID } from 'node:crypto';
import {
  assertDeletable,
  assertDeletionConfirmed,
  DELETION_STATUSES,
  DELETION_STEPS,
  DomainError,
  deletionProgress,
  deletionStartsAt,
} from '@tenantry/core';
import {
  createOrgDeletion,
  type EntityManager,
  listOrgDeletionTables,
  OrgDeletionOpenError,
  type OrgDeletionRow,
  type OrgRow,
} from '@tenantry/db';
import {
  enqueueOrgDeletion,
  ORG_DELETION_QUEUE,
  type OrgDeletionJob,
  orgDeletionJobId,
} from '@tenantry/worker/queues/org-deletion';
import type { FastifyBaseLogger } from 'fastify';
import { z } from 'zod';
import type { JobQueues } from './jobs.js';

// Requesting, following and cancelling org deletions, shared by the owner's
// `DELETE /api/orgs/{id}` and the platform admin's `DELETE /api/admin/tenants/{id}`.

const count = z.number().int().nonnegative();

export const deletionReportOutput = z.object({
  rowsDeleted: z.record(z.string(), count),
  rowsTotal: count,
  usersDeleted: count,
  usersRepointed: count,
  sessionsCleared: count,
  tokensDeleted: count,
  jobsRemoved: count,
  redisKeysDeleted: count,
  filesDeleted: count,
  batches: count,
  longestBatchMs: z.number(),
  attempts: count,
  durationMs: z.number().nullable(),
  /** How long each step of the last run took, in ms. */
  stepsMs: z.record(z.string(), z.number()).optional(),
});

export const deletionOutput = z.object({
  id: z.string(),
  orgId: z.string(),
  orgSlug: z.string(),
  orgName: z.string(),
  status: z.enum(DELETION_STATUSES),
  step: z.enum(DELETION_STEPS),
  requestedAt: z.string(),
  /** When it starts (the end of the grace period); until then the org can be restored. */
  runAfter: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  rowsTotal: count,
  rowsDeleted: count,
  /** 0–1 */
  fraction: z.number(),
  tables: z.array(
    z.object({ table: z.string(), total: count, deleted: count, done: z.boolean(), byCascade: z.boolean() }),
  ),
  error: z.string().nullable(),
  report: deletionReportOutput.nullable(),
});
export type DeletionOutput = z.infer<typeof deletionOutput>;

/** A deletion record with its per-table progress, as the API shows it. */
export async function toDeletionOutput(em: EntityManager, d: OrgDeletionRow): Promise<DeletionOutput> {
  const tables = await listOrgDeletionTables(em, d.id);
  const progress = deletionProgress(tables);
  const report = d.report ? deletionReportOutput.safeParse(d.report) : null;
  return {
    id: d.id,
    orgId: d.deletedOrgId,
    orgSlug: d.orgSlug,
    orgName: d.orgName,
    status: d.status,
    step: d.step,
    requestedAt: d.requestedAt.toISOString(),
    runAfter: d.runAfter.toISOString(),
    startedAt: d.startedAt?.toISOString() ?? null,
    finishedAt: d.finishedAt?.toISOString() ?? null,
    rowsTotal: progress.rowsTotal,
    rowsDeleted: progress.rowsDeleted,
    fraction: d.status === 'completed' ? 1 : progress.fraction,
    tables: tables.map((t) => ({
      table: t.table,
      total: t.total,
      deleted: t.deleted,
      done: t.done,
      byCascade: t.byCascade,
    })),
    error: d.error,
    report: report?.success ? report.data : null,
  };
}

/** Who asks for a deletion and from where. */
export interface DeletionRequestInput {
  org: OrgRow;
  confirm: string;
  requestedById: string;
  requestedAs: OrgDeletionRow['requestedAs'];
  /** The org is the caller's current org. */
  isCurrent: boolean;
  defaultOrgId: string;
  graceMs: number;
}

/**
 * Checks the typed slug and the rules (core's `assertDeletable`) and records the deletion in the
 * caller's unit of work; the org moves to `pending_deletion` (grace period) or `deleting`.
 * Enqueue its job with `enqueueDeletionJob` once that unit has committed.
 */
export async function recordDeletionRequest(em: EntityManager, input: DeletionRequestInput): Promise<OrgDeletionRow> {
  const { org } = input;
  assertDeletionConfirmed(org.slug, input.confirm);
  assertDeletable({
    isDefault: org.id === input.defaultOrgId,
    isAdminTenancy: org.isAdminTenancy,
    isCurrent: input.isCurrent,
    status: org.status,
  });
  const now = new Date();
  try {
    return await createOrgDeletion(em, {
      id: randomUUID(),
      org,
      requestedById: input.requestedById,
      requestedAs: input.requestedAs,
      runAfter: deletionStartsAt(now, input.graceMs),
      graceful: input.graceMs > 0,
    });
  } catch (error) {
    if (error instanceof OrgDeletionOpenError) throw new DomainError('ORG_DELETION_IN_PROGRESS');
    throw error;
  }
}

/**
 * Enqueues the job of a recorded deletion. Without Redis, or if Redis fails, the deletion
 * stays recorded and the worker enqueues it when it next starts.
 */
export async function enqueueDeletionJob(queues: JobQueues, log: FastifyBaseLogger, d: OrgDeletionRow): Promise<void> {
  const queue = queues.get<OrgDeletionJob>(ORG_DELETION_QUEUE);
  if (!queue) {
    log.warn({ deletionId: d.id }, 'no Redis: the deletion starts when a worker starts');
    return;
  }
  try {
    await enqueueOrgDeletion(queue, d);
  } catch (error) {
    log.error({ err: error, deletionId: d.id }, 'deletion job not enqueued: a worker enqueues it at its next start');
  }
}

/** Removes the delayed job of a cancelled deletion (a restore). */
export async function dropDeletionJob(queues: JobQueues, log: FastifyBaseLogger, deletionId: string): Promise<void> {
  const queue = queues.get<OrgDeletionJob>(ORG_DELETION_QUEUE);
  if (!queue) return;
  try {
    await queue.remove(orgDeletionJobId(deletionId));
  } catch (error) {
    // The job finds its deletion cancelled and skips it.
    log.warn({ err: error, deletionId }, 'cancelled deletion job not removed');
  }
}
