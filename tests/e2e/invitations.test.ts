import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createApp, loadApiEnv } from '@tenantry/api';
import { generateLicenseKeyPair, issueLicense } from '@tenantry/core';
import { listAuditEvents } from '@tenantry/db';
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
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Invite → the worker mails through a real SMTP server in this process → parse the mail →
// follow its link → a new user signs up and accepts → member with the invited role.

const REDIS_URL = 'redis://127.0.0.1:6379';
const PUBLIC_URL = 'https://tenantry.example.com';
// A BullMQ prefix of this run's own: API, worker and the cleanup share it.
const prefix = `e2e-inv-${randomUUID()}`;

let tdb: TestDatabase;
let app: ReturnType<typeof createApp>;
let smtp: SMTPServer;
let worker: RunningWorker;
let queue: ReturnType<typeof openInvitationEmailQueue>;
let redis: Redis;
const mails: ParsedMail[] = [];
const waiters: (() => void)[] = [];
/** Recipients refused (451) before the server accepts again; Infinity refuses them all. */
let refuseNext = 0;

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

function nextMail(timeoutMs = 20_000): Promise<ParsedMail> {
  const seen = mails.length;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no mail arrived')), timeoutMs);
    const check = () => {
      if (mails.length > seen) {
        clearTimeout(timer);
        resolve(mails[seen]!);
      } else waiters.push(check);
    };
    check();
  });
}

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (refuseNext > 0) {
        refuseNext -= 1;
        callback(Object.assign(new Error('Try again later'), { responseCode: 451 }));
      } else callback();
    },
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          mails.push(mail);
          for (const w of waiters.splice(0)) w();
          callback();
        })
        .catch(callback);
    },
  });
  // A client that drops its connection is the client's problem, not the sink's.
  smtp.on('error', () => {});
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const port = (smtp.server.address() as AddressInfo).port;

  tdb = await createTestDatabase({ kind: 'postgresql', poolMax: 4 });
  const keys = await generateLicenseKeyPair();
  const license = await issueLicense(
    {
      licensee: 'E2E',
      tier: 'enterprise',
      features: ['multi_tenant'],
      expiresAt: new Date(Date.now() + 86_400_000),
    },
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
    env: loadWorkerEnv({ REDIS_URL, SMTP_URL: `smtp://127.0.0.1:${port}`, LOG_LEVEL: 'silent' }),
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
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
});

