import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, freePort, isAlive, ROOT, run, type Spawned } from './helpers.js';

const WEB_INDEX = path.join(ROOT, 'apps/web/dist/index.html');
const RUNNING = /Tenantry is running at (http:\/\/\S+)/;
const STARTUP_MS = 90_000;

const dirs: string[] = [];
const processes: Spawned[] = [];

function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tenantry-start-'));
  dirs.push(dir);
  return dir;
}

function start(env: Record<string, string>): Spawned {
  const spawned = run(['scripts/start.ts'], env);
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

afterAll(() => {
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
