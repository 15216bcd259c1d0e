import type { Db } from '@tenantry/db';
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { WorkerEnv } from './env.js';

/** What a processor receives beside its job. */
export interface ProcessorContext {
  logger: Logger;
  /**
   * The database. A standalone worker without DATABASE_URL has none (the embedded database
   * belongs to the `pnpm start` process): reading it then throws an error that says so.
   */
  readonly db: Db;
  /** The worker's configuration (SMTP_URL…), when started through `startWorker`. */
  readonly env?: WorkerEnv;
  /** The worker's Redis connection (sweeps, pub/sub publishes), when started through `startWorker`. */
  readonly redis?: Redis;
  /** The BullMQ key prefix the worker runs with (`bull` by default). */
  readonly prefix?: string;
  /** The job's lock token (for `job.moveToDelayed`). */
  readonly token?: string;
  /** Aborted when the worker is closing: long jobs stop at a safe point and come back later. */
  readonly signal?: AbortSignal;
  /**
   * A producer for the queue `name` on the worker's connection and prefix, for processors that
   * fan out work (one job per org); when started through `startWorker`.
   */
  queue?<Data = unknown>(name: string): Queue<Data>;
}

/**
 * A job processor. Processors call core and db, scope every unit of work to the org id in
 * their job data, and throw BullMQ's `UnrecoverableError` for domain rejections that retrying
 * cannot fix.
 */
export type JobProcessor<Data = unknown, Result = unknown> = (job: Job<Data>, ctx: ProcessorContext) => Promise<Result>;

/** One queue the worker consumes: its name (from `queues/<name>.ts`) and its processor (`processors/<name>.ts`). */
export interface QueueRegistration<Data = unknown> {
  name: string;
  processor: JobProcessor<Data>;
  /** Jobs of this queue run at once in one worker process (default 1). */
  concurrency?: number;
  /** BullMQ lock and stall settings (defaults: BullMQ's). */
  lockDuration?: number;
  stalledInterval?: number;
  maxStalledCount?: number;
  /** Runs once the queue's worker is ready (e.g. re-enqueue work a lost Redis forgot). */
  onStart?: (ctx: ProcessorContext) => Promise<unknown>;
  /**
   * A BullMQ job scheduler on this queue, upserted when the worker starts: a job named `id`
   * (no data) every `every(env)` ms. Several workers upserting the same id share one schedule.
   */
  scheduler?: { id: string; every: (env: WorkerEnv) => number };
}

/** Options of a queue beside its name and processor. */
export type QueueOptions = Omit<QueueRegistration, 'name' | 'processor'>;

/** Pairs a queue name with its processor, keeping the job data type. */
export function registerQueue<Data>(
  name: string,
  processor: JobProcessor<Data>,
  options: QueueOptions = {},
): QueueRegistration<Data> {
  return { name, processor, ...options };
}