describe('invitation by email, end to end', () => {
  it('mails the link through SMTP; a new user signs up from it and joins with the invited role', async () => {
    const ownerCookie = await signUp(`owner-${randomUUID()}@example.com`, 'Olivia Owner');
    const org = await req('POST', '/api/orgs', { cookie: ownerCookie, body: { name: 'Acme Monitoring' } });
    expect(org.status).toBe(201);

    const invitee = `new-hire-${randomUUID()}@example.com`;
    const arriving = nextMail();
    const inv = await req('POST', `/api/orgs/${org.body.id}/invitations`, {
      cookie: ownerCookie,
      body: { email: invitee, role: 'editor' },
    });
    expect(inv.status).toBe(201);

    const mail = await arriving;
    const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
    expect(to?.value[0]?.address).toBe(invitee);
    expect(mail.text).toContain('Acme Monitoring');
    expect(mail.text).toContain('Olivia Owner');
    expect(String(mail.html)).toContain('Acme Monitoring');
    const link = mail.text?.match(/https:\/\/tenantry\.example\.com\/invite\/(\S+)/);
    expect(link).not.toBeNull();
    const token = link![1]!;

    // The state says sent (the worker marks it after the SMTP server accepted the mail).
    await expect
      .poll(async () => {
        const list = await req('GET', `/api/orgs/${org.body.id}/invitations`, { cookie: ownerCookie });
        return list.body.invitations[0]?.deliveryState;
      })
      .toBe('sent');

    // The acceptance page reads it (without consuming it).
    const page = await req('GET', `/api/invitations/${token}`);
    expect(page.body).toMatchObject({ orgName: 'Acme Monitoring', inviterName: 'Olivia Owner', status: 'pending' });

    // A new user signs up with the invited address and accepts.
    const newCookie = await signUp(invitee, 'New Hire');
    const accepted = await req('POST', `/api/invitations/${token}/accept`, { cookie: newCookie });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ orgId: org.body.id, role: 'editor' });

    const me = await req('GET', '/api/auth/me', { cookie: newCookie });
    expect(me.body.memberships).toContainEqual(expect.objectContaining({ orgId: org.body.id, role: 'editor' }));
    expect(mails).toHaveLength(1);

    const actions = await tdb.db.tenant({ orgId: org.body.id }, async (em) =>
      (await listAuditEvents(em, org.body.id, { limit: 100 })).events.map((e) => e.action).reverse(),
    );
    expect(actions).toEqual(expect.arrayContaining(['invitation.created', 'invitation.sent', 'invitation.accepted']));
  });

  it('mails the link; an existing user, signed in with the invited address, accepts and lands in the org', async () => {
    const ownerCookie = await signUp(`owner-${randomUUID()}@example.com`, 'Oscar Owner');
    const org = await req('POST', '/api/orgs', { cookie: ownerCookie, body: { name: 'Existing Users Inc' } });
    const invitee = `existing-${randomUUID()}@example.com`;
    const inviteeCookie = await signUp(invitee, 'Erin Existing');
    const home = await req('POST', '/api/orgs', { cookie: inviteeCookie, body: { name: 'Erin Home' } });
    expect(home.status).toBe(201);

    const arriving = nextMail();
    const inv = await req('POST', `/api/orgs/${org.body.id}/invitations`, {
      cookie: ownerCookie,
      body: { email: invitee, role: 'admin' },
    });
    expect(inv.status).toBe(201);
    const mail = await arriving;
    expect(mail.messageId).toBe(`<invite-${inv.body.id}-1@tenantry.example.com>`);
    expect(mail.subject).toBe('Oscar Owner invited you to Existing Users Inc on Tenantry');
    const token = mail.text?.match(/https:\/\/tenantry\.example\.com\/invite\/(\S+)/)?.[1];
    expect(token).toBeDefined();

    // Someone else signed in cannot use it; the invitee can, once.
    const stranger = await signUp(`stranger-${randomUUID()}@example.com`, 'Sam Stranger');
    const refused = await req('POST', `/api/invitations/${token}/accept`, { cookie: stranger });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('INVITATION_EMAIL_MISMATCH');

    const accepted = await req('POST', `/api/invitations/${token}/accept`, { cookie: inviteeCookie });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ orgId: org.body.id, name: 'Existing Users Inc', role: 'admin' });
    const me = await req('GET', '/api/auth/me', { cookie: inviteeCookie });
    expect(me.body.activeOrg).toMatchObject({ id: org.body.id, name: 'Existing Users Inc' });
    expect(me.body.memberships).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ orgId: home.body.id, role: 'owner' }),
        expect.objectContaining({ orgId: org.body.id, role: 'admin' }),
      ]),
    );
    const current = await req('GET', '/api/org', { cookie: inviteeCookie });
    expect(current.body).toMatchObject({ id: org.body.id, role: 'admin' });
    const members = await req('GET', `/api/orgs/${org.body.id}/members`, { cookie: ownerCookie });
    expect(members.body.members).toContainEqual(expect.objectContaining({ email: invitee, role: 'admin' }));
    const again = await req('POST', `/api/invitations/${token}/accept`, { cookie: inviteeCookie });
    expect(again.body.code).toBe('INVITATION_USED');
  });

  async function ownerWithOrg(name: string) {
    const cookie = await signUp(`owner-${randomUUID()}@example.com`, 'Olivia Owner');
    const org = await req('POST', '/api/orgs', { cookie, body: { name } });
    expect(org.status).toBe(201);
    return { cookie, orgId: org.body.id as string };
  }

  const stateOf = async (cookie: string, orgId: string) =>
    (await req('GET', `/api/orgs/${orgId}/invitations`, { cookie })).body.invitations[0]?.deliveryState;

  it('retries with backoff when the SMTP server refuses the first attempts, and the state says sent', async () => {
    const { cookie, orgId } = await ownerWithOrg('Retry Org');
    const before = mails.length;
    refuseNext = 2;
    const inv = await req('POST', `/api/orgs/${orgId}/invitations`, {
      cookie,
      body: { email: `retry-${randomUUID()}@example.com`, role: 'viewer' },
    });
    expect(inv.status).toBe(201);
    await expect.poll(() => stateOf(cookie, orgId), { timeout: 30_000, interval: 200 }).toBe('sent');
    expect(refuseNext).toBe(0);
    expect(mails.length - before).toBe(1);
  });

  it('after the last failed attempt the invitation shows delivery failed and can be resent', async () => {
    const { cookie, orgId } = await ownerWithOrg('Failing Org');
    refuseNext = Number.POSITIVE_INFINITY;
    const inv = await req('POST', `/api/orgs/${orgId}/invitations`, {
      cookie,
      body: { email: `fail-${randomUUID()}@example.com`, role: 'viewer' },
    });
    expect(inv.status).toBe(201);
    await expect.poll(() => stateOf(cookie, orgId), { timeout: 60_000, interval: 500 }).toBe('failed');
    const failed = await tdb.db.tenant({ orgId }, (em) =>
      listAuditEvents(em, orgId, { action: 'invitation.delivery_failed' }),
    );
    expect(failed.events).toHaveLength(1);
    refuseNext = 0;
    const arriving = nextMail();
    const resent = await req('POST', `/api/orgs/${orgId}/invitations/${inv.body.id}/resend`, { cookie });
    expect(resent.status).toBe(200);
    await arriving;
    await expect.poll(() => stateOf(cookie, orgId), { timeout: 30_000 }).toBe('sent');
  }, 90_000);
});
