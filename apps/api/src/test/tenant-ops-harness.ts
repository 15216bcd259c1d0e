import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Db } from '@tenantry/db';
import {
  createLogger,
  loadWorkerEnv,
  ORG_DELETION_QUEUE,
  REGISTRY,
  type RunningWorker,
  startWorker,
} from '@tenantry/worker';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { DeletionOutput } from '../deletions.js';
import { createApp } from '../server.js';
import { http, silentLogger, testEnv } from './harness.js';

/**
 * Test support for operating tenants: an app and, when asked, a deletion worker over the same
 * database, on the machine's Redis with a BullMQ prefix and a DATA_DIR of their own.
 */

export const REDIS_URL = 'redis://127.0.0.1:6379';

export interface Stack {
  app: FastifyInstance;
  redis: Redis;
  prefix: string;
  dataDir: string;
  worker: RunningWorker | null;
  close(): Promise<void>;
}

/** An app over `db` with Redis, its own queue prefix and data directory, and optionally the deletion worker. */
export async function startStack(
  db: Db,
  overrides: Record<string, string | undefined> = {},
  opts: { worker?: boolean; dataDir?: string; prefix?: string } = {},
): Promise<Stack> {
  const prefix = opts.prefix ?? `tt-ops-${randomUUID().slice(0, 8)}`;
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'tenantry-ops-'));
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const app = createApp({
    env: testEnv({ DATA_DIR: dataDir, ...overrides }),
    db,
    logger: silentLogger,
    redis,
    queuePrefix: prefix,
  });
  await app.ready();
  const worker = opts.worker
    ? await startWorker({
        env: loadWorkerEnv({ REDIS_URL, DATA_DIR: dataDir, DELETION_BATCH_ROWS: '500' }),
        db,
        prefix,
        logger: createLogger('silent'),
        queues: REGISTRY.filter((q) => q.name === ORG_DELETION_QUEUE),
      })
    : null;
  return {
    app,
    redis,
    prefix,
    dataDir,
    worker,
    async close() {
      await worker?.close();
      await app.close();
      redis.disconnect();
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls a deletion (admin path with a superadmin cookie, else the owner's) until it is over. */
export async function waitForDeletion(
  app: FastifyInstance,
  cookie: string,
  deletionId: string,
  { admin = true, timeoutMs = 30_000 } = {},
): Promise<DeletionOutput> {
  const url = admin ? `/api/admin/deletions/${deletionId}` : `/api/deletions/${deletionId}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await http(app, 'GET', url, { cookie });
    if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${JSON.stringify(res.body)}`);
    if (res.body.status === 'completed' || res.body.status === 'failed') return res.body;
    if (Date.now() > deadline) throw new Error(`deletion still ${res.body.status} at ${res.body.step}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A subscriber on a pub/sub channel that keeps what it receives. */
export async function subscribe(channel: string): Promise<{ messages: string[]; close(): void }> {
  const sub = new Redis(REDIS_URL);
  const messages: string[] = [];
  sub.on('message', (ch, message) => {
    if (ch === channel) messages.push(message);
  });
  await sub.subscribe(channel);
  return { messages, close: () => sub.disconnect() };
}

/** Waits until `predicate` holds (a published message arrives asynchronously). */
export async function eventually(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
