import { randomUUID } from 'node:crypto';
import { createApp, loadApiEnv } from '@tenantry/api';
import { generateLicenseKeyPair, issueLicense } from '@tenantry/core';
import { listAuditEvents, verifyAuditChain } from '@tenantry/db';
import { createTestDatabase, type TestDatabase } from '@tenantry/db/testing';
import {
  closeInvitationTransports,
  INVITATION_EMAIL_QUEUE,
  loadWorkerEnv,
  openInvitationEmailQueue,
  processInvitationEmail,
  type RunningWorker,
  registerQueue,
  startWorker,
} from '@tenantry/worker';
import { Redis } from 'ioredis';
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MailSink, startMailSink } from './mail-sink.js';

// Bulk invitation → the worker mails every address through a real SMTP server in this process
// → each mail's link opens its invitation → an invitee signs up from one and joins. Then a
// second batch resends a pending address: its old link dies and the new mail's link works.

const REDIS_URL = 'redis://127.0.0.1:6379';
const PUBLIC_URL = 'https://tenantry.example.com';
const prefix = `e2e-bulk-inv-${randomUUID()}`;

let tdb: TestDatabase;
let app: ReturnType<typeof createApp>;
let sink: MailSink;
let worker: RunningWorker;
let queue: ReturnType<typeof openInvitationEmailQueue>;
let redis: Redis;

async function req(method: string, url: string, opts: { cookie?: string; body?: unknown } = {}) {
  const res = await app.inject({
    method: method as 'GET',
    url,
    headers: {
      ...(opts.cookie ? { cookie: opts.cookie } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(opts.body !== undefined ? { payload: JSON.stringify(opts.body) } : {}),
  });
  const set = res.headers['set-cookie'];
  const cookies = Array.isArray(set) ? set : set ? [set] : [];
  const cookie = cookies.find((c) => c.startsWith('tenantry_session='))?.split(';')[0];
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined, cookie };
}

async function signUp(email: string, name: string): Promise<string> {
  const res = await req('POST', '/api/auth/signup', { body: { email, password: 'correct horse battery', name } });
  expect(res.status).toBe(201);
  return res.cookie!;
}

const tokenIn = (mail: ParsedMail) => mail.text?.match(/https:\/\/tenantry\.example\.com\/invite\/(\S+)/)?.[1];

beforeAll(async () => {
  sink = await startMailSink();
  tdb = await createTestDatabase({ kind: 'postgresql', poolMax: 4 });
  const keys = await generateLicenseKeyPair();
  const license = await issueLicense(
    { licensee: 'E2E', tier: 'enterprise', features: ['multi_tenant'], expiresAt: new Date(Date.now() + 86_400_000) },
    keys.privateKeyPem,
  );
  queue = openInvitationEmailQueue(REDIS_URL, { prefix });
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
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
    env: loadWorkerEnv({ REDIS_URL, SMTP_URL: sink.url, LOG_LEVEL: 'silent' }),
    db: tdb.db,
    queues: [registerQueue(INVITATION_EMAIL_QUEUE, processInvitationEmail, { concurrency: 4 })],
    prefix,
  });
});

afterAll(async () => {
  await worker?.close();
  closeInvitationTransports();
  await queue?.obliterate({ force: true }).catch(() => {});
  await queue?.close();
  await app?.close();
  redis?.disconnect();
  await tdb?.drop();
  await sink?.close();
});

