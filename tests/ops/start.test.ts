import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, freePort, isAlive, ROOT, run, type Spawned } from './helpers.js';

const WEB_INDEX = path.join(ROOT, 'apps/web/dist/index.html');
const RUNNING = /Tenantry is running at (http:\/\/\S+)/;
const STARTUP_MS = 90_000;

const dirs: string[] = [];
const processes: Spawned[] = [];
/** BullMQ prefixes the starts used on the machine's Redis, removed afterwards. */
const prefixes: string[] = [];

function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-start-'));
  dirs.push(dir);
  return dir;
}

function start(env: Record<string, string>): Spawned {
  // Queues (and the expiry scheduler) of this start live under a prefix of its own.
  const prefix = `test-start-${randomUUID()}`;
  prefixes.push(prefix);
  const spawned = run(['scripts/start.ts'], { QUEUE_PREFIX: prefix, ...env });
  processes.push(spawned);
  return spawned;
}

/** SIGTERM, then the exit code and how long it took. */
async function stop(spawned: Spawned): Promise<{ code: number | null; ms: number }> {
  const t0 = Date.now();
  spawned.child.kill('SIGTERM');
  const code = await spawned.exited;
  return { code, ms: Date.now() - t0 };
}

beforeAll(() => {
  if (!existsSync(WEB_INDEX)) {
    execFileSync('pnpm', ['--filter', '@tenantry/web', 'build'], { cwd: ROOT, stdio: 'ignore', timeout: 150_000 });
  }
});

afterEach(async () => {
  for (const spawned of processes.splice(0)) await spawned.terminate();
});

