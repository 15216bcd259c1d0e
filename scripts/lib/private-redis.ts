import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { pingRedis, redactUrl as redact } from '../../apps/worker/src/index.js';
import { freePort } from './ports.js';

/** The Redis the platform uses, and how to let go of it. */
export interface RedisHandle {
  url: string;
  /** `configured`: REDIS_URL answered. `private`: a redis-server this process runs under DATA_DIR. */
  kind: 'configured' | 'private';
  pid?: number;
  dir?: string;
  stop(): Promise<void>;
}

/** Redis is needed, nothing answers, and it cannot be started here. The message says how to get it. */
export class RedisMissingError extends Error {
  override readonly name = 'RedisMissingError';
}

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;

/** The first executable named `name` on PATH, or null. */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Uses the Redis at `url` if it answers. Otherwise, if `redis-server` is on PATH, runs a
 * private one under `${dataDir}/redis` (bound to 127.0.0.1, a free port, append-only file on,
 * pid and log in that directory) until `stop()`. Otherwise throws RedisMissingError.
 * A private Redis left running by a previous start that was killed is taken over.
 */
export async function ensureRedis({
  url,
  dataDir,
  allowPrivate = true,
  path,
  log = () => {},
}: {
  url: string;
  dataDir: string;
  /** False when several processes must share one Redis (PostgreSQL deployments). */
  allowPrivate?: boolean;
  path?: string;
  log?: (line: string) => void;
}): Promise<RedisHandle> {
  if (await pingRedis(url)) return { url, kind: 'configured', stop: async () => {} };
  if (!allowPrivate) {
    throw new RedisMissingError(
      `Nothing answers at REDIS_URL=${redact(url)}. With DATABASE_URL set, every API and worker process must share ` +
        'one Redis, so no private one is started: start Redis and point REDIS_URL at it.',
    );
  }

  const dir = resolve(dataDir, 'redis');
  const adopted = await adoptLeftover(dir);
  if (adopted) return adopted;

  const server = findOnPath('redis-server', path);
  if (!server) {
    throw new RedisMissingError(
      [
        `Nothing answers at REDIS_URL=${redact(url)}, and redis-server is not installed, so a private one cannot be started.`,
        'Tenantry needs Redis (6.2 or newer) for its background jobs. Either:',
        '  - install it: `sudo apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS),',
        '    then run `pnpm start` again (it starts a private Redis under DATA_DIR if none is running);',
        '  - or start a Redis of your own and set REDIS_URL to it, e.g. REDIS_URL=redis://127.0.0.1:6379.',
      ].join('\n'),
    );
  }
  log(`Nothing answers at REDIS_URL=${redact(url)}: starting a private Redis under ${dir}`);
  return startPrivate(server, dir);
}

async function startPrivate(server: string, dir: string): Promise<RedisHandle> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const conf = join(dir, 'redis.conf');
  writeFileSync(
    conf,
    [
      '# Written by `pnpm start` for its private Redis; rewritten at every start.',
      'bind 127.0.0.1',
      `port ${port}`,
      'protected-mode yes',
      'daemonize no',
      `dir ${quote(dir)}`,
      `pidfile ${quote(join(dir, 'redis.pid'))}`,
      `logfile ${quote(join(dir, 'redis.log'))}`,
      'appendonly yes',
      'save ""',
      'maxmemory-policy noeviction',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'redis.port'), `${port}\n`);
  // Own process group: a Ctrl-C in the terminal must not stop Redis before the worker is done with it.
  const child = spawn(server, [conf], { stdio: 'ignore', detached: true });
  const exited = new Promise<number | null>((resolveExit) => {
    child.once('exit', (code) => resolveExit(code));
    child.once('error', () => resolveExit(-1));
  });
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  let running = true;
  void exited.then(() => {
    running = false;
  });
  while (!(await pingRedis(url, 500))) {
    if (!running || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new RedisMissingError(
        `The private Redis (${server}) did not start within ${START_TIMEOUT_MS / 1000} s.\n` +
          `Its log, ${join(dir, 'redis.log')}, ends with:\n${tail(join(dir, 'redis.log'))}`,
      );
    }
    await sleep(100);
  }
  return {
    url,
    kind: 'private',
    pid: child.pid,
    dir,
    stop: () => stopChild(child, exited, dir),
  };
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>, dir: string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
  rmSync(join(dir, 'redis.pid'), { force: true });
}

/** Takes over a private Redis from a previous run that did not stop it (killed with SIGKILL). */
async function adoptLeftover(dir: string): Promise<RedisHandle | null> {
  const pidFile = join(dir, 'redis.pid');
  const portFile = join(dir, 'redis.port');
  if (!existsSync(pidFile) || !existsSync(portFile)) return null;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const port = Number(readFileSync(portFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || !looksLikeRedis(pid)) {
    rmSync(pidFile, { force: true });
    return null;
  }
  const url = `redis://127.0.0.1:${port}`;
  if (!(await pingRedis(url, 1000))) {
    throw new RedisMissingError(
      `A private Redis from an earlier start (pid ${pid}) still holds ${dir} but does not answer on port ${port}. ` +
        `Stop it (kill ${pid}) and run the command again.`,
    );
  }
  return {
    url,
    kind: 'private',
    pid,
    dir,
    async stop() {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        return;
      }
      const deadline = Date.now() + STOP_TIMEOUT_MS;
      while (isAlive(pid) && Date.now() < deadline) await sleep(100);
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(pidFile, { force: true });
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Guards against a recycled pid: on Linux, the process must be a redis-server. */
function looksLikeRedis(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server');
  } catch {
    return process.platform !== 'linux';
  }
}

function quote(value: string): string {
  return JSON.stringify(value);
}

function tail(file: string, lines = 10): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}
