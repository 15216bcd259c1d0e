import { countOrgRows, listTenantTables } from '@tenantry/db';
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

// The operations runbook, sections 2–3 (seed 002): the kill switch. One database, the server
// started three times: multi-tenant on, then MULTI_TENANT_ENABLED=false and a restart, then
// the flag back on and another restart.

let tdb: TestDatabase;
let app: FastifyInstance | null = null;
let root: TestUser;
let alice: TestUser;
let bob: TestUser;
let acme: { id: string; slug: string };
let token: string;
let before: Record<string, Record<string, number>>;

async function restart(overrides: Record<string, string>): Promise<FastifyInstance> {
  await app?.close();
  app = await testApp(tdb.db, overrides);
  return app;
}

/** Rows of each org in every tenant table, read through the catalog in each org's scope. */
async function rowsPerOrg(orgIds: string[]): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (const orgId of orgIds) {
    out[orgId] = await tdb.db.tenant({ orgId }, async (em) => {
      const counts: Record<string, number> = {};
      for (const t of (await listTenantTables(em)).tables) counts[t.table] = await countOrgRows(em, t.table, orgId);
      return counts;
    });
  }
  return out;
}

beforeAll(async () => {
  tdb = await openTestDatabase('postgresql');
  const on = await restart(await multiTenantEnv());
  root = await signUp(on, 'Root');
  alice = await signUp(on, 'Alice');
  bob = await signUp(on, 'Bob');
  acme = await createOrgAs(on, alice, 'Acme', 'acme');
  await addMember(on, alice, acme.id, bob, 'editor');
  await http(on, 'POST', `/api/orgs/${acme.id}/switch`, { cookie: alice.cookie });
  token = (await http(on, 'POST', '/api/tokens', { cookie: alice.cookie, body: { name: 'ops', orgIds: [acme.id] } }))
    .body.token;
  await http(on, 'PATCH', '/api/orgs/default', { cookie: root.cookie, body: { description: 'Existing configs' } });
  before = await rowsPerOrg([acme.id]);
  expect(before[acme.id]?.memberships).toBe(2);
});

afterAll(async () => {
  await app?.close();
  await tdb?.drop();
});

describe('the kill switch: MULTI_TENANT_ENABLED=false and a restart', () => {
  let off: FastifyInstance;
  const statuses: number[] = [];

  beforeAll(async () => {
    off = await restart({ ...(await multiTenantEnv()), MULTI_TENANT_ENABLED: 'false' });
  });

  it('answers 501 on every /api/orgs/* path naming a non-default org, and on the org collection', async () => {
    const body = { confirm: 'acme', name: 'x', role: 'viewer', email: 'x@example.com', userId: bob.id };
    const calls: [string, string][] = [
      ['GET', '/api/orgs'],
      ['POST', '/api/orgs'],
      ['GET', `/api/orgs/${acme.id}`],
      ['GET', '/api/orgs/acme'],
      ['PATCH', `/api/orgs/${acme.id}`],
      ['DELETE', `/api/orgs/${acme.id}`],
      ['POST', `/api/orgs/${acme.id}/switch`],
      ['POST', `/api/orgs/${acme.id}/leave`],
      ['POST', `/api/orgs/${acme.id}/restore`],
      ['GET', `/api/orgs/${acme.id}/members`],
      ['POST', `/api/orgs/${acme.id}/members`],
      ['PATCH', `/api/orgs/${acme.id}/members/${bob.id}`],
      ['DELETE', `/api/orgs/${acme.id}/members/${bob.id}`],
      ['GET', `/api/orgs/${acme.id}/invitations`],
      ['GET', `/api/orgs/${acme.id}/usage`],
      ['GET', `/api/orgs/${acme.id}/logo`],
      ['POST', `/api/orgs/${acme.id}/transfer-ownership`],
    ];
    for (const [method, url] of calls) {
      const res = await http(off, method, url, { cookie: alice.cookie, body: method === 'GET' ? undefined : body });
      statuses.push(res.status);
      expect([method, url, res.status, res.body.code]).toEqual([method, url, 501, 'MULTI_TENANT_DISABLED']);
      expect(res.body.message).toBe('Multi-tenant is not enabled on this server');
    }
  });

  it('answers 501 to requests aimed at a non-default org by header or token, and to admin actions on it', async () => {
    const aimed: Record<string, string>[] = [
      { 'x-org-id': acme.id },
      { authorization: `Bearer ${token}`, 'x-org-id': acme.slug },
    ];
    for (const headers of aimed) {
      const res = await http(off, 'GET', '/api/org', { cookie: alice.cookie, headers });
      statuses.push(res.status);
      expect(res.status).toBe(501);
    }
    const suspend = await http(off, 'POST', `/api/admin/tenants/${acme.id}/suspend`, { cookie: root.cookie });
    statuses.push(suspend.status);
    expect(suspend.status).toBe(501);
  });

  it('keeps the default org working normally, and tells the web app to hide org UI', async () => {
    const config = await http(off, 'GET', '/api/config');
    expect(config.body.multiTenantEnabled).toBe(false);
    const org = await http(off, 'GET', '/api/org', { cookie: root.cookie });
    expect(org.body).toMatchObject({ slug: 'default', description: 'Existing configs' });
    const members = await http(off, 'GET', '/api/orgs/default/members', { cookie: root.cookie });
    expect(members.status).toBe(200);
    const edit = await http(off, 'PATCH', '/api/orgs/default', {
      cookie: root.cookie,
      body: { description: 'Still here' },
    });
    expect(edit.status).toBe(200);
    await http(off, 'PATCH', '/api/orgs/default', { cookie: root.cookie, body: { description: 'Existing configs' } });
    // A browser whose session points at acme falls back to the default org instead of failing.
    const me = await http(off, 'GET', '/api/auth/me', { cookie: alice.cookie });
    expect(me.status).toBe(200);
    expect(me.body.activeOrg).toBeNull();
  });

  it('deletes and changes nothing, and never answers 500', async () => {
    expect(statuses.every((s) => s < 500 || s === 501)).toBe(true);
    expect(await rowsPerOrg([acme.id])).toEqual(before);
  });
});

describe('turning the flag back on and restarting', () => {
  it('brings every org, member and token back as it was', async () => {
    const on = await restart(await multiTenantEnv());
    const orgs = await http(on, 'GET', '/api/orgs', { cookie: alice.cookie });
    expect(orgs.body.orgs.map((o: { slug: string }) => o.slug)).toContain('acme');
    const members = await http(on, 'GET', `/api/orgs/${acme.id}/members`, { cookie: alice.cookie });
    expect(members.body.members.map((m: { email: string }) => m.email).sort()).toEqual([alice.email, bob.email].sort());
    const viaToken = await http(on, 'GET', '/api/org', {
      headers: { authorization: `Bearer ${token}`, 'x-org-id': acme.id },
    });
    expect(viaToken.body).toMatchObject({ slug: 'acme' });
    expect(await rowsPerOrg([acme.id])).toEqual(before);
  });
});
