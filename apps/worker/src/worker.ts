import { createDb, type Db } from '@tenantry/db';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { redactUrl, type WorkerEnv } from './env.js';
import { failedAttemptOutcome, JobOutcomeCounter } from './job-outcomes.js';
import { createLogger, type Logger } from './logger.js';
import { closeMailTransports } from './mail.js';
import type { ProcessorContext, QueueRegistration } from './queue-registration.js';
import { connectRedis, REDIS_CONNECT_TIMEOUT_MS } from './redis.js';
import { REGISTRY } from './registry.js';

export interface StartWorkerOptions {
  env: WorkerEnv;
  logger?: Logger;
  /**
   * The database to use. `pnpm start` passes its own (embedded PGlite has one connection, so
   * API and worker share it). Omitted: the worker opens PostgreSQL itself when DATABASE_URL is
   * set, and closes it on `close()`; without DATABASE_URL it runs without a database.
   */
  db?: Db;
  /** Queues to consume; defaults to the registry. Tests pass their own. */
  // biome-ignore lint/suspicious/noExplicitAny: see REGISTRY
  queues?: readonly QueueRegistration<any>[];
  /** How long to wait for Redis at start-up. */
  redisTimeoutMs?: number;
  /** BullMQ key prefix (default `QUEUE_PREFIX`); producers must use the same. Tests isolate with their own. */
  prefix?: string;
}

/** A started worker. `close()` lets running jobs finish, then disconnects; calling it twice is safe. */
export interface RunningWorker {
  /** Names of the queues being consumed. */
  readonly queues: readonly string[];
  close(): Promise<void>;
}

/** How long `close()` waits for Redis to acknowledge QUIT before dropping the socket. */
const QUIT_TIMEOUT_MS = 2000;

/**
 * Connects to Redis (failing with a message naming REDIS_URL if it does not answer within
 * a few seconds), starts one BullMQ worker per registered queue and returns a handle to stop them.
 */
