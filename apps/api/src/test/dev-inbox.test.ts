import { randomUUID } from 'node:crypto';
import type { TestDatabase } from '@tenantry/db/testing';
import {
  closeInvitationTransports,
  INVITATION_EMAIL_QUEUE,
  loadWorkerEnv,
  processInvitationEmail,
  type RunningWorker,
  registerQueue,
  startWorker,
} from '@tenantry/worker';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DevInbox } from '../dev-inbox.js';
import { createApp } from '../server.js';
import {
  createOrgAs,
  http,
  multiTenantEnv,
  openTestDatabase,
  signUp,
  silentLogger,
  testApp,
  testEnv,
} from './harness.js';

// The development inbox: mails the worker sends to the local sink are listed and shown by the
// API, and only on a server that has one (none is created unless SMTP_URL is unset in `pnpm start`).

const REDIS_URL = 'redis://127.0.0.1:6379';
const prefix = `test-dev-inbox-${randomUUID()}`;

let tdb: TestDatabase;
let inbox: DevInbox;
let app: FastifyInstance;
let plain: FastifyInstance;
let worker: RunningWorker;
let connection: Redis;

beforeAll(async () => {
  tdb = await openTestDatabase('postgresql');
  inbox = await DevInbox.start({ capacity: 2 });
  connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  app = createApp({
    env: testEnv({ ...(await multiTenantEnv()), PUBLIC_URL: 'https://tenantry.example.com' }),
    db: tdb.db,
    logger: silentLogger,
    redis: connection,
    queuePrefix: prefix,
    devInbox: inbox,
  });
  await app.ready();
  plain = await testApp(tdb.db);
  worker = await startWorker({
    env: loadWorkerEnv({ REDIS_URL, SMTP_URL: inbox.url, LOG_LEVEL: 'silent' }),
    db: tdb.db,
    queues: [registerQueue(INVITATION_EMAIL_QUEUE, processInvitationEmail, { concurrency: 2 })],
    prefix,
  });
});

afterAll(async () => {
  await worker?.close();
  closeInvitationTransports();
  const queue = new Queue(INVITATION_EMAIL_QUEUE, { connection: { url: REDIS_URL }, prefix });
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
  await app?.close();
  await plain?.close();
  connection?.disconnect();
  await inbox?.close();
  await tdb?.drop();
});

async function waitForMails(n: number): Promise<{ id: string; to: string[]; subject: string }[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await http(app, 'GET', '/api/dev/inbox');
    if (res.body.mails.length >= n || Date.now() > deadline) return res.body.mails;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('on a server without a dev inbox (SMTP_URL set, as in production)', () => {
  it('answers 404 NOT_FOUND for the inbox and its mails, and says so in the config', async () => {
    for (const url of ['/api/dev/inbox', `/api/dev/inbox/${randomUUID()}`]) {
      const res = await http(plain, 'GET', url);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('NOT_FOUND');
    }
    expect((await http(plain, 'GET', '/api/config')).body.devInbox).toBe(false);
  });
});

describe('with a dev inbox', () => {
  it('lists the invitation mail the worker sent, newest first, and shows its text, HTML and link', async () => {
    expect((await http(app, 'GET', '/api/config')).body.devInbox).toBe(true);
    const owner = await signUp(app, 'InboxOwner');
    const org = await createOrgAs(app, owner, 'Inbox Org');
    const invited = await http(app, 'POST', `/api/orgs/${org.id}/invitations`, {
      cookie: owner.cookie,
      body: { email: 'reader@example.com', role: 'viewer' },
    });
    expect(invited.status).toBe(201);
    const [mail] = await waitForMails(1);
    expect(mail).toMatchObject({
      to: ['reader@example.com'],
      subject: 'InboxOwner invited you to Inbox Org on Tenantry',
      messageId: `<invite-${invited.body.id}-1@tenantry.example.com>`,
    });
    const full = await http(app, 'GET', `/api/dev/inbox/${mail!.id}`);
    expect(full.status).toBe(200);
    expect(full.body.links).toEqual([
      expect.stringMatching(/^https:\/\/tenantry\.example\.com\/invite\/[\w-]+\.[\w-]+$/),
    ]);
    expect(full.body.text).toContain(full.body.links[0]);
    expect(full.body.html).toContain(`href="${full.body.links[0]}"`);
    const token = full.body.links[0].split('/invite/')[1];
    expect((await http(app, 'GET', `/api/invitations/${token}`)).body).toMatchObject({
      orgName: 'Inbox Org',
      email: 'reader@example.com',
      status: 'pending',
    });
  });

  it('keeps only its capacity, dropping the oldest', async () => {
    const owner = await signUp(app, 'Capacity');
    const org = await createOrgAs(app, owner, 'Capacity Org');
    // The inbox holds the previous test's mail; two more push it out.
    for (const email of ['one@example.com', 'two@example.com']) {
      const res = await http(app, 'POST', `/api/orgs/${org.id}/invitations`, {
        cookie: owner.cookie,
        body: { email, role: 'viewer' },
      });
      expect(res.status).toBe(201);
    }
    await expect
      .poll(async () => (await waitForMails(2)).flatMap((m) => m.to).sort(), { timeout: 20_000 })
      .toEqual(['one@example.com', 'two@example.com']);
  });

  it('answers 404 for a mail it does not hold and 400 for a malformed id', async () => {
    expect((await http(app, 'GET', `/api/dev/inbox/${randomUUID()}`)).body.code).toBe('NOT_FOUND');
    expect((await http(app, 'GET', '/api/dev/inbox/not-an-id')).status).toBe(400);
  });
});
