import { DEFAULT_DELETION_BATCH_SHARE } from '@tenantry/core';
import { findOrgDeletion, recordOrgDeletionError, startOrgDeletion } from '@tenantry/db';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import { DeletionInterrupted, runOrgDeletion } from '../deletion/run-deletion.js';
import type { ProcessorContext } from '../queue-registration.js';
import type { OrgDeletionJob } from '../queues/org-deletion.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** How long a deletion that stepped aside (worker closing) waits before it runs again. */
const RESUME_DELAY_MS = 1000;

/** What a deletion job answers. */
export type OrgDeletionResult = { status: 'completed' } | { status: 'skipped'; reason: string };

/**
 * Runs one org deletion (queue `org-deletion`): checks the job against its record, waits out
 * the grace period, then runs the recorded steps to the end. A worker that closes steps aside
 * between two batches and the job comes back; a killed worker's job is picked up again by the
 * stalled check, and the next run resumes at the recorded step.
 */
export async function processOrgDeletion(job: Job<OrgDeletionJob>, ctx: ProcessorContext): Promise<OrgDeletionResult> {
  const data = job.data;
  if (!data || typeof data.orgId !== 'string' || !UUID_RE.test(data.orgId)) {
    throw new UnrecoverableError('org deletion job without a valid orgId');
  }
  if (typeof data.deletionId !== 'string' || !UUID_RE.test(data.deletionId)) {
    throw new UnrecoverableError('org deletion job without a valid deletionId');
  }
  const { db, redis } = ctx;
  if (!redis) throw new UnrecoverableError('org deletion needs the worker Redis connection (startWorker provides it)');
  const record = await db.platform({}, (em) => findOrgDeletion(em, data.deletionId));
  if (!record || record.deletedOrgId !== data.orgId) {
    throw new UnrecoverableError(`no deletion ${data.deletionId} of organization ${data.orgId} is recorded`);
  }
  if (record.status === 'completed' || record.status === 'cancelled') {
    return { status: 'skipped', reason: record.status };
  }
  if (record.status === 'scheduled' && record.runAfter.getTime() > Date.now()) {
    // Promoted early (or a clock moved): wait for the end of the grace period.
    await job.moveToDelayed(record.runAfter.getTime(), ctx.token);
    throw new DelayedError();
  }
  const started = await db.platform({}, (em) => startOrgDeletion(em, data.deletionId));
  if (!started) return { status: 'skipped', reason: 'cancelled before it started' };

  try {
    await runOrgDeletion(started, {
      db,
      redis,
      prefix: ctx.prefix ?? 'bull',
      dataDir: ctx.env?.DATA_DIR ?? './.data',
      logger: ctx.logger,
      maxBatchRows: ctx.env?.DELETION_BATCH_ROWS ?? 10_000,
      batchShare: ctx.env?.DELETION_BATCH_SHARE ?? DEFAULT_DELETION_BATCH_SHARE,
      signal: ctx.signal,
      onProgress: async (progress) => {
        await job.updateProgress(progress);
      },
    });
    return { status: 'completed' };
  } catch (error) {
    if (error instanceof DeletionInterrupted) {
      ctx.logger.info({ orgId: data.orgId, deletionId: data.deletionId }, 'deletion paused: worker closing');
      await job.moveToDelayed(Date.now() + RESUME_DELAY_MS, ctx.token);
      throw new DelayedError();
    }
    const message = error instanceof Error ? error.message : String(error);
    const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    await db.platform({}, (em) => recordOrgDeletionError(em, data.deletionId, message, final)).catch(() => undefined);
    throw error;
  }
}
