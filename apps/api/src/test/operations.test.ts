import { randomUUID } from 'node:crypto';
import type { TestDatabase } from '@tenantry/db/testing';
import {
  INVITATION_EMAIL_QUEUE,
  jobOutcomesKey,
  loadWorkerEnv,
  type RunningWorker,
  recordSchedulerRun,
  registerQueue,
  SCHEDULER_RUNS_KEY,
  startWorker,
} from '@tenantry/worker';
import { UnrecoverableError } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobQueues } from '../jobs.js';
import { createApp } from '../server.js';
import { createOrgAs, http, multiTenantEnv, openTestDatabase, signUp, silentLogger, testEnv } from './harness.js';

// Operations of one API process: health, metrics, the API reference page. Real PostgreSQL and Redis.

const REDIS_URL = 'redis://127.0.0.1:6379';
const METRICS_TOKEN = `metrics-${randomUUID()}`;
const prefix = `test-ops-${randomUUID()}`;

let tdb: TestDatabase;
let redis: Redis;
const apps: FastifyInstance[] = [];

async function appWith(overrides: Record<string, string | undefined>, opts: { redis?: Redis | null } = {}) {
  const app = createApp({
    env: testEnv(overrides),
    db: tdb.db,
    logger: silentLogger,
    redis: opts.redis === undefined ? redis : opts.redis,
    queuePrefix: prefix,
  });
  await app.ready();
  apps.push(app);
  return app;
}

