import { randomUUID } from 'node:crypto';
import { Queue, UnrecoverableError } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadWorkerEnv } from './env.js';
import { failedAttemptOutcome, jobOutcomesKey, readJobOutcomes } from './job-outcomes.js';
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