export async function startWorker({
  env,
  logger = createLogger(env.LOG_LEVEL),
  db: givenDb,
  queues = REGISTRY,
  redisTimeoutMs = REDIS_CONNECT_TIMEOUT_MS,
  prefix: givenPrefix,
}: StartWorkerOptions): Promise<RunningWorker> {
  const prefix = givenPrefix ?? env.QUEUE_PREFIX;
  const connection = await connectRedis(env.REDIS_URL, { timeoutMs: redisTimeoutMs });
  connection.on(
    'error',
    onceUntilReady(connection, (error) => logger.warn({ err: error }, 'redis connection error')),
  );
  connection.on('ready', () => logger.debug('redis connection ready'));

  let ownDb: Db | undefined;
  if (!givenDb && env.DATABASE_URL) {
    try {
      ownDb = await createDb({
        databaseUrl: env.DATABASE_URL,
        migrationUrl: env.DATABASE_MIGRATION_URL,
        dataDir: env.DATA_DIR,
      });
    } catch (error) {
      await quit(connection);
      throw error;
    }
  }
  const db = givenDb ?? ownDb;
  if (!db) {
    logger.warn(
      'DATABASE_URL is unset: this worker runs without a database. The embedded database belongs to `pnpm start`, which runs the worker itself; set DATABASE_URL to run workers separately.',
    );
  }
  // Producers for processors that fan out (and for the schedulers), on the worker's connection.
  const producers = new Map<string, Queue>();
  const producer = <Data>(name: string): Queue<Data> => {
    let queue = producers.get(name);
    if (!queue) {
      queue = new Queue(name, { connection, ...(prefix ? { prefix } : {}) });
      queue.on('error', (error) => logger.warn({ err: error, queue: name }, 'queue error'));
      producers.set(name, queue);
    }
    return queue as unknown as Queue<Data>;
  };
  const contextFor = (jobLogger: Logger, job?: { token?: string; signal?: AbortSignal }): ProcessorContext => ({
    logger: jobLogger,
    env,
    redis: connection,
    queue: producer,
    prefix: prefix ?? 'bull',
    ...(job?.token ? { token: job.token } : {}),
    ...(job?.signal ? { signal: job.signal } : {}),
    get db(): Db {
      if (!db) {
        throw new UnrecoverableError(
          'This worker has no database: set DATABASE_URL (PostgreSQL), or run the worker inside `pnpm start`.',
        );
      }
      return db;
    },
  });
  const outcomes = new JobOutcomeCounter(connection, prefix);
  const workers = queues.map((queue) => {
    const worker = new Worker(
      queue.name,
      (job, token, signal) =>
        queue.processor(job, contextFor(logger.child({ queue: queue.name, jobId: job.id }), { token, signal })),
      {
        connection,
        concurrency: queue.concurrency ?? 1,
        ...(prefix ? { prefix } : {}),
        ...(queue.lockDuration ? { lockDuration: queue.lockDuration } : {}),
        ...(queue.stalledInterval ? { stalledInterval: queue.stalledInterval } : {}),
        ...(queue.maxStalledCount ? { maxStalledCount: queue.maxStalledCount } : {}),
      },
    );
    worker.on('error', (error) => logger.error({ err: error, queue: queue.name }, 'worker error'));
    worker.on('failed', (job, error) => {
      logger.warn({ err: error, queue: queue.name, jobId: job?.id, attempts: job?.attemptsMade }, 'job failed');
      outcomes.count(queue.name, failedAttemptOutcome(job, error));
    });
    worker.on('completed', () => outcomes.count(queue.name, 'completed'));
    return worker;
  });
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  for (const queue of queues) {
    if (queue.onStart && db) {
      // Start-up chores must not stop the worker: they run again at the next start.
      await queue.onStart(contextFor(logger.child({ queue: queue.name }))).catch((error: unknown) => {
        logger.error({ err: error, queue: queue.name }, 'start-up task failed');
      });
    }
    if (!queue.scheduler) continue;
    const every = queue.scheduler.every(env);
    await producer(queue.name).upsertJobScheduler(
      queue.scheduler.id,
      { every },
      { name: queue.scheduler.id, data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } },
    );
    logger.info({ queue: queue.name, scheduler: queue.scheduler.id, everyMs: every }, 'job scheduler ready');
  }

  const names = queues.map((queue) => queue.name);
  logger.info({ queues: names, redis: redactUrl(env.REDIS_URL) }, 'worker started');

  let closing: Promise<void> | undefined;
  return {
    queues: names,
    close() {
      closing ??= (async () => {
        // Long jobs (deletions) watch their signal and step aside at the next safe point.
        for (const worker of workers) worker.cancelAllJobs('worker closing');
        const results = await Promise.allSettled(workers.map((worker) => worker.close()));
        for (const result of results) {
          if (result.status === 'rejected') logger.error({ err: result.reason }, 'worker did not close cleanly');
        }
        await Promise.allSettled([...producers.values()].map((queue) => queue.close()));
        await outcomes.close();
        // Idle pooled SMTP connections would otherwise keep the mail server (and this process) waiting.
        closeMailTransports();
        await quit(connection);
        await ownDb?.close();
        logger.info('worker stopped');
      })();
      return closing;
    },
  };
}

/**
 * ioredis emits `error` on every failed reconnect attempt; log the first of each outage
 * and stay quiet until the connection is ready again.
 */
function onceUntilReady(connection: Redis, log: (error: Error) => void): (error: Error) => void {
  let reported = false;
  connection.on('ready', () => {
    reported = false;
  });
  return (error) => {
    if (reported) return;
    reported = true;
    log(error);
  };
}

async function quit(connection: Redis): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      connection.quit(),
      new Promise((resolve) => {
        timer = setTimeout(resolve, QUIT_TIMEOUT_MS);
      }),
    ]);
  } catch {
    // The socket is going away either way.
  } finally {
    clearTimeout(timer);
    connection.disconnect();
  }
}
