import { randomUUID } from 'node:crypto';
import { createInvitation, createOrg, createUser, type Db, listAuditEvents, verifyAuditChain } from '@tenantry/db';
import { createTestDatabase, type TestDatabase } from '@tenantry/db/testing';
import { type Job, Queue, QueueEvents, UnrecoverableError } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkerEnv } from '../env.js';
import type { ProcessorContext } from '../queue-registration.js';
import { registerQueue } from '../queue-registration.js';
import { INVITATION_EXPIRY_QUEUE, INVITATION_EXPIRY_SWEEP_QUEUE } from '../queues/invitation-expiry.js';
import { readSchedulerRuns, SCHEDULER_RUNS_KEY } from '../scheduler-health.js';
import { type RunningWorker, startWorker } from '../worker.js';
import { processInvitationExpiry, processInvitationExpirySweep } from './invitation-expiry.js';

// The expiry scheduler against PostgreSQL and the machine's Redis, under a BullMQ prefix and
// a scheduler id of this run only.

const REDIS_URL = 'redis://127.0.0.1:6379';
const prefix = `test-expiry-${randomUUID()}`;
const schedulerId = `invitation-expiry-test-${randomUUID()}`;
const silent = pino({ level: 'silent' });

let tdb: TestDatabase;
let db: Db;
let redis: Redis;
let worker: RunningWorker | undefined;
let orgA: string;
let orgB: string;
let owner: string;

const invite = (orgId: string, email: string, expiresAt: Date) =>
  db.tenant({ orgId }, (em) => createInvitation(em, { orgId, email, role: 'viewer', expiresAt, invitedById: owner }));
const storedStatus = async (orgId: string, id: string) => {
  const [row] = await db.tenant({ orgId }, (em) =>
    em.execute<{ status: string }[]>('select status from invitations where org_id = ? and id = ?', [orgId, id]),
  );
  return row?.status;
};

beforeAll(async () => {
  tdb = await createTestDatabase({ kind: 'postgresql', poolMax: 4 });
  db = tdb.db;
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  await db.platform({}, async (em) => {
    owner = (await createUser(em, { email: 'owner@expiry.test', name: 'Owner', passwordHash: 'x' })).id;
    orgA = (await createOrg(em, { slug: `exp-a-${Date.now()}`, name: 'Expiry A', ownerId: owner })).id;
    orgB = (await createOrg(em, { slug: `exp-b-${Date.now()}`, name: 'Expiry B', ownerId: owner })).id;
  });
});

afterAll(async () => {
  await worker?.close();
  for (const name of [INVITATION_EXPIRY_SWEEP_QUEUE, INVITATION_EXPIRY_QUEUE]) {
    const queue = new Queue(name, { connection: redis, prefix });
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
  await redis?.hdel(SCHEDULER_RUNS_KEY, schedulerId);
  redis?.disconnect();
  await tdb?.drop();
});

describe('the invitation expiry scheduler', () => {
  it("stores expired on every org's lapsed invitations, audits each, leaves live ones and records its runs", async () => {
    const lapsedA = await invite(orgA, 'lapsed-a@expiry.test', new Date(Date.now() - 60_000));
    const liveA = await invite(orgA, 'live-a@expiry.test', new Date(Date.now() + 86_400_000));
    const lapsedB = await invite(orgB, 'lapsed-b@expiry.test', new Date(Date.now() - 1000));
    worker = await startWorker({
      env: loadWorkerEnv({ REDIS_URL, LOG_LEVEL: 'silent' }),
      logger: silent,
      db,
      prefix,
      queues: [
        registerQueue(INVITATION_EXPIRY_SWEEP_QUEUE, processInvitationExpirySweep, {
          scheduler: { id: schedulerId, every: () => 300 },
        }),
        registerQueue(INVITATION_EXPIRY_QUEUE, processInvitationExpiry, { concurrency: 2 }),
      ],
    });
    await expect
      .poll(async () => [await storedStatus(orgA, lapsedA.id), await storedStatus(orgB, lapsedB.id)], {
        timeout: 20_000,
        interval: 200,
      })
      .toEqual(['expired', 'expired']);
    expect(await storedStatus(orgA, liveA.id)).toBe('pending');

    for (const [orgId, inv] of [
      [orgA, lapsedA],
      [orgB, lapsedB],
    ] as const) {
      const { events, chain } = await db.tenant({ orgId }, async (em) => ({
        events: (await listAuditEvents(em, orgId, { action: 'invitation.expired' })).events,
        chain: await verifyAuditChain(em, orgId),
      }));
      expect(events).toEqual([
        expect.objectContaining({
          actorType: 'system',
          targetType: 'invitation',
          targetId: inv.id,
          details: expect.objectContaining({ email: inv.email, sendCount: 1 }),
        }),
      ]);
      expect(chain.ok).toBe(true);
    }

    // Later runs find nothing more to expire and audit nothing twice.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const again = await db.tenant({ orgId: orgA }, (em) => listAuditEvents(em, orgA, { action: 'invitation.expired' }));
    expect(again.events).toHaveLength(1);
    const runs = await readSchedulerRuns(redis);
    expect(runs[schedulerId]).toMatchObject({ ok: true, durationMs: expect.any(Number) });
    expect(Date.now() - Date.parse(runs[schedulerId]!.at)).toBeLessThan(5000);
  });

  it('fails a per-org job without an org id for good, without retrying it', async () => {
    const queue = new Queue(INVITATION_EXPIRY_QUEUE, { connection: redis, prefix });
    const events = new QueueEvents(INVITATION_EXPIRY_QUEUE, { connection: { url: REDIS_URL }, prefix });
    try {
      await events.waitUntilReady();
      const job = await queue.add('expire', { asOf: Date.now() } as never, { attempts: 3 });
      await expect(job.waitUntilFinished(events, 10_000)).rejects.toThrow(/without a valid orgId/);
      const failed = await queue.getJob(job.id!);
      expect(failed?.attemptsMade).toBe(1);
      expect(await failed?.getState()).toBe('failed');
    } finally {
      await events.close();
      await queue.close();
    }
  });
});

describe('the per-org expiry processor', () => {
  it('refuses an org id that is not a UUID as unrecoverable, before touching the database', async () => {
    const ctx = {
      logger: silent,
      get db(): never {
        throw new Error('no database expected');
      },
    } as ProcessorContext;
    for (const data of [{}, { orgId: 'default' }, { orgId: '' }]) {
      await expect(processInvitationExpiry({ data } as unknown as Job<never>, ctx)).rejects.toBeInstanceOf(
        UnrecoverableError,
      );
    }
  });
});
