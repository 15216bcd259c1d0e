import { existsSync } from 'node:fs';
import { orgControlChannel, orgFilesPath } from '@tenantry/core';
import { findOrgById } from '@tenantry/db';
import type { TestDatabase } from '@tenantry/db/testing';
import { ORG_DELETION_QUEUE, orgDeletionJobId } from '@tenantry/worker';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, createOrgAs, http, multiTenantEnv, openTestDatabase, signUp, type TestUser } from './harness.js';
import { eventually, type Stack, startStack, subscribe, waitForDeletion } from './tenant-ops-harness.js';

// Deleting an organization over REST: who may, the grace period and restoring, the job that
// the worker runs, following it, and the logo file it sweeps.

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

let tdb: TestDatabase;
let stack: Stack;
let app: FastifyInstance;
let root: TestUser;
let owner: TestUser;
let admin: TestUser;

/** An org of `owner` that is not where `owner` works (their current org stays elsewhere). */
async function sideOrg(name: string, slug: string): Promise<{ id: string; slug: string }> {
  const org = await createOrgAs(app, owner, name, slug);
  return org;
}

beforeAll(async () => {
  tdb = await openTestDatabase('postgresql');
  stack = await startStack(tdb.db, await multiTenantEnv(), { worker: true });
  app = stack.app;
  root = await signUp(app, 'Root');
  owner = await signUp(app, 'Owner');
  admin = await signUp(app, 'Admin');
  // The owner's first org becomes their landing org: their current org.
  await createOrgAs(app, owner, 'Home Base', 'home-base');
});

afterAll(async () => {
  await stack?.close();
  await tdb?.drop();
});

