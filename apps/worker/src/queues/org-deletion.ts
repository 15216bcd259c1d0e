import type { Queue } from 'bullmq';

/** Queue of organization deletions. The API enqueues one job per deletion record. */
export const ORG_DELETION_QUEUE = 'org-deletion';

/** Data of a deletion job: the org and the `org_deletions` record that tracks its steps. */
export interface OrgDeletionJob {
  orgId: string;
  deletionId: string;
}

/**
 * Job options the producer uses. A deletion resumes at its recorded step, so retrying is
 * always safe; failures back off up to about an hour in all.
 */
export const ORG_DELETION_JOB_OPTIONS = {
  attempts: 8,
  backoff: { type: 'exponential' as const, delay: 15_000 },
  removeOnComplete: { count: 1000 },
  removeOnFail: { count: 1000 },
};

/**
 * How the worker holds a deletion job. A worker killed mid-deletion leaves the job without a
 * lock: after `lockDuration` the stalled check of any worker (every `stalledInterval`) hands it
 * to another run, which resumes at the recorded step. A deletion may stall several times.
 */
export const ORG_DELETION_WORKER_OPTIONS = {
  concurrency: 1,
  lockDuration: 10_000,
  stalledInterval: 5_000,
  maxStalledCount: 20,
};

/** Deterministic job id: asking twice for one deletion enqueues it once. */
export function orgDeletionJobId(deletionId: string): string {
  return `org-deletion-${deletionId}`;
}

/**
 * Enqueues the job of a deletion, delayed until `runAfter` (the end of the grace period).
 * Idempotent: an existing job with the same id is left as it is.
 */
export async function enqueueOrgDeletion(
  queue: Queue<OrgDeletionJob>,
  deletion: { id: string; deletedOrgId: string; runAfter: Date },
  now = Date.now(),
): Promise<void> {
  await queue.add(
    'delete',
    { orgId: deletion.deletedOrgId, deletionId: deletion.id },
    {
      ...ORG_DELETION_JOB_OPTIONS,
      jobId: orgDeletionJobId(deletion.id),
      delay: Math.max(0, deletion.runAfter.getTime() - now),
    },
  );
}
