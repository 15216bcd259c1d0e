import { createDb } from '@tenantry/db';
import { INVITATION_EMAIL_QUEUE } from '@tenantry/worker/queues/invitation-email';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadApiEnv } from './env.js';
import { createLogger } from './logger.js';
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
/** The invitation mail queue, when Redis answers within a few seconds; otherwise mails stay queued. */
async function openInvitationQueue(): Promise<Queue | null> {
  const connection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null, lazyConnect: true });
  connection.on('error', () => {});
  try {
    await Promise.race([
      connection.ping(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 3000).unref()),
    ]);
    return new Queue(INVITATION_EMAIL_QUEUE, { connection });
  } catch {
    connection.disconnect();
    logger.warn('Redis does not answer at REDIS_URL: invitation mails will not be enqueued');
    return null;
  }
}
const invitationQueue = await openInvitationQueue();
const app = createApp({ env, db, logger, invitationQueue });

let closing = false;
async function shutdown(signal: string) {
  if (closing) return;
  closing = true;
  logger.info({ signal }, 'shutting down');
  await app.close();
  await invitationQueue?.close();
  await db.close();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));

await app.listen({ port: env.PORT, host: env.HOST });
logger.info({ url: env.PUBLIC_URL }, `Tenantry API listening on ${env.HOST}:${env.PORT}`);
