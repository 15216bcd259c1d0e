import { createDb } from '@tenantry/db';
import { loadApiEnv } from './env.js';
import { createLogger } from './logger.js';
import { openApiRedis } from './redis.js';
import { createApp } from './server.js';

// One API process on its own (production with PostgreSQL: run as many as needed). The
// zero-setup start (`pnpm start`) runs the API and the worker together from scripts/start.ts.

let env: ReturnType<typeof loadApiEnv>;
try {
  env = loadApiEnv();
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
const logger = createLogger(env);
const db = await createDb({
  databaseUrl: env.DATABASE_URL,
  migrationUrl: env.DATABASE_MIGRATION_URL,
  dataDir: env.DATA_DIR,
});
const redis = await openApiRedis(env.REDIS_URL);
if (!redis) logger.warn('Redis does not answer at REDIS_URL: invitation mails will not be enqueued');
const app = createApp({ env, db, logger, redis, queuePrefix: env.QUEUE_PREFIX });
let metricsListener: Awaited<ReturnType<typeof app.operations.listenMetrics>> = null;

let closing = false;
async function shutdown(signal: string) {
  if (closing) return;
  closing = true;
  logger.info({ signal }, 'shutting down');
  await app.close();
  await metricsListener?.server.close();
  redis?.disconnect();
  await db.close();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));

await app.listen({ port: env.PORT, host: env.HOST });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : env.PORT;
metricsListener = await app.operations.listenMetrics();
if (metricsListener) logger.info({ url: metricsListener.url }, `metrics listening on ${metricsListener.url}`);
logger.info({ url: env.PUBLIC_URL, port }, `Tenantry API listening on ${env.HOST}:${port}`);
