/**
 * The product in the resources-list benchmark, run as its own process: `createApp` from
 * `@tenantry/api` wired as `apps/api/src/main.ts` wires it (PostgreSQL as the app role, Redis
 * for rate limits and queues), listening on a free port of 127.0.0.1. Configured by the API's
 * own environment (DATABASE_URL, DATABASE_MIGRATION_URL, MULTI_TENANT_ENABLED, LICENSE_*,
 * QUEUE_PREFIX, LOG_LEVEL, …), plus BENCH_TENANCY_CHECKS=off for `createApp`'s benchmark-only
 * `tenancyChecks: false` (the list served to an authenticated token without membership,
 * binding, gate, status, rate or module checks: the cost of isolation). Prints `listening <port>` once it listens,
 * closes on SIGTERM.
 */
import { createApp, createLogger, loadApiEnv, openApiRedis } from '@tenantry/api';
import { createDb } from '@tenantry/db';

const env = loadApiEnv(process.env);
const logger = createLogger(env);
const db = await createDb({
  databaseUrl: env.DATABASE_URL,
  migrationUrl: env.DATABASE_MIGRATION_URL,
  dataDir: env.DATA_DIR,
});
const redis = await openApiRedis(env.REDIS_URL);
if (!redis) throw new Error(`Redis does not answer at ${env.REDIS_URL}: the product runs with it`);
const tenancyChecks = process.env.BENCH_TENANCY_CHECKS !== 'off';
const app = createApp({ env, db, logger, redis, queuePrefix: env.QUEUE_PREFIX, tenancyChecks });

await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);

process.once('SIGTERM', async () => {
  await app.close();
  redis.disconnect();
  await db.close();
  process.exit(0);
});
