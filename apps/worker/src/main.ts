import { EnvError, loadWorkerEnv, type WorkerEnv } from './env.js';
import { createLogger } from './logger.js';
import { RedisUnavailableError } from './redis.js';
import { type RunningWorker, startWorker } from './worker.js';

/**
 * Standalone worker process (`tsx apps/worker/src/main.ts`), for deployments on PostgreSQL
 * that run API and worker processes separately. `pnpm start` runs the worker in-process instead.
 */
async function main(): Promise<void> {
  let env: WorkerEnv;
  try {
    env = loadWorkerEnv();
  } catch (error) {
    if (error instanceof EnvError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(env.LOG_LEVEL);

  // Installed before starting, so a SIGTERM that arrives during start-up still ends in a clean stop.
  let worker: RunningWorker | undefined;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    if (worker) void close(worker);
  };
  const close = (running: RunningWorker) =>
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  try {
    worker = await startWorker({ env, logger });
  } catch (error) {
    if (error instanceof RedisUnavailableError) {
      logger.fatal(error.message);
      process.exit(1);
    }
    throw error;
  }
  if (stopping) await close(worker);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `worker failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
