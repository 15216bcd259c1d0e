import { randomUUID } from 'node:crypto';
import type { Db, EntityManager } from '@tenantry/db';
import { listAuditEvents, updateOrg, verifyAuditChain } from '@tenantry/db';
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

// Bulk invitations over REST on a licensed multi-tenant server, with a real BullMQ queue on
// the machine's Redis (a prefix of this run) to read what the mail jobs carry. The app's
// database counts the statements each tenant unit of work sends.

let tdb: TestDatabase;
let app: FastifyInstance;
let connection: Redis;
let queue: Queue;
const prefix = `test-bulk-inv-${randomUUID()}`;
let statements = 0;

/** `em` with every `execute` counted. */
function counting(em: EntityManager): EntityManager {
  return new Proxy(em, {
    get(target, prop) {
      if (prop === 'execute') {
        return (...args: Parameters<EntityManager['execute']>) => {
          statements += 1;
          return target.execute(...args);
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

beforeAll(async () => {
  tdb = await openTestDatabase('postgresql');
  const db: Db = { ...tdb.db, tenant: (scope, fn) => tdb.db.tenant(scope, (em) => fn(counting(em))) };
  connection = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  queue = new Queue('invitation-email', { connection, prefix });
  app = createApp({
    env: testEnv({ ...(await multiTenantEnv()), PUBLIC_URL: 'https://tenantry.example.com' }),
    db,
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

type Item = { email: string; role: string };

function bulk(actor: TestUser, orgId: string, invitations: Item[]) {
  return http(app, 'POST', `/api/orgs/${orgId}/invitations/bulk`, { cookie: actor.cookie, body: { invitations } });
}

const viewers = (emails: string[]): Item[] => emails.map((email) => ({ email, role: 'viewer' }));
const emailsOf = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}-${i}@example.com`);

async function setup(name: string, tier: 'free' | 'enterprise' = 'enterprise') {
  const owner = await signUp(app, `${name}Owner`);
  const org = await createOrgAs(app, owner, `${name} Org`);
  if (tier !== 'free') await tdb.db.platform({}, (em) => updateOrg(em, org.id, { tier }));
  return { owner, org };
}

async function pendingOf(actor: TestUser, orgId: string) {
  const list = await http(app, 'GET', `/api/orgs/${orgId}/invitations`, { cookie: actor.cookie });
  return list.body.invitations as { id: string; email: string; role: string; sendCount: number }[];
}

async function auditOf(orgId: string) {
  return tdb.db.tenant({ orgId }, async (em) => ({
    events: (await listAuditEvents(em, orgId, { limit: 1000 })).events,
    chain: await verifyAuditChain(em, orgId),
  }));
}

describe('inviting many people at once', () => {
  it('creates each invitation with a mail job like a single invitation, normalized and de-duplicated', async () => {
    const { owner, org } = await setup('Many');
    const emails = emailsOf('many', 40);
    const res = await bulk(owner, org.id, [
      ...viewers(emails),
      { email: ' MANY-0@Example.com ', role: 'admin' },
      { email: 'many-1@example.com', role: 'viewer' },
      { email: 'editor@example.com', role: 'editor' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: 41, resent: 0, skipped: 0, duplicates: 2 });
    expect(res.body.results).toHaveLength(41);
    expect(res.body.results[0]).toMatchObject({
      index: 0,
      email: 'many-0@example.com',
      outcome: 'created',
      invitation: { email: 'many-0@example.com', role: 'viewer', status: 'pending', sendCount: 1 },
    });
    expect(res.body.results[40]).toMatchObject({ index: 42, email: 'editor@example.com', outcome: 'created' });
    const listed = await pendingOf(owner, org.id);
    expect(listed).toHaveLength(41);
    for (const { invitation } of res.body.results) {
      const job = await queue.getJob(`invite-${invitation.id}-1`);
      expect(job, invitation.email).toBeDefined();
      expect(job!.opts).toMatchObject({ attempts: 5, backoff: { type: 'exponential', delay: 1000 } });
      expect(job!.data).toMatchObject({
        orgId: org.id,
        invitationId: invitation.id,
        sendCount: 1,
        email: invitation.email,
        orgName: 'Many Org',
        inviterName: 'ManyOwner',
        role: invitation.role,
      });
      expect(job!.data.link).toBe(`https://tenantry.example.com/invite/${job!.data.token}`);
      const read = await http(app, 'GET', `/api/invitations/${job!.data.token}`);
      expect(read.body).toMatchObject({ email: invitation.email, status: 'pending' });
    }
  });

  it('resends a pending invitation (new token, the old link dead) and skips a member', async () => {
    const { owner, org } = await setup('Mixed');
    const member = await signUp(app, 'Member');
    await addMember(app, owner, org.id, member, 'viewer');
    const first = await bulk(owner, org.id, viewers(['pending@example.com']));
    const invitation = first.body.results[0].invitation;
    const oldToken = (await queue.getJob(`invite-${invitation.id}-1`))!.data.token as string;

    const res = await bulk(owner, org.id, [
      { email: 'Pending@Example.com', role: 'editor' },
      { email: member.email.toUpperCase(), role: 'viewer' },
      { email: 'fresh@example.com', role: 'viewer' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: 1, resent: 1, skipped: 1, duplicates: 0 });
    expect(res.body.results).toEqual([
      expect.objectContaining({
        index: 0,
        outcome: 'resent',
        // A resend keeps the invitation's role, as inviting the address alone does.
        invitation: expect.objectContaining({ id: invitation.id, role: 'viewer', sendCount: 2 }),
      }),
      {
        index: 1,
        email: member.email,
        outcome: 'skipped',
        code: 'ALREADY_MEMBER',
        message: 'That user is already a member of this organization.',
      },
      expect.objectContaining({ index: 2, email: 'fresh@example.com', outcome: 'created' }),
    ]);
    expect(await queue.getJob(`invite-${invitation.id}-1`)).toBeUndefined();
    const newToken = (await queue.getJob(`invite-${invitation.id}-2`))!.data.token as string;
    expect((await http(app, 'GET', `/api/invitations/${oldToken}`)).body.code).toBe('INVITATION_NOT_FOUND');
    expect((await http(app, 'GET', `/api/invitations/${newToken}`)).body.status).toBe('pending');
  });

  it('writes an audit entry per created and resent invitation, and the chain still verifies', async () => {
    const { owner, org } = await setup('Audit');
    await bulk(owner, org.id, viewers(['a1@example.com', 'a2@example.com']));
    await bulk(owner, org.id, viewers(['a2@example.com', 'a3@example.com', owner.email]));
    const { events, chain } = await auditOf(org.id);
    const invitationEvents = events
      .filter((e) => e.action.startsWith('invitation.'))
      .map((e) => [e.action, e.details.email, e.actorId])
      .reverse();
    expect(invitationEvents).toEqual([
      ['invitation.created', 'a1@example.com', owner.id],
      ['invitation.created', 'a2@example.com', owner.id],
      ['invitation.created', 'a3@example.com', owner.id],
      ['invitation.resent', 'a2@example.com', owner.id],
    ]);
    expect(chain.ok).toBe(true);
    expect(
      (await http(app, 'POST', '/api/audit/verify', { cookie: owner.cookie, headers: { 'x-org-id': org.id } })).body,
    ).toMatchObject({
      ok: true,
    });
  });

  it('sends the same number of statements for 5 invitations as for 200', async () => {
    const { owner, org } = await setup('Statements', 'free');
    await tdb.db.platform({}, (em) => updateOrg(em, org.id, { maxMembers: 1000 }));
    const measure = async (n: number, tag: string) => {
      await bulk(owner, org.id, viewers(emailsOf(tag, 2)));
      statements = 0;
      // Half of them pending already: created and resent in the same request.
      const res = await bulk(owner, org.id, viewers([...emailsOf(tag, 2), ...emailsOf(`${tag}-new`, n - 2)]));
      expect(res.body).toMatchObject({ created: n - 2, resent: 2 });
      return statements;
    };
    const small = await measure(5, 'few');
    const large = await measure(200, 'lots');
    expect(large).toBe(small);
    // The invitation lock, members, pending, seats, the insert, the resend and the audit append (3).
    expect(small).toBe(9);
  });

  it('keeps the single invitation working through the same code', async () => {
    const { owner, org } = await setup('Single');
    const one = await http(app, 'POST', `/api/orgs/${org.id}/invitations`, {
      cookie: owner.cookie,
      body: { email: 'single@example.com', role: 'editor' },
    });
    expect(one.status).toBe(201);
    expect(await queue.getJob(`invite-${one.body.id}-1`)).toBeDefined();
    const res = await bulk(owner, org.id, viewers(['single@example.com']));
    expect(res.body.results[0]).toMatchObject({ outcome: 'resent', invitation: { id: one.body.id, sendCount: 2 } });
  });
});

describe('when the new invitations do not fit in the member limit', () => {
  it('refuses the whole request with LIMIT_REACHED, names the seats left, and writes nothing', async () => {
    const { owner, org } = await setup('Limit', 'free');
    // Free tier: 3 members. The owner and one pending invitation leave 1 seat.
    await bulk(owner, org.id, viewers(['held@example.com']));
    const before = await auditOf(org.id);
    const jobsBefore = await queue.getJobCounts('waiting', 'delayed', 'active');
    const res = await bulk(owner, org.id, viewers(['held@example.com', 'x1@example.com', 'x2@example.com']));
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('LIMIT_REACHED');
    expect(res.body.message).toBe(
      'This organization is limited to 3 members and has 1 seat left (1 members, 1 pending invitations), not enough for 2 new invitations: invite at most 1, remove someone or raise the plan.',
    );
    const listed = await pendingOf(owner, org.id);
    expect(listed.map((i) => [i.email, i.sendCount])).toEqual([['held@example.com', 1]]);
    expect((await auditOf(org.id)).events).toHaveLength(before.events.length);
    expect(await queue.getJobCounts('waiting', 'delayed', 'active')).toEqual(jobsBefore);

    // What fits goes through: one new invitation and a resend (which takes no seat).
    const fits = await bulk(owner, org.id, viewers(['held@example.com', 'x1@example.com']));
    expect(fits.body).toMatchObject({ created: 1, resent: 1 });
  });

  it('lets two concurrent batches take the last seats only once', async () => {
    const { owner, org } = await setup('Race', 'free');
    await tdb.db.platform({}, (em) => updateOrg(em, org.id, { maxMembers: 5 }));
    const [a, b] = await Promise.all([
      bulk(owner, org.id, viewers(emailsOf('race-a', 3))),
      bulk(owner, org.id, viewers(emailsOf('race-b', 3))),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 403]);
    expect(await pendingOf(owner, org.id)).toHaveLength(3);
  });
});

describe('who may invite in bulk', () => {
  it('refuses a viewer, and an admin inviting an owner anywhere in the list, writing nothing', async () => {
    const { owner, org } = await setup('Perm');
    const viewer = await signUp(app, 'Viewer');
    const admin = await signUp(app, 'Admin');
    await addMember(app, owner, org.id, viewer, 'viewer');
    await addMember(app, owner, org.id, admin, 'admin');
    const refused = await bulk(viewer, org.id, viewers(['v@example.com']));
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('PERMISSION_DENIED');
    const asOwner = await bulk(admin, org.id, [
      { email: 'ok@example.com', role: 'editor' },
      { email: 'boss@example.com', role: 'owner' },
    ]);
    expect(asOwner.status).toBe(403);
    expect(asOwner.body.code).toBe('OWNERSHIP_REQUIRED');
    expect(await pendingOf(owner, org.id)).toEqual([]);
    const ok = await bulk(admin, org.id, [{ email: 'ok@example.com', role: 'editor' }]);
    expect(ok.body.created).toBe(1);
  });

  it("refuses org B's bulk route to a member of org A only, and B is unchanged", async () => {
    const a = await setup('BulkA');
    const b = await setup('BulkB');
    const res = await bulk(a.owner, b.org.id, viewers(['intruder@example.com']));
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('ORG_ACCESS_DENIED');
    const header = await http(app, 'POST', `/api/orgs/${a.org.id}/invitations/bulk`, {
      cookie: a.owner.cookie,
      headers: { 'x-org-id': b.org.id },
      body: { invitations: viewers(['intruder@example.com']) },
    });
    expect(header.status).toBe(400);
    expect(header.body.code).toBe('ORG_CONTEXT_CONFLICT');
    expect(await pendingOf(b.owner, b.org.id)).toEqual([]);
    expect(await pendingOf(a.owner, a.org.id)).toEqual([]);
  });

  it('works with an API token of the org, as scripts call it', async () => {
    const { owner, org } = await setup('Token');
    const made = await http(app, 'POST', '/api/tokens', {
      cookie: owner.cookie,
      body: { name: 'ci', orgIds: [org.id] },
    });
    const res = await http(app, 'POST', `/api/orgs/${org.slug}/invitations/bulk`, {
      headers: { authorization: `Bearer ${made.body.token}` },
      body: { invitations: viewers(['scripted@example.com']) },
    });
    expect(res.status).toBe(200);
    expect(res.body.created).toBe(1);
    const [entry] = (await auditOf(org.id)).events.filter((e) => e.action === 'invitation.created');
    expect(entry).toMatchObject({ actorType: 'token', actorId: made.body.id });
  });
});

describe('bad input', () => {
  it('answers 400 VALIDATION_FAILED naming the item, and writes nothing', async () => {
    const { owner, org } = await setup('Bad');
    const res = await bulk(owner, org.id, [
      { email: 'good@example.com', role: 'viewer' },
      { email: 'good2@example.com', role: 'viewer' },
      { email: 'not-an-email', role: 'viewer' },
    ]);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.message).toBe('The request is not valid: invitations[2].email: Invalid email address.');
    expect(res.body.issues).toEqual([expect.objectContaining({ path: ['invitations', 2, 'email'] })]);
    const role = await bulk(owner, org.id, [{ email: 'r@example.com', role: 'emperor' }]);
    expect(role.status).toBe(400);
    expect(role.body.message).toMatch(/^The request is not valid: invitations\[0\]\.role: /);
    expect(await pendingOf(owner, org.id)).toEqual([]);
  });

  it('refuses an empty list, more than 500 items, unknown fields and the wrong types', async () => {
    const { owner, org } = await setup('Shape');
    for (const body of [
      { invitations: [] },
      { invitations: viewers(emailsOf('over', 501)) },
      { invitations: [{ email: 'a@example.com', role: 'viewer', name: 'A' }] },
      { invitations: 'a@example.com' },
      { invitations: [{ email: 'a@example.com' }] },
      {},
    ]) {
      const res = await http(app, 'POST', `/api/orgs/${org.id}/invitations/bulk`, { cookie: owner.cookie, body });
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.message).toMatch(/^The request is not valid: invitations/);
    }
    const trpc = await http(app, 'POST', '/trpc/invitations.createMany', {
      cookie: owner.cookie,
      body: { orgId: org.id, invitations: [{ email: 'x', role: 'viewer' }] },
    });
    expect(trpc.status).toBe(400);
    expect(trpc.body.error.data.code).toBe('VALIDATION_FAILED');
    expect(trpc.body.error.message).toContain('invitations[0].email');
  });
});
