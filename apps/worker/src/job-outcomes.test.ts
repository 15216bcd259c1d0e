import { randomUUID } from 'node:crypto';
import { Queue, UnrecoverableError } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadWorkerEnv } from './env.js';
import { failedAttemptOutcome, JobOutcomeCounter, jobOutcomesKey, readJobOutcomes } from './job-outcomes.js';
import { registerQueue } from './queue-registration.js';
import { type RunningWorker, startWorker } from './worker.js';

const REDIS_URL = 'redis://127.0.0.1:6379';

describe('the outcome of a failed attempt', () => {
  const error = new Error('smtp down');
  it('is a retry while attempts are left', () => {
    expect(failedAttemptOutcome({ attemptsMade: 1, opts: { attempts: 3 } }, error)).toBe('retried');
  });
  it('is a failure after the last attempt, or when retrying cannot help', () => {
    expect(failedAttemptOutcome({ attemptsMade: 3, opts: { attempts: 3 } }, error)).toBe('failed');
    expect(failedAttemptOutcome({ attemptsMade: 1, opts: {} }, error)).toBe('failed');
    expect(failedAttemptOutcome({ attemptsMade: 1, opts: { attempts: 5 } }, new UnrecoverableError('no org'))).toBe(
      'failed',
    );
    expect(failedAttemptOutcome(undefined, error)).toBe('failed');
  });
});

describe("a worker process's outcome counter", () => {
  const prefix = `test-counter-${randomUUID()}`;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  afterAll(async () => {
    await redis.del(jobOutcomesKey(prefix, 'a'), jobOutcomesKey(prefix, 'b'));
    redis.disconnect();
  });

  it('adds many outcomes to Redis in one transaction, and what comes during a write in the next', async () => {
    let writes = 0;
    const counted = {
      multi: () => {
        writes += 1;
        return redis.multi();
      },
    };
    const counter = new JobOutcomeCounter(counted, prefix, 60_000);
    for (let i = 0; i < 500; i += 1) counter.count('a', i % 5 === 0 ? 'retried' : 'completed');
    counter.count('b', 'failed');
    // Nothing reaches Redis before the flush.
    expect(await readJobOutcomes(redis, prefix, ['a', 'b'])).toEqual([]);
    const first = counter.flush();
    counter.count('b', 'failed');
    await first;
    expect(writes).toBe(1);
    expect(await redis.hgetall(jobOutcomesKey(prefix, 'a'))).toEqual({ completed: '400', retried: '100' });
    expect(await redis.hgetall(jobOutcomesKey(prefix, 'b'))).toEqual({ failed: '1' });
    await counter.close();
    expect(writes).toBe(2);
    expect(await redis.hgetall(jobOutcomesKey(prefix, 'b'))).toEqual({ failed: '2' });
    expect(await redis.ttl(jobOutcomesKey(prefix, 'a'))).toBeGreaterThan(6 * 86_400);
    // Nothing left: no empty write.
    await counter.close();
    expect(writes).toBe(2);
  });

  it('flushes on its own after the interval', async () => {
    const counter = new JobOutcomeCounter(redis, `${prefix}-timer`, 50);
    counter.count('a', 'completed');
    await expect.poll(() => redis.hget(jobOutcomesKey(`${prefix}-timer`, 'a'), 'completed')).toBe('1');
    await counter.close();
    await redis.del(jobOutcomesKey(`${prefix}-timer`, 'a'));
  });

  it('never throws when Redis is gone, and drops those counts', async () => {
    const gone = new Redis('redis://127.0.0.1:1', {
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    gone.on('error', () => {});
    const counter = new JobOutcomeCounter(gone, prefix, 60_000);
    counter.count('a', 'completed');
    await expect(counter.close()).resolves.toBeUndefined();
    gone.disconnect();
  });
});

describe('job outcomes counted by the worker', () => {
  const prefix = `test-outcomes-${randomUUID()}`;
  const name = 'outcomes';
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  const queue = new Queue(name, { connection: { url: REDIS_URL }, prefix });
  let worker: RunningWorker | undefined;

  afterAll(async () => {
    await worker?.close();
    await queue.obliterate({ force: true });
    await queue.close();
    await redis.del(jobOutcomesKey(prefix, name));
    redis.disconnect();
  });

  it('are shared in Redis per queue: completed, failed for good, and retried', async () => {
    const flaky = new Set<string>();
    worker = await startWorker({
      env: loadWorkerEnv({ REDIS_URL }),
      logger: pino({ level: 'silent' }),
      prefix,
      queues: [
        registerQueue<{ orgId: string; kind: string }>(name, async (job) => {
          if (job.data.kind === 'refused') throw new UnrecoverableError('refused');
          if (job.data.kind === 'flaky' && !flaky.has(job.id!)) {
            flaky.add(job.id!);
            throw new Error('try again');
          }
        }),
      ],
    });
    const orgId = randomUUID();
    await queue.add('ok', { orgId, kind: 'ok' });
    await queue.add('refused', { orgId, kind: 'refused' }, { attempts: 3 });
    await queue.add('flaky', { orgId, kind: 'flaky' }, { attempts: 2 });
    await expect
      .poll(
        async () => (await readJobOutcomes(redis, prefix, [name])).sort((a, b) => a.outcome.localeCompare(b.outcome)),
        {
          timeout: 10_000,
        },
      )
      .toEqual([
        { queue: name, outcome: 'completed', count: 2 },
        { queue: name, outcome: 'failed', count: 1 },
        { queue: name, outcome: 'retried', count: 1 },
      ]);
    expect(await readJobOutcomes(redis, `${prefix}-other`, [name])).toEqual([]);
    const ttl = await redis.ttl(jobOutcomesKey(prefix, name));
    expect(ttl).toBeGreaterThan(6 * 86_400);
  });
});
