import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadWorkerEnv } from './env.js';
import { registerQueue } from './queue-registration.js';
import { pingRedis } from './redis.js';
import { startWorker } from './worker.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const ROOT = path.resolve(import.meta.dirname, '../../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const silent = pino({ level: 'silent' });

/** A TCP port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('worker configuration', () => {
  it('defaults to the local Redis and the embedded database', () => {
    const env = loadWorkerEnv({});
    expect(env).toMatchObject({
      REDIS_URL: REDIS_URL,
      DATABASE_URL: undefined,
      DATA_DIR: './.data',
      LOG_LEVEL: 'info',
    });
  });

  it('names the variable that is wrong', () => {
    expect(() => loadWorkerEnv({ REDIS_URL: 'http://127.0.0.1:6379' })).toThrow(/REDIS_URL: must be a redis:\/\//);
    expect(() => loadWorkerEnv({ LOG_LEVEL: 'chatty' })).toThrow(/LOG_LEVEL/);
    expect(() => loadWorkerEnv({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
  });

  it('takes a queue prefix and an expiry interval, defaulting to bull and one minute', () => {
    expect(loadWorkerEnv({})).toMatchObject({ QUEUE_PREFIX: 'bull', INVITATION_EXPIRY_INTERVAL: 60_000 });
    expect(loadWorkerEnv({ QUEUE_PREFIX: 'tenantry-eu', INVITATION_EXPIRY_INTERVAL: '30s' })).toMatchObject({
      QUEUE_PREFIX: 'tenantry-eu',
      INVITATION_EXPIRY_INTERVAL: 30_000,
    });
    expect(() => loadWorkerEnv({ QUEUE_PREFIX: 'a:b' })).toThrow(/QUEUE_PREFIX/);
    expect(() => loadWorkerEnv({ INVITATION_EXPIRY_INTERVAL: 'often' })).toThrow(/INVITATION_EXPIRY_INTERVAL/);
    expect(() => loadWorkerEnv({ SMTP_URL: 'http://mail.example.com' })).toThrow(/SMTP_URL/);
    expect(loadWorkerEnv({}).DELETION_BATCH_SHARE).toBe(0.5);
    expect(loadWorkerEnv({ DELETION_BATCH_SHARE: '1' }).DELETION_BATCH_SHARE).toBe(1);
    expect(() => loadWorkerEnv({ DELETION_BATCH_SHARE: '0' })).toThrow(/DELETION_BATCH_SHARE: must be at least 0.05/);
    expect(() => loadWorkerEnv({ DELETION_BATCH_SHARE: 'half' })).toThrow(/DELETION_BATCH_SHARE/);
  });

  it('never prints a password from a URL', () => {
    expect(() => loadWorkerEnv({ DATABASE_URL: 'mysql://u:s3cret@h/db' })).toThrow(/u:\*\*\*@h/);
    expect(() => loadWorkerEnv({ DATABASE_URL: 'mysql://u:s3cret@h/db' })).not.toThrow(/s3cret/);
  });
});

describe('when Redis answers', () => {
  const queueName = `test-worker-${randomUUID()}`;
  let queue: Queue | undefined;
  let events: QueueEvents | undefined;

  afterAll(async () => {
    await queue?.obliterate({ force: true });
    await Promise.all([queue?.close(), events?.close()]);
  });

  it('connects, processes jobs of its registered queues and closes cleanly', async () => {
    const seen: unknown[] = [];
    const worker = await startWorker({
      env: loadWorkerEnv({ REDIS_URL }),
      logger: silent,
      queues: [
        registerQueue<{ orgId: string }>(queueName, async (job) => {
          seen.push(job.data.orgId);
          return { done: true };
        }),
      ],
    });
    expect(worker.queues).toEqual([queueName]);

    queue = new Queue(queueName, { connection: { url: REDIS_URL } });
    events = new QueueEvents(queueName, { connection: { url: REDIS_URL } });
    await events.waitUntilReady();
    const job = await queue.add('t', { orgId: 'org-1' });
    await expect(job.waitUntilFinished(events, 10_000)).resolves.toEqual({ done: true });
    expect(seen).toEqual(['org-1']);

    await worker.close();
    await worker.close();
  });

  it('consumes the registered queues by default and schedules the invitation expiry sweep', async () => {
    const prefix = `test-worker-${randomUUID()}`;
    const worker = await startWorker({ env: loadWorkerEnv({ REDIS_URL }), logger: silent, prefix });
    const sweep = new Queue('invitation-expiry-sweep', { connection: { url: REDIS_URL }, prefix });
    try {
      expect(worker.queues).toEqual(
        expect.arrayContaining([
          'invitation-email',
          'invitation-expiry-sweep',
          'invitation-expiry',
          'org-deletion',
          'alert-notification',
        ]),
      );
      const schedulers = await sweep.getJobSchedulers();
      expect(schedulers).toEqual([expect.objectContaining({ key: 'invitation-expiry', every: 60_000 })]);
    } finally {
      await worker.close();
      await removeQueues(prefix, [
        'invitation-email',
        'invitation-expiry-sweep',
        'invitation-expiry',
        'org-deletion',
        'alert-notification',
      ]);
      await sweep.close();
    }
  });
});

/** Removes every key of the given queues under a test's own prefix. */
async function removeQueues(prefix: string, names: string[]): Promise<void> {
  for (const name of names) {
    const queue = new Queue(name, { connection: { url: REDIS_URL }, prefix });
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}

describe('when Redis does not answer', () => {
  it('fails to start with a message naming REDIS_URL', async () => {
    const url = `redis://127.0.0.1:${await closedPort()}`;
    const started = Date.now();
    await expect(
      startWorker({ env: loadWorkerEnv({ REDIS_URL: url }), logger: silent, redisTimeoutMs: 1000 }),
    ).rejects.toThrow(`Cannot connect to Redis at REDIS_URL=${url}`);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await pingRedis(url, 500)).toBe(false);
  });
});

