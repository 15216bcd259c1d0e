import { randomBytes, randomUUID } from 'node:crypto';
import type { TestDatabase } from '@tenantry/db/testing';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../server.js';
import {
  addMember,
  createOrgAs,
  http,
  multiTenantEnv,
  openTestDatabase,
  signUp,
  silentLogger,
  type TestUser,
  testEnv,
} from './harness.js';

// Invitations over REST on a licensed multi-tenant server, with a real BullMQ queue on the
// machine's Redis (a unique prefix per run) to read the token the mail job would carry.

let tdb: TestDatabase;
let app: FastifyInstance;
let connection: Redis;
let queue: Queue;
const prefix = `test-inv-${randomUUID()}`;

beforeAll(async () => {
  tdb = await openTestDatabase('postgresql');
  connection = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  queue = new Queue('invitation-email', { connection, prefix });
  app = createApp({
    env: testEnv({ ...(await multiTenantEnv()), PUBLIC_URL: 'https://tenantry.example.com' }),
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
  connection?.disconnect();
  await tdb?.drop();
});

async function invite(actor: TestUser, orgId: string, email: string, role = 'editor') {
  return http(app, 'POST', `/api/orgs/${orgId}/invitations`, { cookie: actor.cookie, body: { email, role } });
}

/** The raw token of the mail job of (invitation, sendCount). */
async function tokenOf(invitationId: string, sendCount = 1): Promise<string> {
  const job = await queue.getJob(`invite-${invitationId}-${sendCount}`);
  if (!job) throw new Error(`no mail job for ${invitationId}/${sendCount}`);
  expect(job.data.link).toBe(`https://tenantry.example.com/invite/${job.data.token}`);
  return job.data.token as string;
}

/** A client address of this run only, so its rate budgets are its own. */
function randomAddress(): string {
  const [a, b, c] = randomBytes(3);
  return `10.${a}.${b}.${c}`;
}

async function setup(name: string) {
  const owner = await signUp(app, `${name}Owner`);
  const org = await createOrgAs(app, owner, `${name} Org`);
  return { owner, org };
}

describe('inviting', () => {
  it('creates a pending invitation, enqueues one mail with a deterministic id, and reads by token without consuming', async () => {
    const { owner, org } = await setup('Create');
    const res = await invite(owner, org.id, 'New.Person@Example.com');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      email: 'new.person@example.com',
      role: 'editor',
      status: 'pending',
      sendCount: 1,
    });
    const token = await tokenOf(res.body.id);
    expect(token).toMatch(/^[\w-]{43}\.[\w-]{43}$/);
    for (let i = 0; i < 2; i += 1) {
      const read = await http(app, 'GET', `/api/invitations/${token}`);
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ orgName: 'Create Org', email: 'new.person@example.com', status: 'pending' });
      expect(read.body.inviterName).toBe('CreateOwner');
    }
    const list = await http(app, 'GET', `/api/orgs/${org.id}/invitations`, { cookie: owner.cookie });
    expect(list.status).toBe(200);
    expect(list.body.invitations).toEqual([expect.objectContaining({ id: res.body.id, status: 'pending' })]);
  });

  it('resends a pending invitation instead of duplicating it, and the old token dies', async () => {
    const { owner, org } = await setup('Resend');
    const first = await invite(owner, org.id, 'again@example.com');
    const oldToken = await tokenOf(first.body.id);
    const second = await invite(owner, org.id, 'again@example.com');
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({ id: first.body.id, sendCount: 2 });
    const newToken = await tokenOf(first.body.id, 2);
    expect((await http(app, 'GET', `/api/invitations/${oldToken}`)).body.code).toBe('INVITATION_NOT_FOUND');
    expect((await http(app, 'GET', `/api/invitations/${newToken}`)).status).toBe(200);
    const third = await http(app, 'POST', `/api/orgs/${org.id}/invitations/${first.body.id}/resend`, {
      cookie: owner.cookie,
    });
    expect(third.body.sendCount).toBe(3);
    await tokenOf(first.body.id, 3);
  });

  it('refuses an existing member with ALREADY_MEMBER', async () => {
    const { owner, org } = await setup('Member');
    const member = await signUp(app, 'Existing');
    await addMember(app, owner, org.id, member, 'viewer');
    const res = await invite(owner, org.id, member.email);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('ALREADY_MEMBER');
  });

  it('refuses an inviter without the permission (viewer), and an admin inviting an owner', async () => {
    const { owner, org } = await setup('Perm');
    const viewer = await signUp(app, 'Viewer');
    const admin = await signUp(app, 'Admin');
    await addMember(app, owner, org.id, viewer, 'viewer');
    await addMember(app, owner, org.id, admin, 'admin');
    const res = await invite(viewer, org.id, 'x@example.com');
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('PERMISSION_DENIED');
    const asOwner = await invite(admin, org.id, 'y@example.com', 'owner');
    expect(asOwner.status).toBe(403);
    expect(asOwner.body.code).toBe('OWNERSHIP_REQUIRED');
  });

  it('counts pending invitations against the member limit at invite time (free tier: 3)', async () => {
    const { owner, org } = await setup('Limit');
    expect((await invite(owner, org.id, 'l1@example.com')).status).toBe(201);
    expect((await invite(owner, org.id, 'l2@example.com')).status).toBe(201);
    const res = await invite(owner, org.id, 'l3@example.com');
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('LIMIT_REACHED');
    expect(res.body.message).toContain('limited to 3 members');
    // Re-inviting a pending address at the limit resends it: it takes no new seat.
    const again = await invite(owner, org.id, 'l1@example.com');
    expect(again.status).toBe(201);
    expect(again.body.sendCount).toBe(2);
  });

  it("cannot revoke or resend org B's invitation through org A's routes; B is unchanged", async () => {
    const a = await setup('OrgA');
    const b = await setup('OrgB');
    const inv = await invite(b.owner, b.org.id, 'b-only@example.com');
    for (const [method, url] of [
      ['DELETE', `/api/orgs/${a.org.id}/invitations/${inv.body.id}`],
      ['POST', `/api/orgs/${a.org.id}/invitations/${inv.body.id}/resend`],
      ['DELETE', `/api/orgs/${b.org.id}/invitations/${inv.body.id}`],
    ] as const) {
      const res = await http(app, method, url, { cookie: a.owner.cookie });
      expect([403, 404]).toContain(res.status);
    }
    const list = await http(app, 'GET', `/api/orgs/${b.org.id}/invitations`, { cookie: b.owner.cookie });
    expect(list.body.invitations).toEqual([
      expect.objectContaining({ id: inv.body.id, status: 'pending', sendCount: 1 }),
    ]);
  });
});

