import { randomUUID } from 'node:crypto';
import { createApp, createJobQueues, evaluateAlertsOnReport, type JobQueues, loadApiEnv } from '@tenantry/api';
import { generateLicenseKeyPair, issueLicense } from '@tenantry/core';
import { type AuditEventRow, findAlert, listAuditEvents } from '@tenantry/db';
import { createTestDatabase, type TestDatabase } from '@tenantry/db/testing';
import {
  ALERT_NOTIFICATION_QUEUE,
  closeMailTransports,
  INVITATION_EMAIL_QUEUE,
  loadWorkerEnv,
  processAlertNotification,
  processInvitationEmail,
  type RunningWorker,
  registerQueue,
  startWorker,
} from '@tenantry/worker';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MailSink, startMailSink } from './mail-sink.js';

// Jobs keep their org (THREATS: a background job that lost its tenant): one worker handling
// invitation mails and alert notifications of three orgs in a row writes each job's effects
// to that job's org only, and a job without an org id fails at once, without retries.

const REDIS_URL = 'redis://127.0.0.1:6379';
const prefix = `e2e-jobs-${randomUUID()}`;

let tdb: TestDatabase;
let app: ReturnType<typeof createApp>;
let redis: Redis;
let queues: JobQueues;
let worker: RunningWorker | undefined;
let sink: MailSink;

interface Tenant {
  name: string;
  orgId: string;
  cookie: string;
  invitee: string;
  invitationId: string;
  oncall: string;
  alertId: string;
}
const tenants: Tenant[] = [];

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

const auditOf = (orgId: string): Promise<AuditEventRow[]> =>
  tdb.db.tenant({ orgId }, async (em) => (await listAuditEvents(em, orgId, { limit: 1000 })).events);

async function stateOf(queue: string, jobId: string) {
  const job = await queues.get(queue)!.getJob(jobId);
  return job ? { state: await job.getState(), attempts: job.attemptsMade, reason: job.failedReason } : null;
}

/** A tenant with an invitation mail and a firing alert queued (no worker runs yet). */
async function tenantWithQueuedJobs(name: string): Promise<Tenant> {
  const signup = await req('POST', '/api/auth/signup', {
    body: { email: `owner-${randomUUID()}@example.com`, password: 'correct horse battery', name: `${name} Owner` },
  });
  const cookie = signup.cookie!;
  const org = await req('POST', '/api/orgs', { cookie, body: { name } });
  expect(org.status).toBe(201);
  const orgId = org.body.id as string;
  const invitee = `invitee-${randomUUID()}@example.com`;
  const invitation = await req('POST', `/api/orgs/${orgId}/invitations`, {
    cookie,
    body: { email: invitee, role: 'viewer' },
  });
  expect(invitation.status).toBe(201);

  const oncall = `oncall-${randomUUID()}@example.com`;
  const rule = await req('POST', '/api/alert-rules', {
    cookie,
    org: orgId,
    body: { name: `${name} disk`, metric: 'disk', comparison: 'gt', threshold: 0.8, recipients: [oncall] },
  });
  expect(rule.status).toBe(201);
  const agentId = randomUUID();
  const resourceId = randomUUID();
  const { fired } = await tdb.db.tenant({ orgId }, async (em) => {
    await em.execute(`insert into agents (org_id, id, name, token_hash) values (?, ?, 'a', 'x')`, [orgId, agentId]);
    await em.execute(
      `insert into resources (org_id, id, agent_id, type, name, status, disk) values (?, ?, ?, 'storage', ?, 'online', 0.95)`,
      [orgId, resourceId, agentId, `${name}-pool`],
    );
    const sample = {
      id: resourceId,
      type: 'storage',
      name: `${name}-pool`,
      status: 'online',
      cpu: null,
      memory: null,
      disk: 0.95,
    };
    return evaluateAlertsOnReport(em, orgId, [sample], { queues });
  });
  expect(fired).toHaveLength(1);
  return { name, orgId, cookie, invitee, invitationId: invitation.body.id, oncall, alertId: fired[0]!.id };
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
      PUBLIC_URL: 'https://tenantry.example.com',
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
  await req('POST', '/api/auth/signup', {
    body: { email: `root-${randomUUID()}@example.com`, password: 'correct horse battery', name: 'Root' },
  });
  for (const name of ['Northwind', 'Contoso', 'Fabrikam']) tenants.push(await tenantWithQueuedJobs(name));
});

afterAll(async () => {
  await worker?.close();
  closeMailTransports();
  for (const name of [ALERT_NOTIFICATION_QUEUE, INVITATION_EMAIL_QUEUE]) {
    await queues?.get(name)?.obliterate({ force: true });
  }
  await queues?.close();
  await app?.close();
  redis?.disconnect();
  await tdb?.drop();
  await sink?.close();
});

