import { issueLicense, orgControlChannel } from '@tenantry/core';
import { listAuditEvents } from '@tenantry/db';
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
  testLicenses,
} from './harness.js';
import { eventually, type Stack, startStack, subscribe } from './tenant-ops-harness.js';

// Admin → Tenants over REST: the platform admin's view of every tenant, the admin tenancy and
// its shadow memberships, per-tenant features, suspension, and plans and limits.

let tdb: TestDatabase;
let stack: Stack;
let app: FastifyInstance;
let root: TestUser; // superadmin, owner of default and of the MSP's own org
let alice: TestUser; // a customer: owner of Before Co and After Co
let staff: TestUser; // the MSP's staff, owner in the MSP org
let msp: { id: string; slug: string };
let before: { id: string; slug: string };
let after: { id: string; slug: string };

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function operatorActions(
  orgId: string,
): Promise<{ action: string; actorType: string; actorId: string | null }[]> {
  const page = await tdb.db.tenant({ orgId }, (em) => listAuditEvents(em, orgId, { actorType: 'operator' }));
  return page.events.map((e) => ({ action: e.action, actorType: e.actorType, actorId: e.actorId }));
}

beforeAll(async () => {
  tdb = await openTestDatabase('postgresql');
  stack = await startStack(tdb.db, await multiTenantEnv());
  app = stack.app;
  root = await signUp(app, 'Root');
  alice = await signUp(app, 'Alice');
  staff = await signUp(app, 'Staff');
  before = await createOrgAs(app, alice, 'Before Co', 'before-co');
  msp = await createOrgAs(app, root, 'MSP HQ', 'msp-hq');
  await addMember(app, root, msp.id, staff, 'owner');
  const made = await http(app, 'POST', `/api/admin/tenants/${msp.slug}/admin-tenancy`, { cookie: root.cookie });
  expect(made.status).toBe(200);
  expect(made.body).toMatchObject({ id: msp.id, isAdminTenancy: true });
  after = await createOrgAs(app, alice, 'After Co', 'after-co');
});

afterAll(async () => {
  await stack?.close();
  await tdb?.drop();
});