describe('accepting', () => {
  it('adds the membership with the invited role, sets the default org, and is single use', async () => {
    const { owner, org } = await setup('Accept');
    const invitee = await signUp(app, 'Invitee');
    const inv = await invite(owner, org.id, invitee.email.toUpperCase(), 'admin');
    const token = await tokenOf(inv.body.id);
    const res = await http(app, 'POST', `/api/invitations/${token}/accept`, { cookie: invitee.cookie });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ orgId: org.id, role: 'admin' });
    const members = await http(app, 'GET', `/api/orgs/${org.id}/members`, { cookie: owner.cookie });
    expect(members.body.members).toContainEqual(expect.objectContaining({ userId: invitee.id, role: 'admin' }));
    const me = await http(app, 'GET', '/api/auth/me', { cookie: invitee.cookie });
    expect(me.body.activeOrg?.id).toBe(org.id);
    const again = await http(app, 'POST', `/api/invitations/${token}/accept`, { cookie: invitee.cookie });
    expect(again.status).toBe(410);
    expect(again.body.code).toBe('INVITATION_USED');
    expect((await http(app, 'GET', `/api/invitations/${token}`)).body.status).toBe('accepted');
  });

  it('refuses another signed-in email with INVITATION_EMAIL_MISMATCH', async () => {
    const { owner, org } = await setup('Mismatch');
    const other = await signUp(app, 'Other');
    const inv = await invite(owner, org.id, 'someone-else@example.com');
    const res = await http(app, 'POST', `/api/invitations/${await tokenOf(inv.body.id)}/accept`, {
      cookie: other.cookie,
    });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('INVITATION_EMAIL_MISMATCH');
  });

  it('refuses a revoked invitation with INVITATION_REVOKED', async () => {
    const { owner, org } = await setup('Revoked');
    const invitee = await signUp(app, 'Rev');
    const inv = await invite(owner, org.id, invitee.email);
    const token = await tokenOf(inv.body.id);
    const del = await http(app, 'DELETE', `/api/orgs/${org.id}/invitations/${inv.body.id}`, { cookie: owner.cookie });
    expect(del.status).toBe(200);
    const res = await http(app, 'POST', `/api/invitations/${token}/accept`, { cookie: invitee.cookie });
    expect(res.status).toBe(410);
    expect(res.body.code).toBe('INVITATION_REVOKED');
  });

  it('refuses an expired invitation with INVITATION_EXPIRED', async () => {
    const { owner, org } = await setup('Expired');
    const invitee = await signUp(app, 'Exp');
    const inv = await invite(owner, org.id, invitee.email);
    const token = await tokenOf(inv.body.id);
    await tdb.db.tenant({ orgId: org.id }, (em) =>
      em.execute(`update invitations set expires_at = now() - interval '1 minute' where org_id = ? and id = ?`, [
        org.id,
        inv.body.id,
      ]),
    );
    expect((await http(app, 'GET', `/api/invitations/${token}`)).body.status).toBe('expired');
    const res = await http(app, 'POST', `/api/invitations/${token}/accept`, { cookie: invitee.cookie });
    expect(res.status).toBe(410);
    expect(res.body.code).toBe('INVITATION_EXPIRED');
  });

  it('refuses unknown and malformed tokens with INVITATION_NOT_FOUND', async () => {
    const user = await signUp(app, 'Unknown');
    const ids = Buffer.from(randomUUID().replace(/-/g, '') + randomUUID().replace(/-/g, ''), 'hex');
    const forged = `${ids.toString('base64url')}.${randomBytes(32).toString('base64url')}`;
    // Tokens that name no org spend the address's budget outside any org: use an address of this run.
    const remoteAddress = randomAddress();
    for (const token of [forged, 'garbage', 'a.b']) {
      const res = await http(app, 'POST', `/api/invitations/${token}/accept`, { cookie: user.cookie, remoteAddress });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('INVITATION_NOT_FOUND');
      expect((await http(app, 'GET', `/api/invitations/${token}`)).status).toBe(404);
    }
  });

  it('checks the member limit again at accept time', async () => {
    const { owner, org } = await setup('AcceptLimit');
    const one = await signUp(app, 'One');
    const two = await signUp(app, 'Two');
    const extra = await signUp(app, 'Extra');
    const i1 = await invite(owner, org.id, one.email);
    const i2 = await invite(owner, org.id, two.email);
    await addMember(app, owner, org.id, extra, 'viewer');
    expect(
      (await http(app, 'POST', `/api/invitations/${await tokenOf(i1.body.id)}/accept`, { cookie: one.cookie })).status,
    ).toBe(200);
    const res = await http(app, 'POST', `/api/invitations/${await tokenOf(i2.body.id)}/accept`, { cookie: two.cookie });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('LIMIT_REACHED');
  });
});