describe('bulk invitation by email, end to end', () => {
  it('mails every distinct address once through the worker, each with a working link', async () => {
    const ownerCookie = await signUp(`owner-${randomUUID()}@example.com`, 'Olivia Owner');
    const org = await req('POST', '/api/orgs', { cookie: ownerCookie, body: { name: 'Bulk Monitoring' } });
    expect(org.status).toBe(201);
    const orgId = org.body.id as string;
    // The first user of the install is its superadmin: a plan with room for the team.
    const plan = await req('PATCH', `/api/admin/tenants/${orgId}/limits`, {
      cookie: ownerCookie,
      body: { tier: 'enterprise' },
    });
    expect(plan.status, JSON.stringify(plan.body)).toBe(200);
    const tag = randomUUID().slice(0, 8);
    const invitees = Array.from({ length: 25 }, (_, i) => `team-${tag}-${i}@example.com`);

    const res = await req('POST', `/api/orgs/${orgId}/invitations/bulk`, {
      cookie: ownerCookie,
      body: {
        invitations: [
          ...invitees.map((email, i) => ({ email, role: i === 0 ? 'editor' : 'viewer' })),
          // The same people again, as a pasted list repeats them: one invitation, one mail each.
          { email: invitees[0]!.toUpperCase(), role: 'viewer' },
          { email: ` ${invitees[1]} `, role: 'viewer' },
        ],
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ created: 25, resent: 0, skipped: 0, duplicates: 2 });

    const mails = await sink.waitFor(25, 60_000);
    expect(mails.map((m) => sink.recipientsOf(m)[0]).sort()).toEqual([...invitees].sort());
    for (const mail of mails) {
      expect(mail.subject).toBe('Olivia Owner invited you to Bulk Monitoring on Tenantry');
      const token = tokenIn(mail);
      expect(token, sink.recipientsOf(mail)[0]).toBeDefined();
      const page = await req('GET', `/api/invitations/${token}`);
      expect(page.status).toBe(200);
      expect(page.body).toMatchObject({
        orgName: 'Bulk Monitoring',
        email: sink.recipientsOf(mail)[0],
        status: 'pending',
      });
    }

    // Every one is recorded as sent.
    await expect
      .poll(
        async () => {
          const list = await req('GET', `/api/orgs/${orgId}/invitations`, { cookie: ownerCookie });
          return (list.body.invitations as { deliveryState: string }[]).filter((i) => i.deliveryState === 'sent')
            .length;
        },
        { timeout: 30_000 },
      )
      .toBe(25);

    // The first invitee signs up from the link and joins with the role of their line.
    const first = mails.find((m) => sink.recipientsOf(m)[0] === invitees[0])!;
    const inviteeCookie = await signUp(invitees[0]!, 'First Hire');
    const accepted = await req('POST', `/api/invitations/${tokenIn(first)}/accept`, { cookie: inviteeCookie });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ orgId, role: 'editor' });

    // A second batch: the member is skipped, a pending address is resent, a new one created.
    const before = sink.mails.length;
    const oldToken = tokenIn(mails.find((m) => sink.recipientsOf(m)[0] === invitees[2])!);
    const again = await req('POST', `/api/orgs/${orgId}/invitations/bulk`, {
      cookie: ownerCookie,
      body: {
        invitations: [
          { email: invitees[0], role: 'viewer' },
          { email: invitees[2], role: 'viewer' },
          { email: `late-${tag}@example.com`, role: 'viewer' },
        ],
      },
    });
    expect(again.status).toBe(200);
    expect(again.body.results.map((r: { outcome: string }) => r.outcome)).toEqual(['skipped', 'resent', 'created']);
    expect(again.body.results[0].code).toBe('ALREADY_MEMBER');
    const later = (await sink.waitFor(before + 2, 30_000)).slice(before);
    expect(later.map((m) => sink.recipientsOf(m)[0]).sort()).toEqual([invitees[2], `late-${tag}@example.com`].sort());
    const resentMail = later.find((m) => sink.recipientsOf(m)[0] === invitees[2])!;
    expect(resentMail.messageId).toBe(`<invite-${again.body.results[1].invitation.id}-2@tenantry.example.com>`);
    expect((await req('GET', `/api/invitations/${oldToken}`)).body.code).toBe('INVITATION_NOT_FOUND');
    expect((await req('GET', `/api/invitations/${tokenIn(resentMail)}`)).body.status).toBe('pending');

    // The org's log holds every step, and its chain verifies with the worker's entries in it.
    await expect
      .poll(
        () =>
          tdb.db.tenant(
            { orgId },
            async (em) => (await listAuditEvents(em, orgId, { action: 'invitation.sent' })).events.length,
          ),
        { timeout: 30_000 },
      )
      .toBe(27);
    const audit = await tdb.db.tenant({ orgId }, async (em) => ({
      created: (await listAuditEvents(em, orgId, { action: 'invitation.created' })).events.length,
      resent: (await listAuditEvents(em, orgId, { action: 'invitation.resent' })).events.length,
      chain: await verifyAuditChain(em, orgId),
    }));
    expect(audit).toMatchObject({ created: 26, resent: 1, chain: { ok: true } });
  });
});