describe('Admin → Tenants', () => {
  it('lists every tenant with its counts and badges, for platform administrators only', async () => {
    const res = await http(app, 'GET', '/api/admin/tenants', { cookie: root.cookie });
    expect(res.status).toBe(200);
    const bySlug = Object.fromEntries(res.body.tenants.map((t: { slug: string }) => [t.slug, t]));
    expect(Object.keys(bySlug).sort()).toEqual(['after-co', 'before-co', 'default', 'msp-hq']);
    expect(bySlug.default).toMatchObject({ isDefault: true, isCurrent: true, members: 1, status: 'active' });
    expect(bySlug['msp-hq']).toMatchObject({ isAdminTenancy: true, isCurrent: false, members: 2, agents: 0 });
    expect(bySlug['after-co']).toMatchObject({ name: 'After Co', members: 1, tier: 'free' });
    expect(bySlug['after-co'].createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(res.body).toMatchObject({ inUse: 3, maxTenants: null, multiTenantEnabled: true, licensed: true });

    const denied = await http(app, 'GET', '/api/admin/tenants', { cookie: alice.cookie });
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe('SUPERADMIN_REQUIRED');
  });

  it('creates a tenant inline from a name and a slug, refusing a taken or malformed slug', async () => {
    const res = await http(app, 'POST', '/api/admin/tenants', {
      cookie: root.cookie,
      body: { name: 'Acme', slug: 'acme' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ slug: 'acme', name: 'Acme', status: 'active', members: 1 });
    // A new tenant inherits every licensed feature.
    expect(res.body.modules).toEqual(['agents', 'alerts', 'audit', 'api_tokens', 'sharing']);
    expect(await operatorActions(res.body.id)).toEqual([
      { action: 'org.created', actorType: 'operator', actorId: root.id },
    ]);

    const taken = await http(app, 'POST', '/api/admin/tenants', {
      cookie: root.cookie,
      body: { name: 'X', slug: 'acme' },
    });
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe('SLUG_TAKEN');
    const bad = await http(app, 'POST', '/api/admin/tenants', {
      cookie: root.cookie,
      body: { name: 'X', slug: 'Bad Slug' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    const unknown = await http(app, 'POST', '/api/admin/tenants/nope-nope/suspend', { cookie: root.cookie });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('ORG_NOT_FOUND');
  });
});

describe('shadow memberships of the admin tenancy', () => {
  it('are granted in orgs created after the admin tenancy was set, and only there', async () => {
    const orgs = await http(app, 'GET', '/api/orgs', { cookie: staff.cookie });
    const slugs = orgs.body.orgs.map((o: { slug: string }) => o.slug);
    expect(slugs).toContain('after-co');
    expect(slugs).not.toContain('before-co');
  });

  it('appear in the switcher, marked shadow, with the admin-tenancy role capped at admin', async () => {
    const me = await http(app, 'GET', '/api/auth/me', { cookie: staff.cookie });
    expect(me.body.memberships).toEqual(
      expect.arrayContaining([expect.objectContaining({ slug: 'after-co', isShadow: true, role: 'admin' })]),
    );
  });

  it('are absent from the member list and from member counts and limits', async () => {
    const members = await http(app, 'GET', `/api/orgs/${after.id}/members`, { cookie: alice.cookie });
    expect(members.body.members.map((m: { email: string }) => m.email)).toEqual([alice.email]);
    const usage = await http(app, 'GET', `/api/orgs/${after.id}/usage`, { cookie: alice.cookie });
    expect(usage.body.members).toMatchObject({ used: 1, limit: 3 });
    // Free tier, 3 members: two shadows (root, staff) would fill it if they counted.
    await addMember(app, alice, after.id, await signUp(app, 'Cust One'), 'viewer');
    await addMember(app, alice, after.id, await signUp(app, 'Cust Two'), 'viewer');
    const full = await http(app, 'POST', `/api/orgs/${after.id}/members`, {
      cookie: alice.cookie,
      body: { userId: (await signUp(app, 'Cust Three')).id, role: 'viewer' },
    });
    expect(full.status).toBe(403);
    expect(full.body.code).toBe('LIMIT_REACHED');
  });

  it('let the operator switch in and work, audited there as operator actions', async () => {
    const switched = await http(app, 'POST', `/api/orgs/${after.id}/switch`, { cookie: staff.cookie });
    expect(switched.status).toBe(200);
    const current = await http(app, 'GET', '/api/org', { cookie: staff.cookie });
    expect(current.body).toMatchObject({ id: after.id, role: 'admin' });
    const edited = await http(app, 'PATCH', `/api/orgs/${after.id}`, {
      cookie: staff.cookie,
      body: { description: 'Managed by the MSP' },
    });
    expect(edited.status).toBe(200);
    expect(await operatorActions(after.id)).toEqual(
      expect.arrayContaining([{ action: 'org.updated', actorType: 'operator', actorId: staff.id }]),
    );
  });
});

describe('per-tenant features', () => {
  it('turn a module off for one org (hidden, 403 FEATURE_DISABLED) and back on, without deleting data', async () => {
    const created = await http(app, 'POST', '/api/tokens', {
      cookie: alice.cookie,
      body: { name: 'before trimming', orgIds: [after.id] },
    });
    expect(created.status).toBe(200);

    const trimmed = await http(app, 'PUT', `/api/admin/tenants/${after.id}/features`, {
      cookie: root.cookie,
      body: { features: { alerts: false, api_tokens: false } },
    });
    expect(trimmed.status).toBe(200);
    expect(trimmed.body.modules).toEqual(['agents', 'audit', 'sharing']);
    const current = await http(app, 'GET', '/api/org', { cookie: alice.cookie, headers: { 'x-org-id': after.id } });
    expect(current.body.modules).toEqual(['agents', 'audit', 'sharing']);
    const tokens = await http(app, 'GET', '/api/tokens', { cookie: alice.cookie, headers: { 'x-org-id': after.id } });
    expect(tokens.status).toBe(403);
    expect(tokens.body.code).toBe('FEATURE_DISABLED');
    // Other orgs keep the module.
    const elsewhere = await http(app, 'GET', '/api/tokens', {
      cookie: alice.cookie,
      headers: { 'x-org-id': before.id },
    });
    expect(elsewhere.status).toBe(200);

    const restored = await http(app, 'PUT', `/api/admin/tenants/${after.id}/features`, {
      cookie: root.cookie,
      body: { features: {} },
    });
    expect(restored.body.modules).toEqual(['agents', 'alerts', 'audit', 'api_tokens', 'sharing']);
    const again = await http(app, 'GET', '/api/tokens', { cookie: alice.cookie, headers: { 'x-org-id': after.id } });
    expect(again.status).toBe(200);
    expect(again.body.tokens.map((t: { name: string }) => t.name)).toContain('before trimming');
    expect((await operatorActions(after.id)).filter((a) => a.action === 'org.features_changed')).toHaveLength(2);
  });

  it('are bounded by the license: a module it lacks cannot be turned on', async () => {
    const lic = await testLicenses();
    const narrow = await issueLicense(
      {
        licensee: 'Narrow MSP',
        tier: 'enterprise',
        features: ['multi_tenant'],
        expiresAt: new Date(Date.now() + 86_400_000),
      },
      lic.privateKeyPem,
    );
    const other = await startStack(tdb.db, { ...(await multiTenantEnv(false)), LICENSE_KEY: narrow });
    try {
      const refused = await http(other.app, 'PUT', `/api/admin/tenants/${after.id}/features`, {
        cookie: root.cookie,
        body: { features: { sharing: true } },
      });
      expect(refused.status).toBe(400);
      expect(refused.body.code).toBe('FEATURE_NOT_LICENSED');
      const list = await http(other.app, 'GET', '/api/admin/tenants', { cookie: root.cookie });
      const tenant = list.body.tenants.find((t: { id: string }) => t.id === after.id);
      expect(tenant.modules).not.toContain('sharing');
      expect(tenant.features).toContainEqual({ module: 'sharing', available: false, enabled: false });
    } finally {
      await other.close();
    }
    const unknown = await http(app, 'PUT', `/api/admin/tenants/${after.id}/features`, {
      cookie: root.cookie,
      body: { features: { billing: false } },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe('VALIDATION_FAILED');
  });
});

describe('suspending a tenant', () => {
  let token: string;

  beforeAll(async () => {
    const created = await http(app, 'POST', '/api/tokens', {
      cookie: alice.cookie,
      body: { name: 'monitoring', orgIds: [before.id] },
    });
    token = created.body.token;
    expect((await http(app, 'GET', '/api/org', { headers: { ...bearer(token), 'x-org-id': before.id } })).status).toBe(
      200,
    );
  });

  it('hides every module, answers ORG_SUSPENDED for its data and cuts its tokens and live connections', async () => {
    const control = await subscribe(orgControlChannel(before.id));
    try {
      const res = await http(app, 'POST', `/api/admin/tenants/${before.id}/suspend`, { cookie: root.cookie });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'suspended', modules: [] });
      expect(res.body.suspendedAt).toEqual(expect.any(String));
      await eventually(() => control.messages.length > 0);
      expect(control.messages.map((m) => JSON.parse(m))).toEqual([{ type: 'suspended' }]);
    } finally {
      control.close();
    }
    // Members still sign in and see why.
    const login = await http(app, 'POST', '/api/auth/login', {
      body: { email: alice.email, password: 'correct horse battery' },
    });
    expect(login.status).toBe(200);
    const current = await http(app, 'GET', '/api/org', { cookie: alice.cookie, headers: { 'x-org-id': before.id } });
    expect(current.body).toMatchObject({ status: 'suspended', modules: [] });
    const members = await http(app, 'GET', `/api/orgs/${before.id}/members`, { cookie: alice.cookie });
    expect(members.status).toBe(403);
    expect(members.body.code).toBe('ORG_SUSPENDED');
    // API tokens stop at once, even where members may still look.
    for (const path of ['/api/org', '/api/tokens']) {
      const viaToken = await http(app, 'GET', path, { headers: { ...bearer(token), 'x-org-id': before.id } });
      expect(viaToken.status).toBe(403);
      expect(viaToken.body.code).toBe('ORG_SUSPENDED');
    }
    expect(await operatorActions(before.id)).toContainEqual({
      action: 'org.suspended',
      actorType: 'operator',
      actorId: root.id,
    });
  });

  it('resumes with everything restored', async () => {
    const control = await subscribe(orgControlChannel(before.id));
    try {
      const res = await http(app, 'POST', `/api/admin/tenants/${before.id}/resume`, { cookie: root.cookie });
      expect(res.body).toMatchObject({ status: 'active', suspendedAt: null });
      expect(res.body.modules).toContain('api_tokens');
      await eventually(() => control.messages.length > 0);
      expect(JSON.parse(control.messages[0]!)).toEqual({ type: 'resumed' });
    } finally {
      control.close();
    }
    expect((await http(app, 'GET', `/api/orgs/${before.id}/members`, { cookie: alice.cookie })).status).toBe(200);
    expect((await http(app, 'GET', '/api/org', { headers: { ...bearer(token), 'x-org-id': before.id } })).status).toBe(
      200,
    );
  });

  it('is refused for the default org and the admin tenancy', async () => {
    const def = await http(app, 'POST', '/api/admin/tenants/default/suspend', { cookie: root.cookie });
    expect(def.status).toBe(409);
    expect(def.body.code).toBe('DEFAULT_ORG_PROTECTED');
    const adminTenancy = await http(app, 'POST', `/api/admin/tenants/${msp.id}/suspend`, { cookie: root.cookie });
    expect(adminTenancy.status).toBe(409);
    expect(adminTenancy.body.code).toBe('ADMIN_TENANCY_PROTECTED');
  });
});

describe('plans and limits', () => {
  it('override a tier default per org, enforce it, and fall back to the tier with null', async () => {
    const set = await http(app, 'PATCH', `/api/admin/tenants/${before.id}/limits`, {
      cookie: root.cookie,
      body: { maxMembers: 2, maxAgents: 5 },
    });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({
      limits: { maxMembers: 2, maxAgents: 5 },
      overrides: { maxMembers: 2, maxAgents: 5, requestsPerMinute: null },
    });
    await addMember(app, alice, before.id, await signUp(app, 'Second'), 'viewer');
    const third = await http(app, 'POST', `/api/orgs/${before.id}/members`, {
      cookie: alice.cookie,
      body: { userId: (await signUp(app, 'Third')).id, role: 'viewer' },
    });
    expect(third.status).toBe(403);
    expect(third.body.code).toBe('LIMIT_REACHED');
    const usage = await http(app, 'GET', `/api/orgs/${before.id}/usage`, { cookie: alice.cookie });
    expect(usage.body).toMatchObject({
      tier: 'free',
      members: { used: 2, limit: 2, atLimit: true },
      agents: { used: 0, limit: 5 },
      pendingInvitations: 0,
      resources: 0,
      license: { licensee: 'Test MSP', tier: 'enterprise' },
    });

    const pro = await http(app, 'PATCH', `/api/admin/tenants/${before.id}/limits`, {
      cookie: root.cookie,
      body: { tier: 'pro', maxMembers: null, maxAgents: null, requestsPerMinute: 100_000 },
    });
    expect(pro.body).toMatchObject({
      tier: 'pro',
      limits: { maxMembers: 25, maxAgents: 20, requestsPerMinute: 100_000 },
    });
    expect(await operatorActions(before.id)).toContainEqual({
      action: 'org.limits_changed',
      actorType: 'operator',
      actorId: root.id,
    });
  });

  it('refuse bad values with 400, and the usage panel to members without usage.read', async () => {
    for (const body of [{ maxMembers: -1 }, { requestsPerMinute: 0 }, { tier: 'gold' }, { maxAgents: 'many' }]) {
      const res = await http(app, 'PATCH', `/api/admin/tenants/${before.id}/limits`, { cookie: root.cookie, body });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    }
    const viewer = await signUp(app, 'Viewer');
    await http(app, 'PATCH', `/api/admin/tenants/${before.id}/limits`, {
      cookie: root.cookie,
      body: { maxMembers: null },
    });
    await addMember(app, alice, before.id, viewer, 'viewer');
    const res = await http(app, 'GET', `/api/orgs/${before.id}/usage`, { cookie: viewer.cookie });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('PERMISSION_DENIED');
  });
});