describe('when the invitation outlives a short INVITATION_TTL', () => {
  it('reads as expired and refuses to be accepted, before any sweep runs', async () => {
    const shortLived = createApp({
      env: testEnv({ ...(await multiTenantEnv()), PUBLIC_URL: 'https://tenantry.example.com', INVITATION_TTL: '1s' }),
      db: tdb.db,
      logger: silentLogger,
      redis: connection,
      queuePrefix: prefix,
    });
    await shortLived.ready();
    try {
      const owner = await signUp(shortLived, 'TtlOwner');
      const org = await createOrgAs(shortLived, owner, 'Ttl Org');
      const invitee = await signUp(shortLived, 'TtlInvitee');
      const inv = await http(shortLived, 'POST', `/api/orgs/${org.id}/invitations`, {
        cookie: owner.cookie,
        body: { email: invitee.email, role: 'editor' },
      });
      expect(Date.parse(inv.body.expiresAt) - Date.parse(inv.body.createdAt)).toBeLessThan(2000);
      const token = await tokenOf(inv.body.id);
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect((await http(shortLived, 'GET', `/api/invitations/${token}`)).body.status).toBe('expired');
      const res = await http(shortLived, 'POST', `/api/invitations/${token}/accept`, { cookie: invitee.cookie });
      expect(res.status).toBe(410);
      expect(res.body.code).toBe('INVITATION_EXPIRED');
      const members = await http(app, 'GET', `/api/orgs/${org.id}/members`, { cookie: owner.cookie });
      expect(members.body.members.map((m: { userId: string }) => m.userId)).not.toContain(invitee.id);
    } finally {
      await shortLived.close();
    }
  });
});

