import { createHash, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { findSessionByTokenHash } from '@tenantry/db';
import {
  closeInvitationTransports,
  INVITATION_EMAIL_QUEUE,
  type InvitationEmailJob,
  invitationEmailJobId,
  jobOutcomesKey,
  loadWorkerEnv,
  type RunningWorker,
  startWorker,
} from '@tenantry/worker';
import { Queue } from 'bullmq';
import { simpleParser } from 'mailparser';
import { pino } from 'pino';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenOver, PASSWORD, type RestUser, rest, signUpOver, startTestServer, testLicense } from './server.js';

/**
 * Every log line an API process and a worker write during a representative scenario (sign-up,
 * failed and successful sign-in, API tokens, an invitation mailed through SMTP and accepted
 * through its link, a license activation, metrics, denied requests) is captured and scanned
 * for every secret the scenario used: passwords, session cookies, session ids and hashes, API
 * tokens, the invitation token, the license key and the metrics token.
 */

const METRICS_TOKEN = `metrics-${randomUUID()}`;
const WRONG_PASSWORD = 'not the right password at all';

let server: Awaited<ReturnType<typeof startTestServer>>;
let worker: RunningWorker;
let smtp: SMTPServer;
const workerLines: string[] = [];
const mails: string[] = [];

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          mails.push(mail.text ?? '');
          callback();
        })
        .catch(callback);
    },
  });
  // A client that drops its connection is the client's problem, not the sink's.
  smtp.on('error', () => {});
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  server = await startTestServer({ redis: true, captureLogs: true, env: { METRICS_TOKEN } });
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) workerLines.push(line);
      done();
    },
  });
  worker = await startWorker({
    env: loadWorkerEnv({ SMTP_URL: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}` }),
    db: server.tdb.db,
    prefix: server.prefix,
    logger: pino({ level: 'trace', base: { service: 'worker' }, timestamp: pino.stdTimeFunctions.isoTime }, sink),
  });
});

afterAll(async () => {
  await worker?.close();
  closeInvitationTransports();
  const queue = new Queue(INVITATION_EMAIL_QUEUE, {
    connection: { url: 'redis://127.0.0.1:6379' },
    prefix: server.prefix,
  });
  await queue.obliterate({ force: true });
  await queue.close();
  await server?.redis?.del(jobOutcomesKey(server.prefix, INVITATION_EMAIL_QUEUE));
  await server?.close();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

describe('the logs of a representative scenario', () => {
  it('are JSON lines with request, org and user ids, warn on denials, and never hold a secret', async () => {
    const { url } = server;
    const secrets = new Map<string, string>([
      ['password', PASSWORD],
      ['wrong password', WRONG_PASSWORD],
      ['metrics token', METRICS_TOKEN],
    ]);
    const users: RestUser[] = [];

    const admin = await signUpOver(url, 'Log Admin');
    const owner = await signUpOver(url, 'Log Owner');
    users.push(admin, owner);
    expect(
      (await rest(url, 'POST', '/api/auth/login', { body: { email: owner.email, password: WRONG_PASSWORD } })).status,
    ).toBe(401);
    const login = await fetch(`${url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: owner.email, password: PASSWORD }),
    });
    expect(login.status).toBe(200);
    const second = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    users.push({ ...owner, cookie: second });

    const org = await rest(url, 'POST', '/api/orgs', { cookie: owner.cookie, body: { name: 'Logged Org' } });
    expect(org.status).toBe(201);
    const orgId = org.body.id as string;
    const apiToken = await createTokenOver(url, owner, { orgIds: [orgId] });
    secrets.set('API token', apiToken.token);
    expect((await rest(url, 'GET', '/api/orgs', { token: apiToken.token })).status).toBe(200);
    expect(
      (await rest(url, 'GET', '/api/org', { token: apiToken.token, headers: { 'x-org-id': 'default' } })).status,
    ).toBe(403);
    // The lean list path, allowed and refused.
    expect(
      (await rest(url, 'GET', '/api/resources', { token: apiToken.token, headers: { 'x-org-id': orgId } })).status,
    ).toBe(200);
    expect(
      (await rest(url, 'GET', '/api/resources', { token: apiToken.token, headers: { 'x-org-id': admin.id } })).status,
    ).toBe(403);

    // An agent: registered, reporting, and refused with a forged token.
    const agent = await rest(url, 'POST', '/api/agents', {
      token: apiToken.token,
      headers: { 'x-org-id': orgId },
      body: { name: 'logged-agent' },
    });
    expect(agent.status).toBe(201);
    secrets.set('agent token', agent.body.token);
    secrets.set('agent secret', String(agent.body.token).split('.')[1]!);
    const resources = [{ type: 'host', name: 'logged-host', status: 'online' }];
    expect(
      (await rest(url, 'POST', '/api/agent/report', { token: agent.body.token, body: { resources } })).status,
    ).toBe(200);
    const forged = `${String(agent.body.token).split('.')[0]}.${'B'.repeat(43)}`;
    expect((await rest(url, 'POST', '/api/agent/report', { token: forged, body: { resources } })).status).toBe(401);

    // An invitation: mailed by the worker, read and accepted through the token in its link.
    const invitee = await signUpOver(url, 'Log Invitee');
    users.push(invitee);
    const invitation = await rest(url, 'POST', `/api/orgs/${orgId}/invitations`, {
      cookie: owner.cookie,
      body: { email: invitee.email, role: 'viewer' },
    });
    expect(invitation.status).toBe(201);
    const queue = new Queue<InvitationEmailJob>(INVITATION_EMAIL_QUEUE, {
      connection: { url: 'redis://127.0.0.1:6379' },
      prefix: server.prefix,
    });
    const job = await queue.getJob(invitationEmailJobId(invitation.body.id, 1));
    await queue.close();
    const invitationToken = job!.data.token;
    secrets.set('invitation token', invitationToken);
    secrets.set('invitation secret', invitationToken.split('.')[1]!);
    await expect.poll(() => mails.length, { timeout: 20_000 }).toBe(1);
    expect(mails[0]).toContain(invitationToken);
    expect((await rest(url, 'GET', `/api/invitations/${invitationToken}`)).status).toBe(200);
    const trpcRead = await fetch(
      `${url}/trpc/invitations.byToken?input=${encodeURIComponent(JSON.stringify({ token: invitationToken }))}`,
    );
    expect(trpcRead.status).toBe(200);
    expect(
      (await rest(url, 'POST', `/api/invitations/${invitationToken}/accept`, { cookie: invitee.cookie })).status,
    ).toBe(200);

    // A viewer is refused a change; a platform admin activates a license; metrics are read.
    expect(
      (await rest(url, 'PATCH', `/api/orgs/${orgId}`, { cookie: invitee.cookie, body: { name: 'Mine' } })).status,
    ).toBe(403);
    const { key } = await testLicense();
    secrets.set('license key', key);
    expect((await rest(url, 'POST', '/api/admin/license', { cookie: admin.cookie, body: { key } })).status).toBe(200);
    expect((await rest(url, 'GET', '/metrics', { token: METRICS_TOKEN })).status).toBe(200);
    expect((await rest(url, 'POST', '/api/auth/logout', { cookie: second })).status).toBe(200);

    for (const [i, user] of users.entries()) {
      const cookieValue = user.cookie.split('=')[1]!;
      secrets.set(`session cookie ${i}`, cookieValue);
      secrets.set(`session token hash ${i}`, sha256(cookieValue));
      const session = await server.tdb.db.platform({}, (em) => findSessionByTokenHash(em, sha256(cookieValue)));
      if (session) secrets.set(`session id ${i}`, session.session.id);
    }
    expect([...secrets.keys()].filter((k) => k.startsWith('session id')).length).toBeGreaterThanOrEqual(3);

    const lines = [...server.logs, ...workerLines];
    expect(lines.length).toBeGreaterThan(30);
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const [what, secret] of secrets) {
      for (const form of new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)])) {
        const leaking = lines.filter((line) => line.includes(form));
        expect(leaking, `the ${what} appears in ${leaking.length} log line(s): ${leaking[0]}`).toEqual([]);
      }
    }

    for (const entry of entries) {
      expect(typeof entry.level).toBe('number');
      expect(typeof entry.time).toBe('string');
      expect(typeof entry.msg).toBe('string');
    }
    const completed = entries.filter((e) => e.msg === 'request completed');
    expect(completed.every((e) => typeof e.reqId === 'string')).toBe(true);
    expect(completed).toContainEqual(expect.objectContaining({ userId: owner.id, orgId, reqId: expect.any(String) }));
    expect(entries).toContainEqual(
      expect.objectContaining({ level: 40, event: 'org_access_denied', userId: owner.id, reason: 'not_authorized' }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({
        level: 40,
        event: 'access_denied',
        userId: invitee.id,
        orgId,
        reason: 'permission_denied',
      }),
    );
    expect(workerLines.map((l) => JSON.parse(l).msg)).toContain('invitation mail sent');
    expect(lines.some((line) => line.includes('/api/invitations/[redacted]'))).toBe(true);
  });
});
