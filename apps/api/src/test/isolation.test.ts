import type { TestDatabase } from '@tenantry/db/testing';
import { TRPCError } from '@trpc/server';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEnv } from '../env.js';
import {
  addMember,
  callerFor,
  createOrgAs,
  http,
  multiTenantEnv,
  openTestDatabase,
  signUp,
  type TestUser,
  testApp,
  testEnv,
} from './harness.js';

// A member of org A can never read or change org B or B's members, whichever way B is named:
// by id, by slug, by header, by path or by a body field. Runs on PostgreSQL and on PGlite.

describe.each(['postgresql', 'pglite'] as const)('isolation between organizations on %s', (kind) => {
  let tdb: TestDatabase;
  let app: FastifyInstance;
  let env: ApiEnv;
  let alice: TestUser; // owner of A
  let bob: TestUser; // owner of B
  let bea: TestUser; // viewer in B
  let orgA: { id: string; slug: string };
  let orgB: { id: string; slug: string };
  let snapshotB: { detail: unknown; members: unknown };

  const snapshot = async () => ({
    detail: (await http(app, 'GET', `/api/orgs/${orgB.id}`, { cookie: bob.cookie })).body,
    members: (await http(app, 'GET', `/api/orgs/${orgB.id}/members`, { cookie: bob.cookie })).body,
  });

  beforeAll(async () => {
    tdb = await openTestDatabase(kind);
    const overrides = await multiTenantEnv();
    env = testEnv(overrides);
    app = await testApp(tdb.db, overrides);
    await signUp(app, 'Root');
    alice = await signUp(app, 'Alice');
    bob = await signUp(app, 'Bob');
    bea = await signUp(app, 'Bea');
    orgA = await createOrgAs(app, alice, 'Org A', 'org-a');
    orgB = await createOrgAs(app, bob, 'Org B', 'org-b');
    await addMember(app, bob, orgB.id, bea, 'viewer');
    snapshotB = await snapshot();
  });

  afterAll(async () => {
    await app?.close();
    await tdb?.drop();
  });

  const expectRefused = (res: { status: number; body: { code?: string } }, statuses = [403]) => {
    expect(statuses).toContain(res.status);
    expect(res.body.code).toMatch(/^[A-Z_]+$/);
  };

  it('refuses every org procedure on B by id and by slug in the path', async () => {
    for (const ref of [orgB.id, orgB.slug]) {
      const calls: [string, string, unknown?][] = [
        ['GET', `/api/orgs/${ref}`],
        ['PATCH', `/api/orgs/${ref}`, { name: 'Pwned', description: 'pwned' }],
        ['DELETE', `/api/orgs/${ref}`, { confirm: orgB.slug }],
        ['POST', `/api/orgs/${ref}/switch`],
        ['POST', `/api/orgs/${ref}/transfer-ownership`, { userId: alice.id }],
        ['POST', `/api/orgs/${ref}/leave`],
        ['GET', `/api/orgs/${ref}/members`],
        ['POST', `/api/orgs/${ref}/members`, { userId: alice.id, role: 'owner' }],
        ['POST', `/api/orgs/${ref}/members`, { email: alice.email, role: 'viewer' }],
        ['PATCH', `/api/orgs/${ref}/members/${bea.id}`, { role: 'admin' }],
        ['PATCH', `/api/orgs/${ref}/members/${bob.id}`, { role: 'viewer' }],
        ['DELETE', `/api/orgs/${ref}/members/${bea.id}`],
      ];
      for (const [method, url, body] of calls) {
        const res = await http(app, method, url, { cookie: alice.cookie, body });
        expect({ method, url, status: res.status, code: res.body.code }).toEqual({
          method,
          url,
          status: 403,
          code: 'ORG_ACCESS_DENIED',
        });
      }
    }
  });

  it('refuses B as the active org through X-Org-Id, by id and by slug', async () => {
    for (const header of [orgB.id, orgB.slug, orgB.id.toUpperCase()]) {
      const res = await http(app, 'GET', '/api/org', { cookie: alice.cookie, headers: { 'x-org-id': header } });
      expectRefused(res);
    }
  });

  it('refuses a header naming B beside a path naming A (400 ORG_CONTEXT_CONFLICT)', async () => {
    for (const [method, url, body] of [
      ['GET', `/api/orgs/${orgA.id}`],
      ['GET', `/api/orgs/${orgA.slug}/members`],
      ['PATCH', `/api/orgs/${orgA.id}`, { description: 'mixed' }],
      ['PATCH', `/api/orgs/${orgA.id}/members/${bea.id}`, { role: 'admin' }],
    ] as [string, string, unknown?][]) {
      const res = await http(app, method, url, { cookie: alice.cookie, body, headers: { 'x-org-id': orgB.slug } });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('ORG_CONTEXT_CONFLICT');
    }
    // The same org named both ways is no conflict.
    const same = await http(app, 'GET', `/api/orgs/${orgA.id}`, {
      cookie: alice.cookie,
      headers: { 'x-org-id': orgA.slug },
    });
    expect(same.status).toBe(200);
  });

  it('ignores an orgId in the body: the path decides', async () => {
    const res = await http(app, 'PATCH', `/api/orgs/${orgA.id}`, {
      cookie: alice.cookie,
      body: { orgId: orgB.id, description: 'only A' },
    });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(orgA.id);
  });

  it("cannot reach B's members through A's paths (user ids in path or body)", async () => {
    const calls: [string, string, unknown?][] = [
      ['PATCH', `/api/orgs/${orgA.id}/members/${bea.id}`, { role: 'admin' }],
      ['DELETE', `/api/orgs/${orgA.id}/members/${bea.id}`],
      ['DELETE', `/api/orgs/${orgA.id}/members/${bob.id}`],
      ['POST', `/api/orgs/${orgA.id}/transfer-ownership`, { userId: bob.id }],
    ];
    for (const [method, url, body] of calls) {
      const res = await http(app, method, url, { cookie: alice.cookie, body });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('MEMBER_NOT_FOUND');
    }
  });

  it('never lists B to a member of A', async () => {
    const list = await http(app, 'GET', '/api/orgs', { cookie: alice.cookie });
    expect(list.body.orgs.map((o: { id: string }) => o.id)).toEqual([orgA.id]);
    const me = await http(app, 'GET', '/api/auth/me', { cookie: alice.cookie });
    expect(me.body.memberships.map((m: { orgId: string }) => m.orgId)).toEqual([orgA.id]);
    const members = await http(app, 'GET', `/api/orgs/${orgA.id}/members`, { cookie: alice.cookie });
    expect(members.body.members.map((m: { userId: string }) => m.userId)).toEqual([alice.id]);
  });

  it('refuses the same through tRPC callers, with the stable code in error.data', async () => {
    const login = await http(app, 'POST', '/api/auth/login', {
      body: { email: alice.email, password: 'correct horse battery' },
    });
    const token = decodeURIComponent(String(login.headers['set-cookie']).split(';')[0]!.split('=')[1]!);
    const { caller } = callerFor(tdb.db, env, { sessionToken: token });
    const refusals = [
      () => caller.orgs.byId({ orgId: orgB.id }),
      () => caller.orgs.byId({ orgId: orgB.slug }),
      () => caller.orgs.update({ orgId: orgB.id, name: 'Pwned' }),
      () => caller.orgs.switch({ orgId: orgB.slug }),
      () => caller.members.list({ orgId: orgB.id }),
      () => caller.members.add({ orgId: orgB.id, userId: alice.id, role: 'owner' }),
      () => caller.members.remove({ orgId: orgB.id, userId: bea.id }),
    ];
    for (const call of refusals) {
      const error = await call().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TRPCError);
      expect((error as TRPCError).code).toBe('FORBIDDEN');
    }
    const viaHeader = callerFor(tdb.db, env, { sessionToken: token, orgHeader: orgB.slug }).caller;
    await expect(viaHeader.org.current()).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(viaHeader.orgs.byId({ orgId: orgA.id })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect((await caller.org.current()).id).toBe(orgA.id);
  });

  it("leaves B's organization and members unchanged", async () => {
    expect(await snapshot()).toEqual(snapshotB);
  });

  it('returns no rows of B to raw SQL in the scope of A, or of no org', async () => {
    const inA = await tdb.db.tenant({ orgId: orgA.id }, (em) =>
      em.execute('select * from memberships where org_id = ?', [orgB.id]),
    );
    expect(inA).toEqual([]);
    const none = await tdb.db.platform({}, (em) => em.execute('select * from memberships'));
    expect(none).toEqual([]);
    const inB = await tdb.db.tenant({ orgId: orgB.id }, (em) =>
      em.execute('select * from memberships where org_id = ?', [orgB.id]),
    );
    expect(inB).toHaveLength(2);
  });
});