describe('a worker handling jobs of several orgs in a row', () => {
  it("writes each job's effects to its own org only", async () => {
    // One job at a time per queue: the orgs' jobs run strictly one after another.
    worker = await startWorker({
      env: loadWorkerEnv({ REDIS_URL, SMTP_URL: sink.url, LOG_LEVEL: 'silent' }),
      db: tdb.db,
      queues: [
        registerQueue(INVITATION_EMAIL_QUEUE, processInvitationEmail, { concurrency: 1 }),
        registerQueue(ALERT_NOTIFICATION_QUEUE, processAlertNotification, { concurrency: 1 }),
      ],
      prefix,
    });
    const mails = await sink.waitFor(6);
    for (const t of tenants) {
      const invitationMail = mails.filter((m) => sink.recipientsOf(m).includes(t.invitee));
      const alertMail = mails.filter((m) => sink.recipientsOf(m).includes(t.oncall));
      expect(invitationMail, t.name).toHaveLength(1);
      expect(invitationMail[0]!.text).toContain(t.name);
      expect(alertMail, t.name).toHaveLength(1);
      expect(alertMail[0]!.subject).toBe(`[${t.name}] FIRING: ${t.name} disk on ${t.name}-pool`);
    }

    const others = (t: Tenant) => tenants.filter((o) => o !== t);
    for (const t of tenants) {
      await expect
        .poll(async () => {
          const events = await auditOf(t.orgId);
          return ['invitation.sent', 'alert.notified'].map((a) => events.filter((e) => e.action === a).length);
        })
        .toEqual([1, 1]);
      const events = await auditOf(t.orgId);
      expect(events.find((e) => e.action === 'invitation.sent')?.targetId).toBe(t.invitationId);
      expect(events.find((e) => e.action === 'alert.notified')?.targetId).toBe(t.alertId);
      const foreignIds = others(t).flatMap((o) => [o.invitationId, o.alertId, o.orgId]);
      expect(events.filter((e) => foreignIds.includes(e.targetId ?? ''))).toEqual([]);
      expect(JSON.stringify(events)).not.toContain(others(t)[0]!.name);

      const list = await req('GET', `/api/orgs/${t.orgId}/invitations`, { cookie: t.cookie });
      expect(list.body.invitations.map((i: { id: string; deliveryState: string }) => [i.id, i.deliveryState])).toEqual([
        [t.invitationId, 'sent'],
      ]);
      const alert = await tdb.db.tenant({ orgId: t.orgId }, (em) => findAlert(em, t.orgId, t.alertId));
      expect(alert?.firedNotifiedAt).toBeInstanceOf(Date);
    }
  });

  it('fails a job without an org id at once, without retries, on every queue', async () => {
    const queuedInvitation = await queues
      .get(INVITATION_EMAIL_QUEUE)!
      .add(
        'send',
        { invitationId: tenants[0]!.invitationId, email: 'nobody@example.com', link: 'https://x/invite/t' } as never,
        { jobId: `no-org-invite-${randomUUID()}`, attempts: 5, backoff: { type: 'fixed', delay: 100 } },
      );
    const queuedAlert = await queues
      .get(ALERT_NOTIFICATION_QUEUE)!
      .add('fired', { alertId: tenants[0]!.alertId, event: 'fired' } as never, {
        jobId: `no-org-alert-${randomUUID()}`,
        attempts: 5,
        backoff: { type: 'fixed', delay: 100 },
      });
    for (const [queue, job] of [
      [INVITATION_EMAIL_QUEUE, queuedInvitation],
      [ALERT_NOTIFICATION_QUEUE, queuedAlert],
    ] as const) {
      await expect.poll(() => stateOf(queue, job.id!), { timeout: 10_000 }).toMatchObject({ state: 'failed' });
      const final = await stateOf(queue, job.id!);
      expect(final).toMatchObject({ attempts: 1, reason: expect.stringMatching(/orgId/) });
    }
  });

  it('cannot notify an alert of another org: a job naming org X reads X only', async () => {
    const [x, y] = tenants as [Tenant, Tenant];
    const before = sink.mails.length;
    const job = await queues
      .get(ALERT_NOTIFICATION_QUEUE)!
      .add(
        'resolved',
        { orgId: x.orgId, alertId: y.alertId, event: 'fired' },
        { jobId: `crossed-${randomUUID()}`, attempts: 1 },
      );
    await expect
      .poll(() => stateOf(ALERT_NOTIFICATION_QUEUE, job.id!), { timeout: 10_000 })
      .toMatchObject({
        state: 'failed',
        reason: expect.stringContaining(`does not exist in organization ${x.orgId}`),
      });
    expect(sink.mails.length).toBe(before);
    const xEvents = await auditOf(x.orgId);
    expect(xEvents.filter((e) => e.targetId === y.alertId)).toEqual([]);
    expect((await auditOf(y.orgId)).filter((e) => e.action === 'alert.notified')).toHaveLength(1);
  });
});
