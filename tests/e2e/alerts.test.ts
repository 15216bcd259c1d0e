import { randomUUID } from 'node:crypto';
import { createApp, createJobQueues, type JobQueues, loadApiEnv } from '@tenantry/api';
import { generateLicenseKeyPair, issueLicense } from '@tenantry/core';
import { findAlert, listAuditEvents } from '@tenantry/db';
import { createTestDatabase, type TestDatabase } from '@tenantry/db/testing';
import {
  ALERT_NOTIFICATION_QUEUE,
  closeMailTransports,
  loadWorkerEnv,
  processAlertNotification,
  type RunningWorker,
  registerQueue,
  startWorker,
} from '@tenantry/worker';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MailSink, startMailSink } from './mail-sink.js';

// An alert end to end: a rule of org A, an agent reporting over POST /api/agent/report (each
// report evaluated in its own transaction), the worker mailing through a real SMTP server in this
// process. One episode → one FIRING mail and one RESOLVED mail, however many reports; a rule
// of org B never mails about A's resources.

const REDIS_URL = 'redis://127.0.0.1:6379';
const PUBLIC_URL = 'https://tenantry.example.com';
const prefix = `e2e-alerts-${randomUUID()}`;

let tdb: TestDatabase;
let app: ReturnType<typeof createApp>;
let redis: Redis;
let queues: JobQueues;
let worker: RunningWorker;
let sink: MailSink;