describe('an owner deleting an organization', () => {
  it('is refused for the default org, the admin tenancy and the org they are in, and to non-owners', async () => {
    const home = await http(app, 'DELETE', '/api/orgs/home-base', {
      cookie: owner.cookie,
      body: { confirm: 'home-base' },
    });
    expect(home.status).toBe(409);
    expect(home.body.code).toBe('CURRENT_ORG_PROTECTED');
    const def = await http(app, 'DELETE', '/api/orgs/default', { cookie: root.cookie, body: { confirm: 'default' } });
    expect(def.body.code).toBe('DEFAULT_ORG_PROTECTED');

    const hq = await createOrgAs(app, owner, 'Owner HQ', 'owner-hq');
    await http(app, 'POST', `/api/admin/tenants/${hq.id}/admin-tenancy`, { cookie: root.cookie });
    const tenancy = await http(app, 'DELETE', `/api/orgs/${hq.id}`, {
      cookie: owner.cookie,
      body: { confirm: 'owner-hq' },
    });
    expect(tenancy.status).toBe(409);
    expect(tenancy.body.code).toBe('ADMIN_TENANCY_PROTECTED');
    await http(app, 'POST', '/api/admin/tenants/default/admin-tenancy', { cookie: root.cookie });

    const side = await sideOrg('Side', 'side');
    await addMember(app, owner, side.id, admin, 'admin');
    const byAdmin = await http(app, 'DELETE', `/api/orgs/${side.id}`, {
      cookie: admin.cookie,
      body: { confirm: 'side' },
    });
    expect(byAdmin.status).toBe(403);
    expect(byAdmin.body.code).toBe('PERMISSION_DENIED');
    const typo = await http(app, 'DELETE', `/api/orgs/${side.id}`, { cookie: owner.cookie, body: { confirm: 'sid' } });
    expect(typo.status).toBe(400);
    expect(typo.body.code).toBe('CONFIRMATION_MISMATCH');
    expect((await tdb.db.platform({}, (em) => findOrgById(em, side.id)))?.status).toBe('active');
  });

  it('answers 202 with the deletion, which the worker runs to a report the owner can read', async () => {
    const doomed = await sideOrg('Doomed', 'doomed');
    const logo = await http(app, 'PUT', `/api/orgs/${doomed.id}/logo`, {
      cookie: owner.cookie,
      body: { contentType: 'image/png', data: PNG.toString('base64') },
    });
    expect(logo.status).toBe(200);
    const served = await app.inject({
      method: 'GET',
      url: `/api/orgs/${doomed.id}/logo`,
      headers: { cookie: owner.cookie },
    });
    expect(served.statusCode).toBe(200);
    expect(served.headers['content-type']).toBe('image/png');
    expect(served.rawPayload.equals(PNG)).toBe(true);
    expect(existsSync(orgFilesPath(stack.dataDir, doomed.id, 'logo'))).toBe(true);

    const control = await subscribe(orgControlChannel(doomed.id));
    const res = await http(app, 'DELETE', `/api/orgs/${doomed.id}`, {
      cookie: owner.cookie,
      body: { confirm: 'doomed' },
    });
    expect(res.status).toBe(202);
    expect(res.body.deletionId).toMatch(/^[0-9a-f-]{36}$/);
    try {
      await eventually(() => control.messages.includes(JSON.stringify({ type: 'deleted' })));
    } finally {
      control.close();
    }

    const done = await waitForDeletion(app, owner.cookie, res.body.deletionId, { admin: false });
    expect(done).toMatchObject({ status: 'completed', orgSlug: 'doomed', fraction: 1 });
    expect(done.report).toMatchObject({ filesDeleted: 1, usersDeleted: 0, usersRepointed: 0 });
    // The owner, and the shadow membership of the admin tenancy's owner (default is the admin tenancy now).
    expect(done.report!.rowsDeleted.memberships).toBe(2);
    expect(existsSync(orgFilesPath(stack.dataDir, doomed.id))).toBe(false);
    expect((await http(app, 'GET', `/api/orgs/${doomed.id}`, { cookie: owner.cookie })).status).toBe(403);

    // The platform admin reads it too; nobody else does.
    const asAdmin = await http(app, 'GET', `/api/admin/deletions/${res.body.deletionId}`, { cookie: root.cookie });
    expect(asAdmin.body.status).toBe('completed');
    const asOther = await http(app, 'GET', `/api/deletions/${res.body.deletionId}`, { cookie: admin.cookie });
    expect(asOther.status).toBe(404);
    expect(asOther.body.code).toBe('DELETION_NOT_FOUND');
  });

  it('refuses a logo that is not the image it claims to be', async () => {
    const res = await http(app, 'PUT', '/api/orgs/side/logo', {
      cookie: owner.cookie,
      body: { contentType: 'image/png', data: Buffer.from('<svg/>').toString('base64') },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('LOGO_INVALID');
    const none = await http(app, 'GET', '/api/orgs/side/logo', { cookie: owner.cookie });
    expect(none.status).toBe(404);
  });
});

describe('a platform admin deleting a tenant from Admin → Tenants', () => {
  it('deletes it and shows it gone from the list, with the report', async () => {
    const tenant = await http(app, 'POST', '/api/admin/tenants', {
      cookie: root.cookie,
      body: { name: 'Gone', slug: 'gone' },
    });
    const res = await http(app, 'DELETE', `/api/admin/tenants/${tenant.body.id}`, {
      cookie: root.cookie,
      body: { confirm: 'gone' },
    });
    expect(res.status).toBe(202);
    const done = await waitForDeletion(app, root.cookie, res.body.deletionId);
    expect(done.report!.rowsDeleted).toMatchObject({ memberships: 1 });
    expect(done.report!.rowsDeleted.audit_events).toBeGreaterThanOrEqual(2);
    const list = await http(app, 'GET', '/api/admin/tenants', { cookie: root.cookie });
    expect(list.body.tenants.map((t: { slug: string }) => t.slug)).not.toContain('gone');
  });

  it('is refused for the tenant the admin is in', async () => {
    const res = await http(app, 'DELETE', '/api/admin/tenants/default', {
      cookie: root.cookie,
      body: { confirm: 'default' },
    });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('DEFAULT_ORG_PROTECTED');
  });
});

describe('with a grace period', () => {
  let graceful: Stack;
  let deletions: Queue;

  beforeAll(async () => {
    graceful = await startStack(tdb.db, { ...(await multiTenantEnv()), DELETION_GRACE: '1h' });
    deletions = new Queue(ORG_DELETION_QUEUE, { connection: graceful.redis, prefix: graceful.prefix });
  });
  afterAll(async () => {
    await deletions?.obliterate({ force: true });
    await deletions?.close();
    await graceful?.close();
  });

  it('keeps the org waiting in pending_deletion, closed to its data, until an owner restores it', async () => {
    const org = await createOrgAs(graceful.app, owner, 'Second Thoughts', 'second-thoughts');
    const res = await http(graceful.app, 'DELETE', `/api/orgs/${org.id}`, {
      cookie: owner.cookie,
      body: { confirm: 'second-thoughts' },
    });
    expect(res.status).toBe(202);
    expect(new Date(res.body.runAfter).getTime()).toBeGreaterThan(Date.now() + 3_500_000);
    const job = await deletions.getJob(orgDeletionJobId(res.body.deletionId));
    expect(await job?.getState()).toBe('delayed');

    const detail = await http(graceful.app, 'GET', `/api/orgs/${org.id}`, { cookie: owner.cookie });
    expect(detail.body.status).toBe('pending_deletion');
    const data = await http(graceful.app, 'GET', `/api/orgs/${org.id}/members`, { cookie: owner.cookie });
    expect(data.status).toBe(403);
    expect(data.body.code).toBe('ORG_DELETION_PENDING');
    const twice = await http(graceful.app, 'DELETE', `/api/admin/tenants/${org.id}`, {
      cookie: root.cookie,
      body: { confirm: 'second-thoughts' },
    });
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('ORG_DELETION_IN_PROGRESS');

    const stranger = await http(graceful.app, 'POST', `/api/orgs/${org.id}/restore`, { cookie: admin.cookie });
    expect(stranger.status).toBe(403);
    const restored = await http(graceful.app, 'POST', `/api/orgs/${org.id}/restore`, { cookie: owner.cookie });
    expect(restored.status).toBe(200);
    expect(restored.body).toEqual({ ok: true, status: 'active' });
    expect(await deletions.getJob(orgDeletionJobId(res.body.deletionId))).toBeUndefined();
    expect((await http(graceful.app, 'GET', `/api/orgs/${org.id}/members`, { cookie: owner.cookie })).status).toBe(200);
    const again = await http(graceful.app, 'POST', `/api/orgs/${org.id}/restore`, { cookie: owner.cookie });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('ORG_NOT_RESTORABLE');
    const followed = await http(graceful.app, 'GET', `/api/deletions/${res.body.deletionId}`, { cookie: owner.cookie });
    expect(followed.body.status).toBe('cancelled');
  });

  it('lets a platform admin restore a suspended tenant, which stays suspended', async () => {
    const org = await createOrgAs(graceful.app, owner, 'On Hold', 'on-hold');
    await http(graceful.app, 'POST', `/api/admin/tenants/${org.id}/suspend`, { cookie: root.cookie });
    const res = await http(graceful.app, 'DELETE', `/api/admin/tenants/${org.id}`, {
      cookie: root.cookie,
      body: { confirm: 'on-hold' },
    });
    expect(res.status).toBe(202);
    const restored = await http(graceful.app, 'POST', `/api/orgs/${org.id}/restore`, { cookie: root.cookie });
    expect(restored.body).toEqual({ ok: true, status: 'suspended' });
  });
});
