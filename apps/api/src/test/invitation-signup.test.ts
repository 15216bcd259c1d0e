import { randomBytes, randomUUID } from 'node:crypto';
import { findUserByEmail, listAuditEvents } from '@tenantry/db';
import type { TestDatabase } from '@tenantry/db/testing';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../server.js';
import {
  createOrgAs,
  http,
  multiTenantEnv,
  openTestDatabase,
  sessionCookieOf,
  signUp,
  silentLogger,
  type TestUser,
  testEnv,
} from './harness.js';

// Signing up from an invitation link on a server where sign-up is by invitation only, and the
// rate limits on trying invitations (per invitation and per client address), on PostgreSQL
// and the machine's Redis. Every address used here is random, so the budgets are this run's.

let tdb: TestDatabase;
let app: FastifyInstance;
let connection: Redis;
let queue: Queue;
const prefix = `test-inv-signup-${randomUUID()}`;
const PASSWORD = 'correct horse battery';

beforeAll(async () => {
  tdb = await openTestDatabase('postgresql');
  connection = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  queue = new Queue('invitation-email', { connection, prefix });
  app = createApp({
    env: testEnv({ ...(await multiTenantEnv()), PUBLIC_URL: 'https://tenantry.example.com', SIGNUP_MODE: 'invite' }),
    db: tdb.db,
    logger: silentLogger,
    redis: connection,
    queuePrefix: prefix,
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await queue?.obliterate({ force: true }).catch(() => {});
  await queue?.close();
  if (connection) {
    // The budgets this run spent live under its orgs and addresses; remove them.
    const keys = [...(await connection.keys('org:*:rl:invite:*')), ...(await connection.keys('rl:invite:ip:10.*'))];
    const mine = keys.filter((k) => orgIds.some((id) => k.includes(id)) || addresses.some((ip) => k.endsWith(ip)));
    if (mine.length > 0) await connection.del(...mine);
    connection.disconnect();
  }
  await tdb?.drop();
});

const orgIds: string[] = [];
const addresses: string[] = [];

/** A client address of this run only. */
function randomAddress(): string {
  const [a, b, c] = randomBytes(3);
  const ip = `10.${a}.${b}.${c}`;
  addresses.push(ip);
  return ip;
}

let first: TestUser | null = null;

/** An owner (the install's first account, allowed to sign up on an invite-only server) and an org. */
async function setup(name: string) {
  first ??= await signUp(app, 'First');
  const org = await createOrgAs(app, first, `${name} Org`);
  orgIds.push(org.id);
  return { owner: first, org };
}

async function inviteToken(owner: TestUser, orgId: string, email: string, role = 'editor') {
  const res = await http(app, 'POST', `/api/orgs/${orgId}/invitations`, {
    cookie: owner.cookie,
    body: { email, role },
  });
  expect(res.status).toBe(201);
  const job = await queue.getJob(`invite-${res.body.id}-${res.body.sendCount}`);
  return { id: res.body.id as string, token: job!.data.token as string };
}

const signUpWith = (email: string, invitationToken?: string, remoteAddress?: string) =>
  http(app, 'POST', '/api/auth/signup', {
    body: { email, password: PASSWORD, name: 'New Person', ...(invitationToken ? { invitationToken } : {}) },
    ...(remoteAddress ? { remoteAddress } : {}),
  });

describe('signing up from an invitation link when sign-up is by invitation only', () => {
  it('refuses a sign-up without an invitation', async () => {
    await setup('Closed');
    const res = await signUpWith(`closed-${randomUUID()}@example.com`);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('SIGNUP_CLOSED');
  });

  it('creates the account, joins the org with the invited role and lands there', async () => {
    const { owner, org } = await setup('Join');
    const email = `joiner-${randomUUID()}@example.com`;
    const { id, token } = await inviteToken(owner, org.id, email, 'admin');
    const res = await signUpWith(email.toUpperCase(), token);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      user: { email, platformRole: 'user' },
      joined: { orgId: org.id, slug: org.slug, role: 'admin' },
    });
    const cookie = sessionCookieOf(res);
    const me = await http(app, 'GET', '/api/auth/me', { cookie });
    expect(me.body.activeOrg.id).toBe(org.id);
    expect(me.body.memberships).toEqual([expect.objectContaining({ orgId: org.id, role: 'admin' })]);
    expect((await http(app, 'GET', `/api/invitations/${token}`)).body.status).toBe('accepted');
    const audit = await tdb.db.tenant({ orgId: org.id }, (em) =>
      listAuditEvents(em, org.id, { action: 'invitation.accepted' }),
    );
    expect(audit.events).toEqual([
      expect.objectContaining({ actorType: 'user', actorId: res.body.user.id, targetId: id }),
    ]);
    // Single use: the same link cannot make a second account.
    const again = await signUpWith(`other-${randomUUID()}@example.com`, token);
    expect(again.status).toBe(410);
    expect(again.body.code).toBe('INVITATION_USED');
  });

  it('refuses another email with INVITATION_EMAIL_MISMATCH and creates no account', async () => {
    const { owner, org } = await setup('Mismatch');
    const { token } = await inviteToken(owner, org.id, `invited-${randomUUID()}@example.com`);
    const wrong = `wrong-${randomUUID()}@example.com`;
    const res = await signUpWith(wrong, token);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('INVITATION_EMAIL_MISMATCH');
    expect(res.body.message).toContain(wrong);
    expect(await tdb.db.platform({}, (em) => findUserByEmail(em, wrong))).toBeNull();
  });

  it('answers each dead link with its own code', async () => {
    const { owner, org } = await setup('Dead');
    const revokedEmail = `revoked-${randomUUID()}@example.com`;
    const revoked = await inviteToken(owner, org.id, revokedEmail);
    await http(app, 'DELETE', `/api/orgs/${org.id}/invitations/${revoked.id}`, { cookie: owner.cookie });
    const expiredEmail = `expired-${randomUUID()}@example.com`;
    const expired = await inviteToken(owner, org.id, expiredEmail);
    await tdb.db.tenant({ orgId: org.id }, (em) =>
      em.execute(`update invitations set expires_at = now() - interval '1 minute' where org_id = ? and id = ?`, [
        org.id,
        expired.id,
      ]),
    );
    const replacedEmail = `replaced-${randomUUID()}@example.com`;
    const replaced = await inviteToken(owner, org.id, replacedEmail);
    await http(app, 'POST', `/api/orgs/${org.id}/invitations/${replaced.id}/resend`, { cookie: owner.cookie });
    const cases: [string, string, number, string][] = [
      [revokedEmail, revoked.token, 410, 'INVITATION_REVOKED'],
      [expiredEmail, expired.token, 410, 'INVITATION_EXPIRED'],
      [replacedEmail, replaced.token, 404, 'INVITATION_NOT_FOUND'],
      [`nobody-${randomUUID()}@example.com`, 'not-a-token', 404, 'INVITATION_NOT_FOUND'],
    ];
    for (const [email, token, status, code] of cases) {
      const res = await signUpWith(email, token, randomAddress());
      expect({ email, status: res.status, code: res.body.code }).toEqual({ email, status, code });
      expect(await tdb.db.platform({}, (em) => findUserByEmail(em, email))).toBeNull();
    }
  });

  it('sends an invitee who has an account to sign in instead (EMAIL_TAKEN)', async () => {
    const { owner, org } = await setup('Taken');
    const { token } = await inviteToken(owner, org.id, owner.email.replace('@', '+alias@'));
    const res = await signUpWith(owner.email.replace('@', '+alias@'), token);
    expect(res.status).toBe(201);
    const second = await inviteToken(owner, (await setup('Taken2')).org.id, owner.email.replace('@', '+alias@'));
    const again = await signUpWith(owner.email.replace('@', '+alias@'), second.token);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('EMAIL_TAKEN');
  });
});