describe('the standalone process', () => {
  function run(env: Record<string, string>): {
    child: ChildProcess;
    output: () => string;
    exited: Promise<number | null>;
  } {
    // Its own process group: cleanup kills tsx and the node process it runs together.
    const child = spawn(TSX, ['apps/worker/src/main.ts'], {
      cwd: ROOT,
      detached: true,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, output: () => output, exited };
  }

  async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('logs JSON lines and exits 0 within a few seconds of SIGTERM', async () => {
    const prefix = `test-worker-${randomUUID()}`;
    const worker = run({ REDIS_URL, QUEUE_PREFIX: prefix });
    try {
      await waitFor(() => worker.output().includes('worker started'), 30_000);
      const line = worker
        .output()
        .split('\n')
        .find((l) => l.includes('worker started'));
      expect(JSON.parse(line ?? '')).toMatchObject({ level: 30, service: 'worker', msg: 'worker started' });
      const signalled = Date.now();
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expect(Date.now() - signalled).toBeLessThan(5000);
      expect(worker.output()).toContain('worker stopped');
    } finally {
      if (worker.child.exitCode === null && worker.child.pid) process.kill(-worker.child.pid, 'SIGKILL');
      await removeQueues(prefix, ['invitation-email', 'invitation-expiry-sweep', 'invitation-expiry']);
    }
  }, 60_000);

  it('exits 1 naming REDIS_URL when Redis is unreachable', async () => {
    const url = `redis://127.0.0.1:${await closedPort()}`;
    const worker = run({ REDIS_URL: url });
    expect(await worker.exited).toBe(1);
    expect(worker.output()).toContain(`REDIS_URL=${url}`);
  }, 60_000);

  it('exits 1 naming a malformed variable', async () => {
    const worker = run({ REDIS_URL: 'localhost:6379' });
    expect(await worker.exited).toBe(1);
    expect(worker.output()).toContain('REDIS_URL: must be a redis:// or rediss:// URL');
  }, 60_000);
});
