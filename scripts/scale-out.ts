/**
 * `pnpm scale-out`: Tenantry as production runs it, on this machine: N API processes and M
 * worker processes against one PostgreSQL and one Redis, behind a small round-robin proxy.
 * Every process is started from this checkout with tsx; their JSON logs are printed with a
 * `[api-1]` / `[worker-1]` prefix. Ctrl-C stops them all.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loadApiEnv } from '../apps/api/src/env.js';
import { countOnlineWorkers, loadWorkerEnv, pingRedis, redactUrl } from '../apps/worker/src/index.js';
import { createDb } from '../packages/db/src/index.js';
import { API_NODE_FLAGS } from './lib/node-flags.js';
import { canListen, freePort, urlHost } from './lib/ports.js';
import { type RunningProxy, startRoundRobinProxy } from './lib/round-robin-proxy.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;
const say = (line: string) => process.stdout.write(`${line}\n`);

const USAGE = `Usage: pnpm scale-out [--api N] [--workers M]

Starts N API processes (default 2) and M worker processes (default 2) against the PostgreSQL
of DATABASE_URL and the Redis of REDIS_URL, behind a round-robin HTTP proxy on HOST:PORT
(default 127.0.0.1:3000). The API processes listen on free ports of 127.0.0.1.
Configuration: the same environment as pnpm start (see README.md and docs/production.md).`;

interface Child {
  name: string;
  process: ChildProcess;
  exited: Promise<number | null>;
}

function startChild(name: string, args: string[], env: NodeJS.ProcessEnv): Child {
  // Its own process group, so a stop reaches tsx and the node process it runs.
  const child = spawn(TSX, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (line) => say(`[${name}] ${line}`));
  }
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { name, process: child, exited };
}

/** Polls `check` until it holds; fails when a child exits first or the time is up. */
async function waitUntil(what: string, check: () => Promise<boolean>, children: Child[]): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const dead = children.find((c) => c.process.exitCode !== null);
    if (dead) throw new Error(`${dead.name} exited with code ${dead.process.exitCode} during start-up`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} within ${READY_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function stopChild(child: Child): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill('SIGTERM');
  const stopped = await Promise.race([
    child.exited.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), STOP_TIMEOUT_MS)),
  ]);
  if (!stopped && child.process.pid) process.kill(-child.process.pid, 'SIGKILL');
}