describe('rate limits on trying invitations', () => {
  it('answers 429 RATE_LIMITED with Retry-After once one invitation was tried 10 times', async () => {
    const { owner, org } = await setup('PerToken');
    const { token } = await inviteToken(owner, org.id, `target-${randomUUID()}@example.com`);
    // The attempts: sign-ups with the wrong email, then an accept.
    const remoteAddress = randomAddress();
    for (let i = 0; i < 10; i += 1) {
      const res = await signUpWith(`intruder-${i}-${randomUUID()}@example.com`, token, remoteAddress);
      expect(res.body.code).toBe('INVITATION_EMAIL_MISMATCH');
    }
    const limited = await signUpWith(`intruder-x-${randomUUID()}@example.com`, token, randomAddress());
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('RATE_LIMITED');
    expect(limited.body.message).toMatch(/this invitation/);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    const accept = await http(app, 'POST', `/api/invitations/${token}/accept`, {
      cookie: owner.cookie,
      remoteAddress: randomAddress(),
    });
    expect(accept.status).toBe(429);
    expect(accept.body.code).toBe('RATE_LIMITED');
    // Another invitation of the same org is not affected.
    const other = await inviteToken(owner, org.id, `fine-${randomUUID()}@example.com`);
    expect((await signUpWith(`x-${randomUUID()}@example.com`, other.token, remoteAddress)).body.code).toBe(
      'INVITATION_EMAIL_MISMATCH',
    );
  });

  it('answers 429 to an address that tried 30 links, known org or not, and not to another address', async () => {
    const { owner, org } = await setup('PerAddress');
    const orgHex = org.id.replace(/-/g, '');
    const forged = () =>
      `${Buffer.from(orgHex + randomUUID().replace(/-/g, ''), 'hex').toString('base64url')}.${randomBytes(32).toString('base64url')}`;
    const remoteAddress = randomAddress();
    for (let i = 0; i < 30; i += 1) {
      const res = await http(app, 'POST', `/api/invitations/${forged()}/accept`, {
        cookie: owner.cookie,
        remoteAddress,
      });
      expect(res.body.code).toBe('INVITATION_NOT_FOUND');
    }
    const limited = await http(app, 'POST', `/api/invitations/${forged()}/accept`, {
      cookie: owner.cookie,
      remoteAddress,
    });
    expect(limited.status).toBe(429);
    expect(limited.body.message).toMatch(/your address/);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    const elsewhere = await http(app, 'POST', `/api/invitations/${forged()}/accept`, {
      cookie: owner.cookie,
      remoteAddress: randomAddress(),
    });
    expect(elsewhere.body.code).toBe('INVITATION_NOT_FOUND');
    // The budget of this org's invitations is kept under the org's namespace.
    expect(await connection.exists(`org:${org.id}:rl:invite:ip:${remoteAddress}`)).toBe(1);

    // Links that name no org at all spend a budget of the address alone.
    const stranger = randomAddress();
    for (let i = 0; i < 30; i += 1) {
      const res = await http(app, 'POST', '/api/invitations/garbage/accept', {
        cookie: owner.cookie,
        remoteAddress: stranger,
      });
      expect(res.body.code).toBe('INVITATION_NOT_FOUND');
    }
    const refused = await http(app, 'POST', '/api/invitations/garbage/accept', {
      cookie: owner.cookie,
      remoteAddress: stranger,
    });
    expect(refused.status).toBe(429);
    expect(await connection.exists(`rl:invite:ip:${stranger}`)).toBe(1);
  });
});
