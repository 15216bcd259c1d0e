import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import path from 'node:path';
import pg from 'pg';

/** The repository root. */
export const ROOT = path.resolve(import.meta.dirname, '../..');

/** Only what a child needs from this environment: a developer's own LICENSE_* or DATABASE_URL must not leak in. */
export function baseEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
  return env;
}

/** A spawned process with its output collected as it arrives. */
export interface Spawned {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Waits until the combined output matches `pattern`, or the process exits, or the time is up. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** For cleanup after a failed test: SIGTERM (the script shuts down), then SIGKILL to its process group. */
  terminate(graceMs?: number): Promise<void>;
}

export function run(args: string[], env: Record<string, string>, { input }: { input?: string } = {}): Spawned {
  // One node process with tsx's loader, not the tsx CLI: the CLI relays a signal to its child
  // and, when the child does not confirm it within 30 ms (a loaded machine), kills it and
  // exits 143. Its own process group, so cleanup reaches whatever the script started.
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  if (input !== undefined) child.stdin?.end(input);
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (c) => {
      code = c;
      resolve(c);
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitForOutput(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = (out + err).match(pattern);
        if (match) return match;
        if (code !== undefined) {
          throw new Error(`process exited (${code}) before printing ${pattern}:\n${out}\n${err}`);
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${out}\n${err}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async terminate(graceMs = 10_000) {
      if (code === undefined) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, graceMs))]);
      }
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    },
  };
}

/** Runs a command to completion. */
export async function runToEnd(
  args: string[],
  env: Record<string, string>,
  options: { input?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const spawned = run(args, env, options);
  const code = await spawned.exited;
  return { code, stdout: spawned.stdout(), stderr: spawned.stderr() };
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Whether a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const ADMIN_URL = process.env.TEST_PG_ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const APP_ROLE = 'tenantry_app';

/** An empty PostgreSQL database `tenantry_t_<random>` (CI drops leftovers by that prefix). */
export interface EmptyDatabase {
  name: string;
  /** The admin user on the new database: owns the tables and runs migrations. */
  ownerUrl: string;
  /** The LOGIN role `tenantry_app` on the new database. */
  appUrl: string;
  query<R extends pg.QueryResultRow>(sql: string): Promise<R[]>;
  drop(): Promise<void>;
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>, database?: string): Promise<T> {
  const url = new URL(ADMIN_URL);
  if (database) url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createEmptyDatabase(): Promise<EmptyDatabase> {
  const name = `tenantry_t_${randomBytes(6).toString('hex')}`;
  await withAdmin(async (client) => {
    const { rows } = await client.query<{ login: boolean }>(
      'select rolcanlogin as login from pg_roles where rolname = $1',
      [APP_ROLE],
    );
    try {
      if (rows.length === 0) await client.query(`CREATE ROLE ${APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS`);
      else if (!rows[0]?.login) await client.query(`ALTER ROLE ${APP_ROLE} LOGIN`);
    } catch (error) {
      // Another test file created it at the same moment.
      if (!['42710', '23505', 'XX000'].includes((error as { code?: string }).code ?? '')) throw error;
    }
    await client.query(`CREATE DATABASE ${name}`);
  });
  const urlFor = (user?: string) => {
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    if (user) {
      url.username = user;
      url.password = '';
    }
    return url.toString();
  };
  return {
    name,
    ownerUrl: urlFor(),
    appUrl: urlFor(APP_ROLE),
    query: (sql) => withAdmin(async (client) => (await client.query(sql)).rows, name),
    drop: () =>
      withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