/** The value of one sample of the exposition, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inside = line.slice(name.length + 1, line.lastIndexOf('}'));
    const parts = inside.split(',');
    if (wanted.every((w) => parts.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

async function scrape(app: FastifyInstance): Promise<string> {
  const res = await app.inject({
    method: 'GET',
    url: '/metrics',
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  return res.body;
}

beforeAll(async () => {
  tdb = await openTestDatabase('postgresql');
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
});

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await redis?.del(jobOutcomesKey(prefix, INVITATION_EMAIL_QUEUE));
  redis?.disconnect();
  await tdb?.drop();
});

describe('GET /api/health', () => {
  it('answers 200 with the latency of PostgreSQL and Redis and the last run of each scheduled job', async () => {
    const app = await appWith({});
    const scheduler = `test-scheduler-${randomUUID()}`;
    await recordSchedulerRun(redis, scheduler, { ok: true, durationMs: 12.4 });
    try {
      const res = await http(app, 'GET', '/api/health');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        status: 'ok',
        uptimeSeconds: expect.any(Number),
        db: { ok: true, latencyMs: expect.any(Number) },
        redis: { ok: true, latencyMs: expect.any(Number) },
        failing: [],
      });
      expect(res.body.schedulers[scheduler]).toEqual({ at: expect.any(String), ok: true, durationMs: 12 });
    } finally {
      await redis.hdel(SCHEDULER_RUNS_KEY, scheduler);
    }
  });

  it('answers 503 naming Redis when it does not answer', async () => {
    const dead = new Redis('redis://127.0.0.1:1', {
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      retryStrategy: () => null,
      enableOfflineQueue: false,
    });
    dead.on('error', () => {});
    const app = await appWith({}, { redis: dead });
    const res = await http(app, 'GET', '/api/health');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'degraded', db: { ok: true }, redis: { ok: false }, failing: ['redis'] });
    expect(res.body.redis.error).toMatch(/Redis/);
    dead.disconnect();
  });

  it('answers 503 naming the database when PostgreSQL is gone', async () => {
    const other = await openTestDatabase('postgresql');
    const app = createApp({ env: testEnv(), db: other.db, logger: silentLogger, redis });
    await app.ready();
    await other.drop();
    const res = await http(app, 'GET', '/api/health');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'degraded', db: { ok: false }, redis: { ok: true }, failing: ['db'] });
    await app.close();
  });
});

describe('GET /metrics', () => {
  it('is not served without METRICS_TOKEN or METRICS_PORT, and says how to turn it on', async () => {
    const app = await appWith({});
    const res = await http(app, 'GET', '/metrics');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ code: 'METRICS_DISABLED', message: expect.stringContaining('METRICS_TOKEN') });
  });

  it('wants the bearer METRICS_TOKEN', async () => {
    const app = await appWith({ METRICS_TOKEN });
    for (const authorization of [undefined, 'Bearer wrong-token-of-some-length', `Basic ${METRICS_TOKEN}`]) {
      const res = await http(app, 'GET', '/metrics', { headers: authorization ? { authorization } : {} });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('UNAUTHENTICATED');
    }
    expect(await scrape(app)).toContain('# TYPE tenantry_http_requests_total counter');
  });

  it('counts a 403 and a 501 under their route templates, status and denial reason', async () => {
    const on = await appWith({ ...(await multiTenantEnv()), METRICS_TOKEN });
    const user = await signUp(on, 'Metered');
    const org = await createOrgAs(on, user, 'Metered Org');
    const denied = await http(on, 'GET', '/api/org', { cookie: user.cookie, headers: { 'x-org-id': 'someone-else' } });
    expect(denied.status).toBe(403);
    const onText = await scrape(on);
    expect(sample(onText, 'tenantry_http_requests_total', { method: 'GET', route: '/api/org', status: '403' })).toBe(1);
    expect(sample(onText, 'tenantry_access_denied_total', { reason: 'not_authorized' })).toBe(1);
    expect(
      sample(onText, 'tenantry_http_request_errors_total', { method: 'GET', route: '/api/org', status_class: '4xx' }),
    ).toBe(1);
    expect(sample(onText, 'tenantry_http_requests_total', { method: 'POST', route: '/api/orgs', status: '201' })).toBe(
      1,
    );

    // The same database with the flag off: a non-default org answers 501.
    const off = await appWith({ METRICS_TOKEN });
    const members = await http(off, 'GET', `/api/orgs/${org.id}/members`, { cookie: user.cookie });
    expect(members.status).toBe(501);
    const trpc = await http(off, 'GET', '/trpc/orgs.list', { cookie: user.cookie });
    expect(trpc.status).toBe(501);
    const offText = await scrape(off);
    const route = '/api/orgs/{orgId}/members';
    expect(sample(offText, 'tenantry_http_requests_total', { method: 'GET', route, status: '501' })).toBe(1);
    expect(sample(offText, 'tenantry_http_requests_total', { route: '/trpc/orgs.list', status: '501' })).toBe(1);
    expect(sample(offText, 'tenantry_access_denied_total', { reason: 'multi_tenant_disabled' })).toBe(2);
    expect(sample(offText, 'tenantry_http_request_duration_seconds_count', { route, status: '501' })).toBe(1);
    // Route labels are templates: no id of any kind reaches a label.
    expect(offText).not.toContain(org.id);
    expect(onText).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
  });

  it('counts denials by their own reason: a role that lacks the permission, a cross-site request', async () => {
    const app = await appWith({ ...(await multiTenantEnv()), METRICS_TOKEN });
    const owner = await signUp(app, 'Owner');
    const viewer = await signUp(app, 'Viewer');
    const org = await createOrgAs(app, owner, 'Permissions Org');
    await http(app, 'POST', `/api/orgs/${org.id}/members`, {
      cookie: owner.cookie,
      body: { userId: viewer.id, role: 'viewer' },
    });
    const refused = await http(app, 'PATCH', `/api/orgs/${org.id}`, { cookie: viewer.cookie, body: { name: 'Mine' } });
    expect(refused.status).toBe(403);
    const crossSite = await http(app, 'POST', '/api/orgs', {
      cookie: owner.cookie,
      body: { name: 'Evil' },
      headers: { origin: 'https://evil.example' },
    });
    expect(crossSite.status).toBe(403);
    const text = await scrape(app);
    expect(sample(text, 'tenantry_access_denied_total', { reason: 'permission_denied' })).toBe(1);
    expect(sample(text, 'tenantry_access_denied_total', { reason: 'csrf_rejected' })).toBe(1);
    expect(sample(text, 'tenantry_http_requests_total', { route: '/api/orgs/{orgId}', status: '403' })).toBe(1);
  });

  it('reports tenants by status, queue depths, and job outcomes counted by the workers', async () => {
    const app = await appWith({ METRICS_TOKEN });
    const queue = createJobQueues(redis, prefix);
    const producer = queue.get<{ orgId: string; kind: string }>(INVITATION_EMAIL_QUEUE)!;
    let worker: RunningWorker | undefined;
    try {
      await producer.add('waiting', { orgId: randomUUID(), kind: 'ok' });
      await producer.add('waiting', { orgId: randomUUID(), kind: 'ok' });
      let text = await scrape(app);
      expect(sample(text, 'tenantry_queue_jobs', { queue: INVITATION_EMAIL_QUEUE, state: 'waiting' })).toBe(2);
      expect(sample(text, 'tenantry_queue_jobs', { queue: INVITATION_EMAIL_QUEUE, state: 'failed' })).toBe(0);
      expect(sample(text, 'tenantry_tenants', { status: 'active' })).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'tenantry_tenants', { status: 'suspended' })).toBe(0);

      await producer.add('refused', { orgId: randomUUID(), kind: 'refused' });
      worker = await startWorker({
        env: loadWorkerEnv({ REDIS_URL, LOG_LEVEL: 'silent' }),
        prefix,
        queues: [
          registerQueue<{ orgId: string; kind: string }>(INVITATION_EMAIL_QUEUE, async (job) => {
            if (job.data.kind === 'refused') throw new UnrecoverableError('refused for the test');
          }),
        ],
      });
      await expect
        .poll(
          async () => {
            text = await scrape(app);
            return [
              sample(text, 'tenantry_jobs_total', { queue: INVITATION_EMAIL_QUEUE, outcome: 'completed' }),
              sample(text, 'tenantry_jobs_total', { queue: INVITATION_EMAIL_QUEUE, outcome: 'failed' }),
            ];
          },
          { timeout: 10_000 },
        )
        .toEqual([2, 1]);
      expect(sample(text, 'tenantry_queue_jobs', { queue: INVITATION_EMAIL_QUEUE, state: 'failed' })).toBe(1);
      expect(sample(text, 'tenantry_queue_jobs', { queue: INVITATION_EMAIL_QUEUE, state: 'waiting' })).toBe(0);
    } finally {
      await worker?.close();
      await producer.obliterate({ force: true });
      await queue.close();
    }
  });

  it('moves to an internal listener with METRICS_PORT, and the public one refuses and says where', async () => {
    const app = await appWith({ METRICS_PORT: '0', METRICS_HOST: '127.0.0.1' });
    const listener = await app.operations.listenMetrics();
    try {
      expect(listener?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const res = await fetch(listener!.url);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('tenantry_tenants{status="active"}');
      expect((await fetch(listener!.url.replace('/metrics', '/api/health'))).status).toBe(404);
      const pub = await http(app, 'GET', '/metrics');
      expect(pub.status).toBe(404);
      expect(pub.body.message).toMatch(/internal metrics listener/);
    } finally {
      await listener?.server.close();
    }
  });
});

describe('GET /api/docs', () => {
  it('serves the interactive reference of the generated document from local files only', async () => {
    const app = await appWith({});
    const page = await app.inject({ method: 'GET', url: '/api/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('swagger-ui');
    const urls = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(urls.length).toBeGreaterThan(2);
    for (const url of urls) {
      expect(url).not.toMatch(/^(https?:)?\/\//);
      const asset = await app.inject({ method: 'GET', url: new URL(url, 'http://x/api/docs/').pathname });
      expect(asset.statusCode, url).toBe(200);
    }
    const json = await app.inject({ method: 'GET', url: '/api/docs/json' });
    expect(json.json().paths['/orgs/{orgId}/members']).toBeDefined();
    expect(json.json()).toEqual((await http(app, 'GET', '/api/openapi.json')).body);
  });
});