afterAll(async () => {
  const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', () => {});
  try {
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
    }
  } catch {
    // No Redis on this machine: nothing was left there.
  } finally {
    redis.disconnect();
  }
  for (const dir of dirs) {
    // A private Redis outlives a start that was killed: stop it before its directory goes.
    const pidFile = path.join(dir, 'redis', 'redis.pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('pnpm start', () => {
  it('serves the API and the web app on embedded PGlite, and stops on SIGTERM with exit code 0', async () => {
    const port = await freePort();
    const dir = dataDir();
    const platform = start(baseEnv({ DATA_DIR: dir, PORT: String(port), REDIS_URL: 'redis://127.0.0.1:6379' }));
    const [, url] = await platform.waitForOutput(RUNNING, STARTUP_MS);
    expect(url).toBe(`http://127.0.0.1:${port}`);
    expect(platform.stdout()).toContain(`database: embedded PGlite in ${path.join(dir, 'pglite')}`);
    expect(platform.stdout()).toContain('redis:    redis://127.0.0.1:6379');

    const health = await fetch(`${url}/api/health`);
    expect(health.status).toBe(200);

    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toBe(readFileSync(WEB_INDEX, 'utf8'));

    const { code, ms } = await stop(platform);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(10_000);
    expect(platform.stdout()).toContain('Tenantry stopped.');
  });

  it('without SMTP_URL, mails an invitation to the dev inbox, which the API and the web app serve', async () => {
    const port = await freePort();
    const platform = start(baseEnv({ DATA_DIR: dataDir(), PORT: String(port), REDIS_URL: 'redis://127.0.0.1:6379' }));
    const [, url] = await platform.waitForOutput(RUNNING, STARTUP_MS);
    expect(platform.stdout()).toContain(`mail:     dev inbox at ${url}/dev/inbox`);
    const config = (await (await fetch(`${url}/api/config`)).json()) as { devInbox: boolean };
    expect(config.devInbox).toBe(true);

    const signup = await fetch(`${url}/api/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'owner@example.com', password: 'correct horse battery', name: 'Olivia Owner' }),
    });
    expect(signup.status).toBe(201);
    const cookie = (signup.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const invite = await fetch(`${url}/api/orgs/default/invitations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({ email: 'new.hire@example.com', role: 'viewer' }),
    });
    expect(invite.status).toBe(201);

    let mails: { id: string; to: string[]; subject: string }[] = [];
    const deadline = Date.now() + 30_000;
    while (mails.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      mails = ((await (await fetch(`${url}/api/dev/inbox`)).json()) as { mails: typeof mails }).mails;
    }
    expect(mails).toEqual([
      expect.objectContaining({
        to: ['new.hire@example.com'],
        subject: 'Olivia Owner invited you to Default on Tenantry',
      }),
    ]);
    const mail = (await (await fetch(`${url}/api/dev/inbox/${mails[0]!.id}`)).json()) as {
      text: string;
      links: string[];
    };
    const link = `http://localhost:${port}/invite/`;
    expect(mail.text).toContain(link);
    expect(mail.links).toEqual([expect.stringContaining(link)]);
    const invitation = await fetch(`${url}/api/invitations/${mail.links[0]!.slice(link.length)}`);
    expect(await invitation.json()).toMatchObject({
      orgName: 'Default',
      email: 'new.hire@example.com',
      status: 'pending',
    });

    const page = await fetch(`${url}/dev/inbox`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect((await stop(platform)).code).toBe(0);
  });

  it('with SMTP_URL set, runs no dev inbox: its API answers 404', async () => {
    const port = await freePort();
    const platform = start(
      baseEnv({
        DATA_DIR: dataDir(),
        PORT: String(port),
        REDIS_URL: 'redis://127.0.0.1:6379',
        SMTP_URL: `smtp://127.0.0.1:${await freePort()}`,
      }),
    );
    const [, url] = await platform.waitForOutput(RUNNING, STARTUP_MS);
    expect(platform.stdout()).not.toContain('dev inbox');
    expect(((await (await fetch(`${url}/api/config`)).json()) as { devInbox: boolean }).devInbox).toBe(false);
    const inbox = await fetch(`${url}/api/dev/inbox`);
    expect(inbox.status).toBe(404);
    expect(await inbox.json()).toMatchObject({ code: 'NOT_FOUND' });
    expect((await stop(platform)).code).toBe(0);
  });

  it('starts a private Redis under DATA_DIR when nothing answers at REDIS_URL, and stops it again', async () => {
    const port = await freePort();
    const dir = dataDir();
    const closed = `redis://127.0.0.1:${await freePort()}`;
    const platform = start(baseEnv({ DATA_DIR: dir, PORT: String(port), REDIS_URL: closed }));
    const [, url] = await platform.waitForOutput(RUNNING, STARTUP_MS);
    expect(platform.stdout()).toContain(`Nothing answers at REDIS_URL=${closed}: starting a private Redis`);
    const [, pid] = platform.stdout().match(/private redis-server \(pid (\d+)\) at redis:\/\/127\.0\.0\.1:\d+/) ?? [];
    expect(pid).toBeDefined();
    expect(isAlive(Number(pid))).toBe(true);
    const redisDir = path.join(dir, 'redis');
    expect(readFileSync(path.join(redisDir, 'redis.pid'), 'utf8').trim()).toBe(pid);
    expect(readFileSync(path.join(redisDir, 'redis.conf'), 'utf8')).toMatch(/appendonly yes[\s\S]*|bind 127\.0\.0\.1/);
    expect(existsSync(path.join(redisDir, 'redis.log'))).toBe(true);

    expect((await fetch(`${url}/api/health`)).status).toBe(200);

    const { code, ms } = await stop(platform);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(10_000);
    expect(isAlive(Number(pid))).toBe(false);
    expect(existsSync(path.join(redisDir, 'redis.pid'))).toBe(false);
    expect(existsSync(path.join(redisDir, 'appendonlydir'))).toBe(true);
  });

  it('says how to get Redis when none answers and redis-server is not installed', async () => {
    const dir = dataDir();
    // A PATH with node and nothing else: no redis-server to fall back on.
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, path.join(bin, 'node'));
    const platform = start({
      ...baseEnv({ DATA_DIR: dir, PORT: String(await freePort()), REDIS_URL: `redis://127.0.0.1:${await freePort()}` }),
      PATH: bin,
    });
    const code = await platform.exited;
    expect(code).toBe(1);
    const message = platform.stderr();
    expect(message).toContain('redis-server is not installed');
    expect(message).toContain('apt-get install redis-server');
    expect(message).toContain('brew install redis');
    expect(message).toContain('REDIS_URL');
    expect(existsSync(path.join(dir, 'pglite'))).toBe(false);
  });

  describe('when the port is taken', () => {
    let server: Server;
    let port: number;

    beforeAll(async () => {
      port = await freePort();
      server = createServer();
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('stops at once with a message naming the port', async () => {
      const platform = start(baseEnv({ DATA_DIR: dataDir(), PORT: String(port) }));
      expect(await platform.exited).toBe(1);
      expect(platform.stderr()).toContain(`Port ${port} on 127.0.0.1 is already in use`);
      expect(platform.stderr()).toContain('PORT=');
    });
  });

  it('names a bad variable before starting anything', async () => {
    const platform = start(baseEnv({ DATA_DIR: dataDir(), PORT: 'eighty', MULTI_TENANT_ENABLED: 'yes' }));
    expect(await platform.exited).toBe(1);
    expect(platform.stderr()).toContain('PORT');
    expect(platform.stderr()).toContain('MULTI_TENANT_ENABLED');
  });
});
