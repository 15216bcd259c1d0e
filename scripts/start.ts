/**
 * `pnpm start`: API, worker and the built web app in ONE process, on embedded defaults
 * (PGlite under DATA_DIR, which has a single connection, so API and worker share it).
 * Finds or starts Redis, opens and migrates the database, listens, prints the URL. Without
 * SMTP_URL, mails go to a development inbox in this process, readable at /dev/inbox.
 * `--no-worker` runs the API alone, for PostgreSQL deployments with separate worker processes.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createApp, DevInbox, loadApiEnv, openApiRedis } from '../apps/api/src/index.js';
import {
  createLogger,
  loadWorkerEnv,
  RedisUnavailableError,
  redactUrl,
  startWorker,
} from '../apps/worker/src/index.js';
import { countUsers, createDb } from '../packages/db/src/index.js';
import { canListen, urlHost } from './lib/ports.js';
import { ensureRedis, RedisMissingError } from './lib/private-redis.js';

type Cleanup = { name: string; run: () => Promise<void> };

const SHUTDOWN_TIMEOUT_MS = 20_000;
const say = (line: string) => process.stdout.write(`${line}\n`);

const USAGE = `Usage: tsx scripts/start.ts [--no-worker]   (pnpm start builds the web app first)

Runs the Tenantry API, the web app and the background worker in one process.
  --no-worker  run the API and web app only; run workers with \`tsx apps/worker/src/main.ts\`
               (needs DATABASE_URL: the embedded database serves one process)
Configuration: environment variables, see README.md.`;

async function main(): Promise<number> {
  const started = Date.now();
  let withWorker = true;
  try {
    const { values } = parseArgs({
      options: { 'no-worker': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      say(USAGE);
      return 0;
    }
    withWorker = !values['no-worker'];
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  let apiEnv: ReturnType<typeof loadApiEnv>;
  try {
    apiEnv = loadApiEnv(process.env);
    loadWorkerEnv(process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
  if (!withWorker && !apiEnv.DATABASE_URL) {
    process.stderr.write(
      '--no-worker needs DATABASE_URL: the embedded database serves one process, so the worker must run in this one.\n',
    );
    return 2;
  }
  const dataDir = resolve(apiEnv.DATA_DIR);
  const host = apiEnv.HOST;

  const free = await canListen(host, apiEnv.PORT);
  if (!free.ok) {
    process.stderr.write(`${portMessage(free.code, host, apiEnv.PORT)}\n`);
    return 1;
  }

  // Installed before anything starts, so a signal during start-up ends in a clean stop too.
  let signalled: NodeJS.Signals | undefined;
  let onSignal: (signal: NodeJS.Signals) => void = (signal) => {
    if (signalled) {
      process.stderr.write(`${signal} again: exiting during start-up.\n`);
      process.exit(1);
    }
    signalled = signal;
    say(`${signal} received: stopping as soon as start-up is done…`);
  };
  const handle = (signal: NodeJS.Signals) => onSignal(signal);
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);

  const cleanups: Cleanup[] = [];
  const shutdown = async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup.run();
      } catch (error) {
        process.stderr.write(`stopping ${cleanup.name} failed: ${(error as Error).message}\n`);
      }
    }
  };

  try {
    const redis = await ensureRedis({
      url: apiEnv.REDIS_URL,
      dataDir,
      allowPrivate: !apiEnv.DATABASE_URL,
      log: say,
    });
    cleanups.push({ name: 'redis', run: () => redis.stop() });
    const source: Record<string, string | undefined> = { ...process.env, REDIS_URL: redis.url, DATA_DIR: dataDir };
    // No SMTP server configured: the worker mails a local sink whose mails the web app shows.
    let devInbox: DevInbox | null = null;
    if (withWorker && !loadWorkerEnv(source).SMTP_URL) {
      devInbox = await DevInbox.start({ host: '127.0.0.1' });
      const inbox = devInbox;
      cleanups.push({ name: 'dev inbox', run: () => inbox.close() });
      source.SMTP_URL = inbox.url;
    }
    const env = loadApiEnv(source);
    // Links in the worker's mails point where the API is reached.
    const workerEnv = loadWorkerEnv({ ...source, PUBLIC_URL: env.PUBLIC_URL });

    const db = await createDb({
      databaseUrl: env.DATABASE_URL,
      migrationUrl: env.DATABASE_MIGRATION_URL,
      dataDir,
    });
    cleanups.push({ name: 'database', run: () => db.close() });

    if (withWorker) {
      const worker = await startWorker({ env: workerEnv, db, logger: createLogger(workerEnv.LOG_LEVEL) });
      cleanups.push({ name: 'worker', run: () => worker.close() });
    }

    // The API's own connection: job producers, rate limits and live events.
    const apiRedis = await openApiRedis(redis.url);
    cleanups.push({ name: 'api redis', run: async () => void apiRedis?.disconnect() });
    const app = createApp({ env, db, redis: apiRedis, queuePrefix: env.QUEUE_PREFIX, devInbox });
    cleanups.push({ name: 'api', run: () => app.close() });
    try {
      await app.listen({ port: env.PORT, host });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
        process.stderr.write(`${portMessage(code, host, env.PORT)}\n`);
        await shutdown();
        return 1;
      }
      throw error;
    }
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : env.PORT;
    const metricsListener = await app.operations.listenMetrics();
    if (metricsListener) cleanups.push({ name: 'metrics listener', run: () => metricsListener.server.close() });

    const printBanner = async () => {
      say('');
      say(`Tenantry is running at http://${urlHost(host)}:${port}`);
      say(
        `  database: ${db.kind === 'pglite' ? `embedded PGlite in ${resolve(dataDir, 'pglite')}` : `PostgreSQL at ${redactUrl(env.DATABASE_URL)}`}`,
      );
      say(
        `  redis:    ${redis.kind === 'private' ? `private redis-server (pid ${redis.pid}) at ${redis.url}, data in ${redis.dir}` : redactUrl(redis.url)}`,
      );
      if (!withWorker) say('  worker:   not in this process (--no-worker)');
      if (metricsListener) say(`  metrics:  ${metricsListener.url}`);
      else if (env.METRICS_TOKEN)
        say(`  metrics:  http://${urlHost(host)}:${port}/metrics (Authorization: Bearer $METRICS_TOKEN)`);
      if (devInbox) {
        say(
          `  mail:     dev inbox at http://${urlHost(host)}:${port}/dev/inbox (SMTP_URL unset: nothing is delivered)`,
        );
        if (!isLoopback(host)) say(`  warning:  HOST=${host}: anyone who reaches this server can read the dev inbox.`);
      } else if (withWorker) {
        say(`  mail:     ${redactUrl(workerEnv.SMTP_URL)}`);
      }
      say(`  multi-tenant: ${env.MULTI_TENANT_ENABLED ? 'enabled' : 'disabled (MULTI_TENANT_ENABLED=false)'}`);
      const users = await db.platform({}, (em) => countUsers(em));
      say(`  ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      if (users === 0) say('  No accounts yet: the first account to sign up becomes the platform superadmin.');
      say('  Stop with Ctrl-C.');
      say('');
    };
    if (!signalled) await printBanner();
  } catch (error) {
    if (error instanceof RedisMissingError || error instanceof RedisUnavailableError) {
      process.stderr.write(`${error.message}\n`);
    } else {
      process.stderr.write(`Tenantry failed to start: ${(error as Error).stack ?? String(error)}\n`);
    }
    await shutdown();
    return 1;
  }

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`${signal} again: exiting without finishing the shutdown.\n`);
        resolveExit(1);
        return;
      }
      stopping = true;
      say(`${signal} received: stopping Tenantry…`);
      const timer = setTimeout(() => {
        process.stderr.write(`Shutdown took longer than ${SHUTDOWN_TIMEOUT_MS / 1000} s: exiting anyway.\n`);
        resolveExit(1);
      }, SHUTDOWN_TIMEOUT_MS);
      shutdown().then(() => {
        clearTimeout(timer);
        say('Tenantry stopped.');
        resolveExit(0);
      });
    };
    onSignal = stop;
    if (signalled) stop(signalled);
  });
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function portMessage(code: string, host: string, port: number): string {
  if (code === 'EADDRINUSE') {
    return `Port ${port} on ${host} is already in use (another Tenantry, or another program). Stop it, or choose another port: PORT=${port + 1} pnpm start`;
  }
  if (code === 'EACCES') {
    return `Not allowed to listen on port ${port} on ${host} (ports below 1024 need privileges). Choose another: PORT=3000 pnpm start`;
  }
  return `Cannot listen on ${host}:${port} (${code}): set HOST to an address of this machine, e.g. HOST=127.0.0.1.`;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`Tenantry failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
