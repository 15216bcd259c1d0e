import { randomUUID } from 'node:crypto';
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

// The seed's integration script (Pulse MULTI_TENANT.md, "Integration Test Script" and
// "Response Codes Reference"), over HTTP: 200 valid access, 400 malformed id, 402 flag on but
// unlicensed, 403 not authorized, 501 flag off. The default org always works.

let tdb: TestDatabase;
let flagOff: FastifyInstance;
let unlicensed: FastifyInstance;
let licensed: FastifyInstance;
let admin: TestUser;
let alice: TestUser;
let bob: TestUser;
let orgA: { id: string; slug: string };

beforeAll(async () => {
  tdb = await openTestDatabase('postgresql');
  flagOff = await testApp(tdb.db);
  unlicensed = await testApp(tdb.db, await multiTenantEnv(false));
  licensed = await testApp(tdb.db, await multiTenantEnv(true));
  admin = await signUp(licensed, 'Admin');
  alice = await signUp(licensed, 'Alice');
  bob = await signUp(licensed, 'Bob');
  orgA = await createOrgAs(licensed, alice, 'Org A', 'org-a');
});

afterAll(async () => {
  await Promise.all([flagOff?.close(), unlicensed?.close(), licensed?.close()]);
  await tdb?.drop();
});

function expectError(res: { status: number; body: unknown }, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.body).toEqual({ code, message: expect.any(String) });
}

describe('with MULTI_TENANT_ENABLED=false', () => {
  it('serves the default org (GET /api/org answers 200)', async () => {
    const res = await http(flagOff, 'GET', '/api/org', { cookie: admin.cookie });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ slug: 'default', isDefault: true, role: 'owner' });
  });

  it('answers 501 for X-Org-Id naming another org, known or not', async () => {
    for (const header of ['some-org', orgA.slug, orgA.id, randomUUID()]) {
      const res = await http(flagOff, 'GET', '/api/org', { cookie: alice.cookie, headers: { 'x-org-id': header } });
      expectError(res, 501, 'MULTI_TENANT_DISABLED');
      expect(res.body.message).toBe('Multi-tenant is not enabled on this server');
    }
  });

  it('still answers X-Org-Id: default', async () => {
    const res = await http(flagOff, 'GET', '/api/org', { cookie: admin.cookie, headers: { 'x-org-id': 'default' } });
    expect(res.status).toBe(200);
  });

  it('checks a malformed id first (400 before 501)', async () => {
    const res = await http(flagOff, 'GET', '/api/org', { cookie: admin.cookie, headers: { 'x-org-id': '../etc' } });
    expectError(res, 400, 'MALFORMED_ORG_ID');
  });

  it('answers 501 for the org collection and for paths naming another org', async () => {
    expectError(await http(flagOff, 'GET', '/api/orgs', { cookie: alice.cookie }), 501, 'MULTI_TENANT_DISABLED');
    expectError(
      await http(flagOff, 'POST', '/api/orgs', { cookie: alice.cookie, body: { name: 'Nope' } }),
      501,
      'MULTI_TENANT_DISABLED',
    );
    expectError(
      await http(flagOff, 'GET', `/api/orgs/${orgA.id}`, { cookie: alice.cookie }),
      501,
      'MULTI_TENANT_DISABLED',
    );
    expectError(
      await http(flagOff, 'GET', `/api/orgs/${orgA.slug}/members`, { cookie: alice.cookie }),
      501,
      'MULTI_TENANT_DISABLED',
    );
  });

  it('keeps paths naming the default org working', async () => {
    expect((await http(flagOff, 'GET', '/api/orgs/default', { cookie: admin.cookie })).status).toBe(200);
    expect((await http(flagOff, 'GET', '/api/orgs/default/members', { cookie: admin.cookie })).status).toBe(200);
  });

  it('reports the flag in /api/config', async () => {
    const res = await http(flagOff, 'GET', '/api/config');
    expect(res.body).toMatchObject({
      multiTenantEnabled: false,
      licensed: false,
      signupMode: 'open',
      orgCreation: 'any',
    });
  });
});

describe('with the flag on and no license', () => {
  it('answers 402 for another org, by header or path', async () => {
    const res = await http(unlicensed, 'GET', '/api/org', {
      cookie: alice.cookie,
      headers: { 'x-org-id': 'test-org' },
    });
    expectError(res, 402, 'LICENSE_REQUIRED');
    expect(res.body.message).toBe('Multi-tenant requires an Enterprise license.');
    expectError(
      await http(unlicensed, 'GET', `/api/orgs/${orgA.id}`, { cookie: alice.cookie }),
      402,
      'LICENSE_REQUIRED',
    );
  });

  it('answers 402 for the org collection', async () => {
    expectError(await http(unlicensed, 'GET', '/api/orgs', { cookie: alice.cookie }), 402, 'LICENSE_REQUIRED');
    expectError(
      await http(unlicensed, 'POST', '/api/orgs', { cookie: alice.cookie, body: { name: 'Nope' } }),
      402,
      'LICENSE_REQUIRED',
    );
  });

  it('keeps the default org working', async () => {
    expect((await http(unlicensed, 'GET', '/api/org', { cookie: admin.cookie })).status).toBe(200);
  });

  it('still answers 400 for a malformed id', async () => {
    const res = await http(unlicensed, 'GET', '/api/org', {
      cookie: alice.cookie,
      headers: { 'x-org-id': 'Bad_Slug!' },
    });
    expectError(res, 400, 'MALFORMED_ORG_ID');
  });
});