async function main(): Promise<number> {
  let apis = 2;
  let workers = 2;
  try {
    const { values } = parseArgs({
      options: { api: { type: 'string' }, workers: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      say(USAGE);
      return 0;
    }
    apis = values.api === undefined ? 2 : Number(values.api);
    workers = values.workers === undefined ? 2 : Number(values.workers);
    if (!Number.isInteger(apis) || apis < 1 || apis > 16) throw new Error('--api takes a number from 1 to 16');
    if (!Number.isInteger(workers) || workers < 0 || workers > 16)
      throw new Error('--workers takes a number from 0 to 16');
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }

  let env: ReturnType<typeof loadApiEnv>;
  try {
    env = loadApiEnv(process.env);
    loadWorkerEnv(process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
  if (!env.DATABASE_URL) {
    process.stderr.write(
      'DATABASE_URL is unset: several processes need PostgreSQL (the embedded database serves one process). See docs/production.md.\n',
    );
    return 2;
  }
  if (!(await pingRedis(env.REDIS_URL, 3000))) {
    process.stderr.write(
      `Redis does not answer at REDIS_URL=${redactUrl(env.REDIS_URL)}: every process shares it. Start Redis there (redis-server), or set REDIS_URL.\n`,
    );
    return 1;
  }
  const free = await canListen(env.HOST, env.PORT);
  if (!free.ok) {
    process.stderr.write(`Cannot listen on ${env.HOST}:${env.PORT} (${free.code}): choose another PORT.\n`);
    return 1;
  }

  // Migrate once, before the processes start (each would wait for the others' migration lock).
  say(`Migrating PostgreSQL at ${redactUrl(env.DATABASE_URL)}…`);
  const db = await createDb({
    databaseUrl: env.DATABASE_URL,
    migrationUrl: env.DATABASE_MIGRATION_URL,
    dataDir: env.DATA_DIR,
  });
  await db.close();

  const children: Child[] = [];
  let proxy: RunningProxy | undefined;
  let stopping = false;
  const stopAll = async () => {
    stopping = true;
    await proxy?.close();
    await Promise.all(children.map(stopChild));
  };
  // Until start-up is done, a signal stops whatever has started (the processes have their own
  // process groups, so nothing else would).
  let onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    say(`${signal} during start-up: stopping ${children.length} processes…`);
    void stopAll().then(() => process.exit(1));
  };
  const handle = (signal: NodeJS.Signals) => onSignal(signal);
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);

  const publicUrlGiven = process.env.PUBLIC_URL !== undefined && process.env.PUBLIC_URL !== '';
  try {
    const proxyPort = env.PORT === 0 ? await freePort(env.HOST === '0.0.0.0' ? '127.0.0.1' : env.HOST) : env.PORT;
    const proxyUrl = `http://${urlHost(env.HOST)}:${proxyPort}`;
    const apiUrls: string[] = [];
    for (let i = 1; i <= apis; i++) {
      const port = await freePort();
      const child = startChild(`api-${i}`, [...API_NODE_FLAGS, 'apps/api/src/main.ts'], {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: String(port),
        // Links in mails and the origin check name the proxy, which is where people arrive.
        PUBLIC_URL: publicUrlGiven ? env.PUBLIC_URL : proxyUrl,
        // One internal metrics listener per process would collide on one port.
        ...(env.METRICS_PORT !== undefined ? { METRICS_PORT: String(env.METRICS_PORT + i) } : {}),
      });
      children.push(child);
      apiUrls.push(`http://127.0.0.1:${port}`);
    }
    for (let i = 1; i <= workers; i++) {
      children.push(startChild(`worker-${i}`, ['apps/worker/src/main.ts'], { ...process.env }));
    }
    // Ready whatever LOG_LEVEL says: every API answers HTTP, every worker is connected to its queues.
    await waitUntil(
      'the API processes did not answer',
      async () => {
        const answers = await Promise.all(
          apiUrls.map((url) =>
            fetch(`${url}/api/health`).then(
              () => true,
              () => false,
            ),
          ),
        );
        return answers.every(Boolean);
      },
      children,
    );
    await waitUntil(
      `the ${workers} worker processes did not connect to Redis`,
      async () => (await countOnlineWorkers(env.REDIS_URL, env.QUEUE_PREFIX)) >= workers,
      children,
    );
    proxy = await startRoundRobinProxy({ targets: apiUrls, host: env.HOST, port: proxyPort });

    say('');
    say(`Tenantry scale-out is running at ${proxy.url} (round-robin over ${apis} API processes)`);
    children.forEach((child, i) => {
      const where = child.name.startsWith('api') ? `${apiUrls[i]} ` : '';
      say(`  ${`${child.name}:`.padEnd(10)} ${where}(pid ${child.process.pid})`);
    });
    say(`  database: PostgreSQL at ${redactUrl(env.DATABASE_URL)}`);
    say(`  redis:    ${redactUrl(env.REDIS_URL)}${env.QUEUE_PREFIX ? ` (queue prefix ${env.QUEUE_PREFIX})` : ''}`);
    say('  Stop with Ctrl-C.');
    say('');
  } catch (error) {
    process.stderr.write(`scale-out failed to start: ${(error as Error).message}\n`);
    await stopAll();
    return 1;
  }

  return new Promise<number>((resolve) => {
    const stop = (signal: string, code: number) => {
      if (stopping) return;
      say(`${signal}: stopping ${children.length} processes…`);
      void stopAll().then(() => {
        say('Tenantry scale-out stopped.');
        resolve(code);
      });
    };
    onSignal = (signal) => stop(signal, 0);
    for (const child of children) {
      void child.exited.then((code) => {
        if (!stopping) {
          process.stderr.write(`${child.name} exited with code ${code}: stopping the others.\n`);
          stop(`${child.name} exited`, 1);
        }
      });
    }
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`scale-out failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