describe('accepting, further', () => {
  it('makes the invited org the session’s active org, for a user who already works in another', async () => {
    const { owner, org } = await setup('Switch');
    const invitee = await signUp(app, 'Switcher');
    const own = await createOrgAs(app, invitee, 'Switcher Home');
    await http(app, 'POST', `/api/orgs/${own.id}/switch`, { cookie: invitee.cookie });
    expect((await http(app, 'GET', '/api/auth/me', { cookie: invitee.cookie })).body.activeOrg.id).toBe(own.id);
    const inv = await invite(owner, org.id, invitee.email, 'viewer');
    const res = await http(app, 'POST', `/api/invitations/${await tokenOf(inv.body.id)}/accept`, {
      cookie: invitee.cookie,
    });
    expect(res.status).toBe(200);
    const me = await http(app, 'GET', '/api/auth/me', { cookie: invitee.cookie });
    expect(me.body.activeOrg.id).toBe(org.id);
    expect(me.body.memberships).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ orgId: own.id, role: 'owner' }),
        expect.objectContaining({ orgId: org.id, role: 'viewer' }),
      ]),
    );
  });

  it("finds nothing when org B's token is re-addressed to org A, and B's invitation stays pending", async () => {
    const a = await setup('ReA');
    const b = await setup('ReB');
    const invitee = await signUp(app, 'Readdressed');
    const inv = await invite(b.owner, b.org.id, invitee.email);
    const token = await tokenOf(inv.body.id);
    const [, secret] = token.split('.');
    const ids = Buffer.from(`${a.org.id}${inv.body.id}`.replace(/-/g, ''), 'hex').toString('base64url');
    const forged = `${ids}.${secret}`;
    for (const method of ['GET', 'POST'] as const) {
      const url = method === 'GET' ? `/api/invitations/${forged}` : `/api/invitations/${forged}/accept`;
      const res = await http(app, method, url, { cookie: invitee.cookie });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('INVITATION_NOT_FOUND');
    }
    const list = await http(app, 'GET', `/api/orgs/${b.org.id}/invitations`, { cookie: b.owner.cookie });
    expect(list.body.invitations).toEqual([expect.objectContaining({ id: inv.body.id, status: 'pending' })]);
    const aMembers = await http(app, 'GET', `/api/orgs/${a.org.id}/members`, { cookie: a.owner.cookie });
    expect(aMembers.body.members.map((m: { userId: string }) => m.userId)).not.toContain(invitee.id);
  });

  it('refuses an API token: joining an organization is for the person, signed in', async () => {
    const { owner, org } = await setup('Bearer');
    const invitee = await signUp(app, 'Bearer');
    const own = await createOrgAs(app, invitee, 'Bearer Home');
    const made = await http(app, 'POST', '/api/tokens', {
      cookie: invitee.cookie,
      body: { name: 'ci', orgIds: [own.id] },
    });
    expect(made.status).toBe(200);
    const inv = await invite(owner, org.id, invitee.email);
    const res = await http(app, 'POST', `/api/invitations/${await tokenOf(inv.body.id)}/accept`, {
      headers: { authorization: `Bearer ${made.body.token}` },
    });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('TOKEN_NOT_ALLOWED');
    expect((await http(app, 'GET', `/api/invitations/${await tokenOf(inv.body.id)}`)).body.status).toBe('pending');
  });
});

describe('mail jobs of superseded sends', () => {
  it('drops the waiting mail of the previous send on resend, and of the current one on revoke', async () => {
    const { owner, org } = await setup('Drop');
    const inv = await invite(owner, org.id, 'dropped@example.com');
    expect(await queue.getJob(`invite-${inv.body.id}-1`)).toBeDefined();
    const resent = await http(app, 'POST', `/api/orgs/${org.id}/invitations/${inv.body.id}/resend`, {
      cookie: owner.cookie,
    });
    expect(resent.body.sendCount).toBe(2);
    expect(await queue.getJob(`invite-${inv.body.id}-1`)).toBeUndefined();
    expect(await queue.getJob(`invite-${inv.body.id}-2`)).toBeDefined();
    await http(app, 'DELETE', `/api/orgs/${org.id}/invitations/${inv.body.id}`, { cookie: owner.cookie });
    expect(await queue.getJob(`invite-${inv.body.id}-2`)).toBeUndefined();
  });

  it('enqueues nothing when the invitation is refused', async () => {
    const { owner, org } = await setup('Nothing');
    const before = await queue.getJobCounts('waiting');
    const res = await invite(owner, org.id, owner.email);
    expect(res.body.code).toBe('ALREADY_MEMBER');
    expect(await queue.getJobCounts('waiting')).toEqual(before);
  });
});
