import type { ChainableCommander, Redis } from 'ioredis';

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

/** How long a worker process gathers outcomes before adding them to the shared counts. */
export const JOB_OUTCOMES_FLUSH_MS = 250;

/**
 * A worker process's outcome counts, added to the shared Redis counts in one round trip per
 * `flushMs` (an HINCRBY per queue and outcome that moved, and the key's EXPIRE) instead of two
 * commands per job: at hundreds of jobs a second those commands were a tenth of the worker's
 * own time. The shared counts lag by at most `flushMs`; `close()` adds what is left. A process
 * that dies loses the counts of its last `flushMs`, as a Prometheus counter in its memory would.
 */
export class JobOutcomeCounter {
  private pending = new Map<string, Map<JobOutcome, number>>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly redis: { multi(): ChainableCommander },
    private readonly prefix: string | undefined,
    private readonly flushMs = JOB_OUTCOMES_FLUSH_MS,
  ) {}

  count(queue: string, outcome: JobOutcome): void {
    let counts = this.pending.get(queue);
    if (!counts) {
      counts = new Map();
      this.pending.set(queue, counts);
    }
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.flushMs);
  }

  /** Adds the gathered counts to Redis. Never throws: a failed write drops them. */
  flush(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    // One write at a time, so counts reach Redis in the order they were gathered.
    this.flushing = this.flushing.then(async () => {
      if (batch.size === 0) return;
      const multi = this.redis.multi();
      for (const [queue, counts] of batch) {
        const key = jobOutcomesKey(this.prefix, queue);
        for (const [outcome, n] of counts) multi.hincrby(key, outcome, n);
        multi.expire(key, JOB_OUTCOMES_TTL_SECONDS);
      }
      try {
        await multi.exec();
      } catch {
        // Redis is down: the jobs' own states are what matters.
      }
    });
    return this.flushing;
  }

  /** Stops the timer and adds what is left. */
  close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    return this.flush();
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