describe('with the flag on and a license', () => {
  it('lets a member in (200), by id, by slug and by path', async () => {
    for (const header of [orgA.id, orgA.slug]) {
      const res = await http(licensed, 'GET', '/api/org', { cookie: alice.cookie, headers: { 'x-org-id': header } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: orgA.id, role: 'owner', modules: expect.arrayContaining(['sharing']) });
    }
    expect((await http(licensed, 'GET', `/api/orgs/${orgA.slug}`, { cookie: alice.cookie })).status).toBe(200);
  });

  it('refuses a non-member with 403', async () => {
    const res = await http(licensed, 'GET', '/api/org', { cookie: bob.cookie, headers: { 'x-org-id': orgA.id } });
    expectError(res, 403, 'ORG_ACCESS_DENIED');
    expectError(await http(licensed, 'GET', `/api/orgs/${orgA.id}`, { cookie: bob.cookie }), 403, 'ORG_ACCESS_DENIED');
  });

  it('answers unknown orgs with 403 too, so existence is not revealed', async () => {
    for (const header of [randomUUID(), 'no-such-org']) {
      const res = await http(licensed, 'GET', '/api/org', { cookie: bob.cookie, headers: { 'x-org-id': header } });
      expectError(res, 403, 'ORG_ACCESS_DENIED');
    }
  });

  it('answers 400 for malformed ids', async () => {
    for (const header of ['../etc', 'Bad_Slug!', 'a', '-leading', `${'x'.repeat(49)}`]) {
      const res = await http(licensed, 'GET', '/api/org', { cookie: alice.cookie, headers: { 'x-org-id': header } });
      expectError(res, 400, 'MALFORMED_ORG_ID');
    }
    expectError(await http(licensed, 'GET', '/api/orgs/Bad_Slug!', { cookie: alice.cookie }), 400, 'MALFORMED_ORG_ID');
  });

  it('serves the org collection', async () => {
    const res = await http(licensed, 'GET', '/api/orgs', { cookie: alice.cookie });
    expect(res.status).toBe(200);
    expect(res.body.orgs.map((o: { slug: string }) => o.slug)).toEqual(['org-a']);
  });

  it('asks for sign-in before anything else (401)', async () => {
    expectError(await http(licensed, 'GET', '/api/org'), 401, 'UNAUTHENTICATED');
    expectError(await http(licensed, 'GET', '/api/orgs'), 401, 'UNAUTHENTICATED');
  });
});

describe('the active org of a browser session', () => {
  it('follows switching, ignores the stored choice with the flag off, and restores it when back on', async () => {
    const carol = await signUp(licensed, 'Carol');
    const org = await createOrgAs(licensed, carol, 'Carol Co');
    const other = await createOrgAs(licensed, carol, 'Carol Two');
    await http(licensed, 'POST', `/api/orgs/${other.id}/switch`, { cookie: carol.cookie });
    expect((await http(licensed, 'GET', '/api/org', { cookie: carol.cookie })).body.id).toBe(other.id);

    // Flag off: the stored choice is not consulted (Carol is not in the default org: 403 there).
    expectError(await http(flagOff, 'GET', '/api/org', { cookie: carol.cookie }), 403, 'ORG_ACCESS_DENIED');
    // Back on: nothing was lost.
    expect((await http(licensed, 'GET', '/api/org', { cookie: carol.cookie })).body.id).toBe(other.id);
    // The landing org is the first one created.
    const me = await http(licensed, 'GET', '/api/auth/me', { cookie: carol.cookie });
    expect(me.body.activeOrg.id).toBe(other.id);
    expect(me.body.memberships).toHaveLength(2);
    expect(org.id).not.toBe(other.id);
  });

  it('falls back to the landing org when the switched-to org is no longer reachable', async () => {
    const dave = await signUp(licensed, 'Dave');
    const home = await createOrgAs(licensed, dave, 'Dave Home');
    const away = await createOrgAs(licensed, alice, 'Alice Away');
    await addMember(licensed, alice, away.id, dave, 'viewer');
    await http(licensed, 'POST', `/api/orgs/${away.id}/switch`, { cookie: dave.cookie });
    expect((await http(licensed, 'GET', '/api/org', { cookie: dave.cookie })).body.id).toBe(away.id);

    const removed = await http(licensed, 'DELETE', `/api/orgs/${away.id}/members/${dave.id}`, { cookie: alice.cookie });
    expect(removed.status).toBe(200);
    const res = await http(licensed, 'GET', '/api/org', { cookie: dave.cookie });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(home.id);
  });
});
