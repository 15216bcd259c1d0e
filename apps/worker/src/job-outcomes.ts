import type { Redis } from 'ioredis';

/** How a job attempt ended: done, failed for good, or failed and scheduled for another attempt. */
export const JOB_OUTCOMES = ['completed', 'failed', 'retried'] as const;
export type JobOutcome = (typeof JOB_OUTCOMES)[number];

/** BullMQ's default key prefix, used when a deployment sets no QUEUE_PREFIX. */
export const DEFAULT_QUEUE_PREFIX = 'bull';

/**
 * The Redis hash of job outcome counts of every worker process sharing one BullMQ prefix
 * (field `<queue>:<outcome>`), read by the API for `tenantry_jobs_total{queue,outcome}`.
 * Platform-level (jobs of every org), so outside the `org:{orgId}:` namespace.
 */
export function jobOutcomesKey(prefix: string = DEFAULT_QUEUE_PREFIX): string {
  return `platform:job-outcomes:${prefix}`;
}

/** The outcome of a failed attempt: `failed` when no attempt is left or retrying cannot help. */
export function failedAttemptOutcome(
  job: { attemptsMade: number; opts: { attempts?: number } } | undefined,
  error: Error,
): JobOutcome {
  if (!job || error.name === 'UnrecoverableError') return 'failed';
  return job.attemptsMade >= (job.opts.attempts ?? 1) ? 'failed' : 'retried';
}

/** Counts one outcome. Never throws: bookkeeping must not fail a job. */
export async function recordJobOutcome(
  redis: Pick<Redis, 'hincrby'>,
  prefix: string | undefined,
  queue: string,
  outcome: JobOutcome,
): Promise<void> {
  try {
    await redis.hincrby(jobOutcomesKey(prefix), `${queue}:${outcome}`, 1);
  } catch {
    // Redis is down: the job's own state is what matters.
  }
}

/** Every counted outcome, by queue. */
export async function readJobOutcomes(
  redis: Pick<Redis, 'hgetall'>,
  prefix?: string,
): Promise<{ queue: string; outcome: JobOutcome; count: number }[]> {
  const raw = await redis.hgetall(jobOutcomesKey(prefix));
  const counts: { queue: string; outcome: JobOutcome; count: number }[] = [];
  for (const [field, value] of Object.entries(raw)) {
    const at = field.lastIndexOf(':');
    const outcome = field.slice(at + 1) as JobOutcome;
    const count = Number(value);
    if (at <= 0 || !JOB_OUTCOMES.includes(outcome) || !Number.isFinite(count)) continue;
    counts.push({ queue: field.slice(0, at), outcome, count });
  }
  return counts;
}
