import { randomUUID } from 'node:crypto';
import type { TestDatabase } from '@tenantry/db/testing';
import { INVITATION_EMAIL_QUEUE, jobOutcomesKey, REGISTRY } from '@tenantry/worker';
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../server.js';
import {
  createOrgAs,
  http,
  multiTenantEnv,
  openTestDatabase,
  signUp,
  silentLogger,
  type TestUser,
  testEnv,
} from './harness.js';

// The BullMQ dashboard at /admin/jobs: superadmins only, every registered queue, retry and remove.

const REDIS_URL = 'redis://127.0.0.1:6379';
const PUBLIC_ORIGIN = 'http://localhost:3000';
const prefix = `test-jobs-${randomUUID()}`;

let tdb: TestDatabase;
let redis: Redis;
let app: FastifyInstance;
let queue: Queue;
let superadmin: TestUser;
let owner: TestUser;
let ownerToken: string;

beforeAll(async () => {
  tdb = await openTestDatabase('postgresql');
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  app = createApp({
    env: testEnv(await multiTenantEnv()),
    db: tdb.db,
    logger: silentLogger,
    redis,
    queuePrefix: prefix,
  });
  await app.ready();
  queue = new Queue(INVITATION_EMAIL_QUEUE, { connection: { url: REDIS_URL }, prefix });
  superadmin = await signUp(app, 'Platform Admin');
  owner = await signUp(app, 'Org Owner');
  const org = await createOrgAs(app, owner, 'Owned Org');
  const token = await http(app, 'POST', '/api/tokens', {
    cookie: owner.cookie,
    headers: { 'x-org-id': org.id },
    body: { name: 'ci' },
  });
  expect(token.status).toBe(200);
  ownerToken = token.body.token;
});

afterAll(async () => {
  await queue?.obliterate({ force: true });
  await queue?.close();
  await app?.close();
  await redis?.del(jobOutcomesKey(prefix, INVITATION_EMAIL_QUEUE));
  redis?.disconnect();
  await tdb?.drop();
});

/** A job of the invitation-mail queue that failed for good. */
async function failedJob(): Promise<Job> {
  const job = await queue.add('send', { orgId: randomUUID(), invitationId: randomUUID() });
  const worker = new Worker(
    INVITATION_EMAIL_QUEUE,
    async () => {
      throw new UnrecoverableError('refused for the dashboard test');
    },
    { connection: { url: REDIS_URL }, prefix },
  );
  await expect.poll(() => job.getState(), { timeout: 10_000 }).toBe('failed');
  await worker.close();
  return job;
}

describe('GET /admin/jobs', () => {
  it('answers 401 when signed out: JSON for clients, a page with a sign-in link for browsers', async () => {
    const api = await http(app, 'GET', '/admin/jobs');
    expect(api.status).toBe(401);
    expect(api.body).toEqual({ code: 'UNAUTHENTICATED', message: expect.any(String) });
    const page = await app.inject({ method: 'GET', url: '/admin/jobs', headers: { accept: 'text/html' } });
    expect(page.statusCode).toBe(401);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('href="/signin?next=%2Fadmin%2Fjobs"');
    expect((await http(app, 'GET', '/admin/jobs/api/queues')).status).toBe(401);
  });

  it('answers 403 to everyone but superadmins, org owners and their API tokens included', async () => {
    for (const auth of [{ cookie: owner.cookie }, { headers: { authorization: `Bearer ${ownerToken}` } }]) {
      const res = await http(app, 'GET', '/admin/jobs/api/queues', auth);
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('SUPERADMIN_REQUIRED');
    }
    const page = await app.inject({
      method: 'GET',
      url: '/admin/jobs',
      headers: { cookie: owner.cookie, accept: 'text/html' },
    });
    expect(page.statusCode).toBe(403);
    expect(page.body).toContain('for platform administrators');
    expect((await http(app, 'GET', '/admin/jobs/static/js/nothing.js', { cookie: owner.cookie })).status).toBe(403);
  });

  it('shows a superadmin the dashboard of every queue of the worker registry', async () => {
    const page = await app.inject({
      method: 'GET',
      url: '/admin/jobs',
      headers: { cookie: superadmin.cookie, accept: 'text/html' },
    });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Tenantry jobs');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    const queues = await http(app, 'GET', '/admin/jobs/api/queues', { cookie: superadmin.cookie });
    expect(queues.status).toBe(200);
    expect(queues.body.queues.map((q: { name: string }) => q.name).sort()).toEqual(REGISTRY.map((q) => q.name).sort());
  });
});

describe('dashboard actions', () => {
  const same = { origin: PUBLIC_ORIGIN, 'sec-fetch-site': 'same-origin' };

  it('retry a failed job for a superadmin, from the dashboard page', async () => {
    const job = await failedJob();
    const url = `/admin/jobs/api/queues/${INVITATION_EMAIL_QUEUE}/${job.id}/retry`;
    const refused = await http(app, 'PUT', url, { cookie: owner.cookie, headers: same });
    expect(refused.status).toBe(403);
    expect(await job.getState()).toBe('failed');
    const retried = await http(app, 'PUT', url, { cookie: superadmin.cookie, headers: same });
    expect(retried.status).toBe(204);
    expect(await queue.getJobState(job.id!)).toBe('waiting');
  });

  it('remove a job, and refuse the same request from another site', async () => {
    const job = await failedJob();
    const url = `/admin/jobs/api/queues/${INVITATION_EMAIL_QUEUE}/${job.id}/clean`;
    const crossSite = await http(app, 'PUT', url, {
      cookie: superadmin.cookie,
      headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(crossSite.status).toBe(403);
    expect(crossSite.body.code).toBe('CSRF_REJECTED');
    expect(await job.getState()).toBe('failed');
    const removed = await http(app, 'PUT', url, { cookie: superadmin.cookie, headers: same });
    expect(removed.status).toBe(204);
    expect(await queue.getJob(job.id!)).toBeUndefined();
  });
});
