import type { TestDatabase } from '@tenantry/db/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  createOrgAs,
  http,
  multiTenantEnv,
  openTestDatabase,
  signUp,
  type TestUser,
  testApp,
} from './harness.js';

// API tokens (THREATS: Pulse's bound token that read the default org; Better Auth's body
// `userId` that minted keys): a token reaches exactly the orgs it is bound to, with at most
// its owner's role there, and only a signed-in person manages tokens.

let tdb: TestDatabase;
let app: FastifyInstance;
let root: TestUser; // superadmin, owner of default
let alice: TestUser; // owner of A and B, viewer in C
let bob: TestUser; // owner of C
let orgA: { id: string; slug: string };
let orgB: { id: string; slug: string };
let orgC: { id: string; slug: string };

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function createToken(user: TestUser, body: Record<string, unknown>) {
  return http(app, 'POST', '/api/tokens', { cookie: user.cookie, body });
}

beforeAll(async () => {
  tdb = await openTestDatabase('postgresql');
  app = await testApp(tdb.db, await multiTenantEnv());
  root = await signUp(app, 'Root');
  alice = await signUp(app, 'Alice');
  bob = await signUp(app, 'Bob');
  orgA = await createOrgAs(app, alice, 'Token A');
  orgB = await createOrgAs(app, alice, 'Token B');
  orgC = await createOrgAs(app, bob, 'Token C');
  await addMember(app, bob, orgC.id, alice, 'viewer');
});

afterAll(async () => {
  await app?.close();
  await tdb?.drop();
});

describe('a token bound to one org', () => {
  let token: string;

  beforeAll(async () => {
    const res = await createToken(alice, { name: 'ci', orgIds: [orgB.slug] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'ci', orgs: [{ orgId: orgB.id, role: 'owner' }] });
    token = res.body.token;
    expect(token).toMatch(/^tnt_[\w-]{43}$/);
  });

  it('reaches that org by header', async () => {
    const res = await http(app, 'GET', '/api/org', { headers: { ...bearer(token), 'x-org-id': orgB.id } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: orgB.id, role: 'owner' });
  });

  it('reaches no other org of its owner, by header or by path, and not the default org', async () => {
    for (const ref of [orgA.id, orgA.slug, 'default']) {
      const res = await http(app, 'GET', '/api/org', { headers: { ...bearer(token), 'x-org-id': ref } });
      expect(res.status, ref).toBe(403);
      expect(res.body.code).toBe('ORG_ACCESS_DENIED');
    }
    const byPath = await http(app, 'GET', `/api/orgs/${orgA.id}/members`, { headers: bearer(token) });
    expect(byPath.status).toBe(403);
    // Without a header the token's owner's stored choices do not apply: the fallback is refused.
    const none = await http(app, 'GET', '/api/org', { headers: bearer(token) });
    expect(none.status).toBe(403);
  });

  it('cannot create, list or revoke tokens', async () => {
    const headers = { ...bearer(token), 'x-org-id': orgB.id };
    const made = await http(app, 'POST', '/api/tokens', { headers, body: { name: 'escalate' } });
    expect(made.status).toBe(403);
    expect(made.body.code).toBe('TOKEN_NOT_ALLOWED');
    expect((await http(app, 'GET', '/api/tokens', { headers })).body.code).toBe('TOKEN_NOT_ALLOWED');
  });

  it('is recorded as the actor of what it changes', async () => {
    const headers = { ...bearer(token), 'x-org-id': orgB.id };
    const res = await http(app, 'PATCH', `/api/orgs/${orgB.id}`, { headers, body: { description: 'set by ci' } });
    expect(res.status).toBe(200);
    const { listAuditEvents } = await import('@tenantry/db');
    const events = await tdb.db.tenant({ orgId: orgB.id }, (em) =>
      listAuditEvents(em, orgB.id, { action: 'org.updated' }),
    );
    expect(events.events[0]).toMatchObject({ actorType: 'token', actorLabel: expect.stringContaining('ci') });
  });

  it('stops working at once when revoked', async () => {
    const list = await http(app, 'GET', '/api/tokens', { cookie: alice.cookie });
    const id = list.body.tokens.find((t: { name: string }) => t.name === 'ci').id;
    expect(list.body.tokens[0]).not.toHaveProperty('token');
    const revoked = await http(app, 'DELETE', `/api/tokens/${id}`, { cookie: alice.cookie });
    expect(revoked.status).toBe(200);
    const res = await http(app, 'GET', '/api/org', { headers: { ...bearer(token), 'x-org-id': orgB.id } });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHENTICATED');
    // Someone else's token cannot be revoked (and does not exist to them).
    expect((await http(app, 'DELETE', `/api/tokens/${id}`, { cookie: bob.cookie })).status).toBe(404);
  });
});

