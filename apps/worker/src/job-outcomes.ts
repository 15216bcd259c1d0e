import type { Redis } from 'ioredis';

/** How a job attempt ended: done, failed for good, or failed and scheduled for another attempt. */
export const JOB_OUTCOMES = ['completed', 'failed', 'retried'] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];

/** BullMQ's default key prefix, used when a deployment sets no QUEUE_PREFIX. */
export const DEFAULT_QUEUE_PREFIX = 'bull';

/**
 * The Redis hash of one queue's job outcome counts (field = outcome), shared by every worker
 * process on that BullMQ prefix and read by the API for `tenantry_jobs_total{queue,outcome}`.
 * Platform-level (jobs of every org), so outside the `org:{orgId}:` namespace.
 */
export function jobOutcomesKey(prefix: string | undefined, queue: string): string {
  return `platform:job-outcomes:${prefix ?? DEFAULT_QUEUE_PREFIX}:${queue}`;
}

/** The outcome of a failed attempt: `failed` when no attempt is left or retrying cannot help. */
export function failedAttemptOutcome(
  job: { attemptsMade: number; opts: { attempts?: number } } | undefined,
  error: Error,
): JobOutcome {
  if (!job || error.name === 'UnrecoverableError') return 'failed';
  return job.attemptsMade >= (job.opts.attempts ?? 1) ? 'failed' : 'retried';
}

/**
 * Counts of a queue with no job for this long expire (Prometheus reads that as a counter
 * reset), so queues that are gone, and test runs, leave nothing behind for good.
 */
export const JOB_OUTCOMES_TTL_SECONDS = 7 * 86_400;

/** Counts one outcome. Never throws: bookkeeping must not fail a job. */
export async function recordJobOutcome(
  redis: Pick<Redis, 'hincrby' | 'expire'>,
  prefix: string | undefined,
  queue: string,
  outcome: JobOutcome,
): Promise<void> {
  try {
    const key = jobOutcomesKey(prefix, queue);
    await redis.hincrby(key, outcome, 1);
    await redis.expire(key, JOB_OUTCOMES_TTL_SECONDS);
  } catch {
    // Redis is down: the job's own state is what matters.
  }
}

/** The counted outcomes of each of `queues`. */
export async function readJobOutcomes(
  redis: Pick<Redis, 'hgetall'>,
  prefix: string | undefined,
  queues: readonly string[],
): Promise<{ queue: string; outcome: JobOutcome; count: number }[]> {
  const counts: { queue: string; outcome: JobOutcome; count: number }[] = [];
  for (const queue of queues) {
    const raw = await redis.hgetall(jobOutcomesKey(prefix, queue));
    for (const [field, value] of Object.entries(raw)) {
      const outcome = field as JobOutcome;
      const count = Number(value);
      if (JOB_OUTCOMES.includes(outcome) && Number.isFinite(count)) counts.push({ queue, outcome, count });
    }
  }
  return counts;
}