async function req(method: string, url: string, opts: { cookie?: string; org?: string; body?: unknown } = {}) {
  const res = await app.inject({
    method: method as 'GET',
    url,
    headers: {
      ...(opts.cookie ? { cookie: opts.cookie } : {}),
      ...(opts.org ? { 'x-org-id': opts.org } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(opts.body !== undefined ? { payload: JSON.stringify(opts.body) } : {}),
  });
  const set = res.headers['set-cookie'];
  const cookie = (Array.isArray(set) ? set : set ? [set] : [])
    .find((c) => c.startsWith('tenantry_session='))
    ?.split(';')[0];
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined, cookie };
}

async function ownerOf(orgName: string) {
  const signup = await req('POST', '/api/auth/signup', {
    body: { email: `owner-${randomUUID()}@example.com`, password: 'correct horse battery', name: 'Owner' },
  });
  const cookie = signup.cookie!;
  const org = await req('POST', '/api/orgs', { cookie, body: { name: orgName } });
  expect(org.status).toBe(201);
  return { cookie, orgId: org.body.id as string };
}

/** A host of the org, reported by a registered agent over POST /api/agent/report. */
async function hostOf(owner: { cookie: string; orgId: string }, name: string) {
  const agent = await req('POST', '/api/agents', {
    cookie: owner.cookie,
    org: owner.orgId,
    body: { name: 'rack-agent' },
  });
  expect(agent.status).toBe(201);
  const host = { orgId: owner.orgId, token: agent.body.token as string, name };
  await reportOf(host, 0.2);
  return host;
}

type Host = { orgId: string; token: string; name: string };
type AlertState = { id: string; status: string };

async function alertsOf(orgId: string): Promise<Map<string, string>> {
  const rows = await tdb.db.tenant({ orgId }, (em) =>
    em.execute<AlertState[]>('select id, status from alerts where org_id = ?', [orgId]),
  );
  return new Map(rows.map((r) => [r.id, r.status]));
}

/** One agent report over HTTP; answers the alerts it fired and resolved. */
async function reportOf(host: Host, cpu: number): Promise<{ fired: { id: string }[]; resolved: { id: string }[] }> {
  const before = await alertsOf(host.orgId);
  const res = await app.inject({
    method: 'POST',
    url: '/api/agent/report',
    headers: { authorization: `Bearer ${host.token}`, 'content-type': 'application/json' },
    payload: JSON.stringify({
      resources: [{ type: 'host', name: host.name, status: 'online', cpu, memory: 0.2, disk: 0.2 }],
    }),
  });
  expect(res.statusCode, res.body).toBe(200);
  const after = await alertsOf(host.orgId);
  return {
    fired: [...after].filter(([id]) => !before.has(id)).map(([id]) => ({ id })),
    resolved: [...after]
      .filter(([id, status]) => status === 'resolved' && before.get(id) === 'firing')
      .map(([id]) => ({ id })),
  };
}

beforeAll(async () => {
  sink = await startMailSink();
  tdb = await createTestDatabase({ kind: 'postgresql', poolMax: 4 });
  const keys = await generateLicenseKeyPair();
  const license = await issueLicense(
    { licensee: 'E2E', tier: 'enterprise', features: ['multi_tenant'], expiresAt: new Date(Date.now() + 86_400_000) },
    keys.privateKeyPem,
  );
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  queues = createJobQueues(redis, prefix);
  app = createApp({
    env: loadApiEnv({
      LOG_LEVEL: 'silent',
      PUBLIC_URL,
      WEB_DIST: '/nonexistent',
      MULTI_TENANT_ENABLED: 'true',
      LICENSE_PUBLIC_KEY: keys.publicKeyPem,
      LICENSE_KEY: license,
    }),
    db: tdb.db,
    redis,
    queuePrefix: prefix,
  });
  await app.ready();
  worker = await startWorker({
    env: loadWorkerEnv({ REDIS_URL, SMTP_URL: sink.url, PUBLIC_URL, LOG_LEVEL: 'silent' }),
    db: tdb.db,
    queues: [registerQueue(ALERT_NOTIFICATION_QUEUE, processAlertNotification, { concurrency: 4 })],
    prefix,
  });
});

afterAll(async () => {
  await worker?.close();
  closeMailTransports();
  await queues?.get(ALERT_NOTIFICATION_QUEUE)?.obliterate({ force: true });
  await queues?.close();
  await app?.close();
  redis?.disconnect();
  await tdb?.drop();
  await sink?.close();
});

describe('an alert, end to end', () => {
  it('fires and resolves exactly once per episode under repeated reports, mailing the rule’s recipients', async () => {
    await req('POST', '/api/auth/signup', {
      body: { email: `root-${randomUUID()}@example.com`, password: 'correct horse battery', name: 'Root' },
    });
    const a = await ownerOf('Acme Monitoring');
    const b = await ownerOf('Bravo Hosting');
    const host = await hostOf(a, 'pve-node-7');
    await hostOf(b, 'bravo-1');

    const ruleA = await req('POST', '/api/alert-rules', {
      cookie: a.cookie,
      org: a.orgId,
      body: {
        name: 'Node CPU',
        metric: 'cpu',
        comparison: 'gt',
        threshold: 0.9,
        namePattern: 'pve-*',
        recipients: ['oncall@acme.example'],
      },
    });
    expect(ruleA.status).toBe(201);
    // A rule of B that would match any resource at all: it must never see A's.
    const ruleB = await req('POST', '/api/alert-rules', {
      cookie: b.cookie,
      org: b.orgId,
      body: { name: 'Anything', metric: 'cpu', comparison: 'gte', threshold: 0, recipients: ['noc@bravo.example'] },
    });
    expect(ruleB.status).toBe(201);

    const fired: { id: string }[] = [];
    for (const cpu of [0.95, 0.97, 0.99, 0.96, 0.98]) fired.push(...(await reportOf(host, cpu)).fired);
    expect(fired).toHaveLength(1);
    const [firingMail] = await sink.waitFor(1);
    expect(sink.recipientsOf(firingMail!)).toEqual(['oncall@acme.example']);
    expect(firingMail!.subject).toBe('[Acme Monitoring] FIRING: Node CPU on pve-node-7');
    expect(firingMail!.text).toContain('Organization: Acme Monitoring');
    expect(firingMail!.text).toContain('Rule: Node CPU (CPU above 90%)');
    expect(firingMail!.text).toContain('Resource: pve-node-7 (host)');
    expect(firingMail!.text).toContain('Value: 95%');
    expect(firingMail!.text).toContain(`${PUBLIC_URL}/alerts`);
    expect(String(firingMail!.html)).toContain('pve-node-7');

    const resolved: { id: string }[] = [];
    for (const cpu of [0.4, 0.3, 0.35]) resolved.push(...(await reportOf(host, cpu)).resolved);
    expect(resolved).toHaveLength(1);
    const mails = await sink.waitFor(2);
    expect(mails[1]!.subject).toBe('[Acme Monitoring] RESOLVED: Node CPU on pve-node-7');
    expect(mails[1]!.text).toContain('value 40%');

    // The alert records both notifications, and A's log says so; nothing went to B.
    await expect
      .poll(async () => {
        const alert = await tdb.db.tenant({ orgId: a.orgId }, (em) => findAlert(em, a.orgId, fired[0]!.id));
        return [alert?.firedNotifiedAt !== null, alert?.resolvedNotifiedAt !== null];
      })
      .toEqual([true, true]);
    const notified = await tdb.db.tenant({ orgId: a.orgId }, (em) =>
      listAuditEvents(em, a.orgId, { action: 'alert.notified' }),
    );
    expect(notified.events.map((e) => e.details.event).sort()).toEqual(['fired', 'resolved']);
    const quietB = await tdb.db.tenant({ orgId: b.orgId }, async (em) => ({
      alerts: await em.execute('select id from alerts'),
      audit: (await listAuditEvents(em, b.orgId, { action: 'alert.fired' })).events,
    }));
    expect(quietB).toEqual({ alerts: [], audit: [] });

    // A second episode is a second pair of mails; no more arrive in between.
    await reportOf(host, 0.93);
    await reportOf(host, 0.1);
    const all = await sink.waitFor(4);
    // Both mails of the second episode are queued together; either may go out first.
    expect(
      all
        .slice(2)
        .map((m) => m.subject)
        .sort(),
    ).toEqual([
      '[Acme Monitoring] FIRING: Node CPU on pve-node-7',
      '[Acme Monitoring] RESOLVED: Node CPU on pve-node-7',
    ]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(sink.mails).toHaveLength(4);
    expect(sink.mails.flatMap((m) => sink.recipientsOf(m))).not.toContain('noc@bravo.example');
  });
});