describe('an MSP token bound to several orgs', () => {
  it('reaches each with its own role, capped by the owner role there', async () => {
    const res = await createToken(alice, { name: 'msp', orgIds: [orgA.id, orgC.id] });
    expect(res.status).toBe(200);
    const roles = Object.fromEntries(res.body.orgs.map((o: { orgId: string; role: string }) => [o.orgId, o.role]));
    expect(roles).toEqual({ [orgA.id]: 'owner', [orgC.id]: 'viewer' });
    const inC = await http(app, 'GET', '/api/org', { headers: { ...bearer(res.body.token), 'x-org-id': orgC.slug } });
    expect(inC.body).toMatchObject({ id: orgC.id, role: 'viewer' });
    const write = await http(app, 'PATCH', `/api/orgs/${orgC.id}`, {
      headers: bearer(res.body.token),
      body: { description: 'nope' },
    });
    expect(write.status).toBe(403);
    expect(write.body.code).toBe('PERMISSION_DENIED');
    expect(
      (await http(app, 'GET', '/api/org', { headers: { ...bearer(res.body.token), 'x-org-id': orgB.id } })).status,
    ).toBe(403);
  });

  it('follows its owner: a demoted owner demotes the token, a removed member cuts it', async () => {
    const res = await createToken(alice, { name: 'follows', orgIds: [orgC.id] });
    const token = res.body.token;
    await http(app, 'DELETE', `/api/orgs/${orgC.id}/members/${alice.id}`, { cookie: bob.cookie });
    const after = await http(app, 'GET', '/api/org', { headers: { ...bearer(token), 'x-org-id': orgC.id } });
    expect(after.status).toBe(403);
    await addMember(app, bob, orgC.id, alice, 'viewer');
  });

  it('cannot be bound above the owner role or to an org the owner is not in', async () => {
    const above = await createToken(alice, { name: 'x', orgIds: [orgC.id], role: 'admin' });
    expect(above.status).toBe(403);
    expect(above.body.code).toBe('PERMISSION_DENIED');
    const foreign = await createToken(bob, { name: 'x', orgIds: [orgA.id] });
    expect(foreign.status).toBe(403);
    expect(foreign.body.code).toBe('ORG_ACCESS_DENIED');
    const unknown = await createToken(bob, { name: 'x', orgIds: ['no-such-org'] });
    expect(unknown.status).toBe(403);
    const malformed = await createToken(bob, { name: 'x', orgIds: ['Not A Slug!'] });
    expect(malformed.status).toBe(400);
    // Identity comes from the session only: a body userId is refused as an unknown field.
    const smuggled = await createToken(bob, { name: 'x', userId: alice.id });
    expect(smuggled.status).toBe(400);
  });
});

describe('bearer tokens that are not API tokens', () => {
  it('answer 401 with a message that says what to use', async () => {
    const unknown = await http(app, 'GET', '/api/org', { headers: bearer(`tnt_${'x'.repeat(43)}`) });
    expect(unknown.status).toBe(401);
    const agent = await http(app, 'GET', '/api/org', { headers: bearer('tna_something') });
    expect(agent.status).toBe(401);
    expect(agent.body.message).toMatch(/agent/i);
    // A bearer request never falls back to the cookie.
    const both = await http(app, 'GET', '/api/org', { cookie: root.cookie, headers: bearer('garbage') });
    expect(both.status).toBe(401);
  });
});
