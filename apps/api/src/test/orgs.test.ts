import { setAdminTenancy } from '@tenantry/db';
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

// SPEC §2–3 through the REST paths of docs/architecture.md, on a licensed multi-tenant server.

let tdb: TestDatabase;
let app: FastifyInstance;
let superadmin: TestUser;

beforeAll(async () => {
  tdb = await openTestDatabase('postgresql');
  app = await testApp(tdb.db, await multiTenantEnv());
  superadmin = await signUp(app, 'Root');
});

afterAll(async () => {
  await app?.close();
  await tdb?.drop();
});

const members = async (user: TestUser, orgId: string) => {
  const res = await http(app, 'GET', `/api/orgs/${orgId}/members`, { cookie: user.cookie });
  expect(res.status).toBe(200);
  return res.body.members as { userId: string; role: string; email: string }[];
};

const roleOf = async (viewer: TestUser, orgId: string, userId: string) =>
  (await members(viewer, orgId)).find((m) => m.userId === userId)?.role;

describe('creating an organization', () => {
  it('makes the creator its owner and answers its detail', async () => {
    const owner = await signUp(app, 'Creator');
    const res = await http(app, 'POST', '/api/orgs', {
      cookie: owner.cookie,
      body: { name: 'Production Datacenter', description: 'Racks 1-4' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      slug: 'production-datacenter',
      name: 'Production Datacenter',
      description: 'Racks 1-4',
      role: 'owner',
      isDefault: false,
      status: 'active',
      createdById: owner.id,
    });
    expect(await members(owner, res.body.id)).toEqual([
      expect.objectContaining({ userId: owner.id, role: 'owner', email: owner.email }),
    ]);
    const list = await http(app, 'GET', '/api/orgs', { cookie: owner.cookie });
    expect(list.body.orgs).toEqual([expect.objectContaining({ id: res.body.id, role: 'owner', isShadow: false })]);
  });

  it('refuses a taken slug with 409 SLUG_TAKEN, the default one included', async () => {
    const owner = await signUp(app, 'Dup');
    await createOrgAs(app, owner, 'Taken', 'taken-slug');
    for (const slug of ['taken-slug', 'default']) {
      const res = await http(app, 'POST', '/api/orgs', { cookie: owner.cookie, body: { name: 'Again', slug } });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('SLUG_TAKEN');
    }
  });

  it('derives a free slug from the name when none is given', async () => {
    const owner = await signUp(app, 'Derive');
    const first = await createOrgAs(app, owner, 'Same Name Inc');
    const second = await createOrgAs(app, owner, 'Same Name Inc');
    expect(first.slug).toBe('same-name-inc');
    expect(second.slug).toBe('same-name-inc-2');
  });

  it('refuses slugs that break the rules with 400', async () => {
    const owner = await signUp(app, 'Rules');
    for (const slug of ['A', 'UPPER', 'under_score', '-dash', 'x'.repeat(49)]) {
      const res = await http(app, 'POST', '/api/orgs', { cookie: owner.cookie, body: { name: 'Bad', slug } });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    }
  });

  it('is reserved to superadmins with ORG_CREATION=superadmin', async () => {
    const restricted = await testApp(tdb.db, { ...(await multiTenantEnv()), ORG_CREATION: 'superadmin' });
    try {
      const user = await signUp(restricted, 'Plain');
      const refused = await http(restricted, 'POST', '/api/orgs', { cookie: user.cookie, body: { name: 'Mine' } });
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('ORG_CREATION_RESTRICTED');
      const allowed = await http(restricted, 'POST', '/api/orgs', {
        cookie: superadmin.cookie,
        body: { name: 'Admin Made' },
      });
      expect(allowed.status).toBe(201);
    } finally {
      await restricted.close();
    }
  });
});

describe('the default organization', () => {
  it('cannot be renamed, but its description can change', async () => {
    const renamed = await http(app, 'PATCH', '/api/orgs/default', {
      cookie: superadmin.cookie,
      body: { name: 'Other' },
    });
    expect(renamed.status).toBe(409);
    expect(renamed.body.code).toBe('DEFAULT_ORG_PROTECTED');
    const described = await http(app, 'PATCH', '/api/orgs/default', {
      cookie: superadmin.cookie,
      body: { description: 'Our own infrastructure' },
    });
    expect(described.status).toBe(200);
    expect(described.body).toMatchObject({ name: 'Default', description: 'Our own infrastructure' });
  });

  it('cannot be deleted', async () => {
    const res = await http(app, 'DELETE', '/api/orgs/default', {
      cookie: superadmin.cookie,
      body: { confirm: 'default' },
    });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('DEFAULT_ORG_PROTECTED');
  });
});

describe('updating and deleting an organization', () => {
  let owner: TestUser;
  let admin: TestUser;
  let editor: TestUser;
  let org: { id: string; slug: string };

  beforeAll(async () => {
    owner = await signUp(app, 'Owner');
    admin = await signUp(app, 'Admin');
    editor = await signUp(app, 'Editor');
    org = await createOrgAs(app, owner, 'Acme', 'acme');
    await addMember(app, owner, org.id, admin, 'admin');
    await addMember(app, owner, org.id, editor, 'editor');
  });

  it('lets an admin change name, description, logo and billing email', async () => {
    const res = await http(app, 'PATCH', `/api/orgs/${org.slug}`, {
      cookie: admin.cookie,
      body: {
        name: 'Acme Corp',
        description: 'MSP',
        logoUrl: 'https://acme.example/logo.png',
        billingEmail: 'Billing@Acme.example',
      },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      slug: 'acme',
      name: 'Acme Corp',
      logoUrl: 'https://acme.example/logo.png',
      billingEmail: 'billing@acme.example',
      role: 'admin',
    });
  });

  it('refuses an editor (403 PERMISSION_DENIED) and keeps slugs immutable (400)', async () => {
    const res = await http(app, 'PATCH', `/api/orgs/${org.id}`, { cookie: editor.cookie, body: { name: 'Hijack' } });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('PERMISSION_DENIED');
    const slug = await http(app, 'PATCH', `/api/orgs/${org.id}`, { cookie: owner.cookie, body: { slug: 'other' } });
    expect(slug.status).toBe(400);
    expect(slug.body.code).toBe('VALIDATION_FAILED');
  });

  it('refuses deletion to non-owners, without the slug typed, and of the org the owner is working in', async () => {
    const byAdmin = await http(app, 'DELETE', `/api/orgs/${org.id}`, {
      cookie: admin.cookie,
      body: { confirm: 'acme' },
    });
    expect(byAdmin.status).toBe(403);
    const wrongConfirm = await http(app, 'DELETE', `/api/orgs/${org.id}`, {
      cookie: owner.cookie,
      body: { confirm: 'nope' },
    });
    expect(wrongConfirm.status).toBe(400);
    expect(wrongConfirm.body.code).toBe('CONFIRMATION_MISMATCH');
    // acme is where the owner lands: their current org.
    const res = await http(app, 'DELETE', `/api/orgs/${org.id}?confirm=acme`, { cookie: owner.cookie });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('CURRENT_ORG_PROTECTED');
    expect((await http(app, 'GET', `/api/orgs/${org.id}`, { cookie: owner.cookie })).status).toBe(200);
  });
});

describe('switching, transferring ownership and leaving', () => {
  it('switches the active org of the session', async () => {
    const user = await signUp(app, 'Switcher');
    const a = await createOrgAs(app, user, 'Switch A');
    const b = await createOrgAs(app, user, 'Switch B');
    const res = await http(app, 'POST', `/api/orgs/${b.slug}/switch`, { cookie: user.cookie });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ activeOrg: { id: b.id, slug: b.slug, name: 'Switch B' } });
    expect((await http(app, 'GET', '/api/org', { cookie: user.cookie })).body.id).toBe(b.id);
    await http(app, 'POST', `/api/orgs/${a.id}/switch`, { cookie: user.cookie });
    expect((await http(app, 'GET', '/api/org', { cookie: user.cookie })).body.id).toBe(a.id);
  });

  it('transfers ownership: the target becomes owner and the caller admin', async () => {
    const owner = await signUp(app, 'Giver');
    const heir = await signUp(app, 'Heir');
    const org = await createOrgAs(app, owner, 'Inherit');
    await addMember(app, owner, org.id, heir, 'editor');
    const res = await http(app, 'POST', `/api/orgs/${org.id}/transfer-ownership`, {
      cookie: owner.cookie,
      body: { userId: heir.id },
    });
    expect(res.status).toBe(200);
    expect(await roleOf(heir, org.id, heir.id)).toBe('owner');
    expect(await roleOf(heir, org.id, owner.id)).toBe('admin');
  });

  it('refuses transfer by a non-owner, to a non-member, and to oneself', async () => {
    const owner = await signUp(app, 'Keeper');
    const admin = await signUp(app, 'Schemer');
    const stranger = await signUp(app, 'Stranger');
    const org = await createOrgAs(app, owner, 'Keep');
    await addMember(app, owner, org.id, admin, 'admin');
    const byAdmin = await http(app, 'POST', `/api/orgs/${org.id}/transfer-ownership`, {
      cookie: admin.cookie,
      body: { userId: admin.id },
    });
    expect(byAdmin.status).toBe(403);
    expect(byAdmin.body.code).toBe('OWNERSHIP_REQUIRED');
    const toStranger = await http(app, 'POST', `/api/orgs/${org.id}/transfer-ownership`, {
      cookie: owner.cookie,
      body: { userId: stranger.id },
    });
    expect(toStranger.status).toBe(404);
    expect(toStranger.body.code).toBe('MEMBER_NOT_FOUND');
    const toSelf = await http(app, 'POST', `/api/orgs/${org.id}/transfer-ownership`, {
      cookie: owner.cookie,
      body: { userId: owner.id },
    });
    expect(toSelf.status).toBe(400);
    expect(await roleOf(owner, org.id, owner.id)).toBe('owner');
  });

  it('refuses to let the last owner leave', async () => {
    const owner = await signUp(app, 'Last');
    const org = await createOrgAs(app, owner, 'Lonely');
    const res = await http(app, 'POST', `/api/orgs/${org.id}/leave`, { cookie: owner.cookie });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('LAST_OWNER');
  });

  it('lets a member leave, and moves their landing org to another of theirs', async () => {
    const owner = await signUp(app, 'Host');
    const guest = await signUp(app, 'Guest');
    const hosted = await createOrgAs(app, owner, 'Hosted');
    await addMember(app, owner, hosted.id, guest, 'viewer');
    // The first org a user is added to becomes their landing org.
    expect((await http(app, 'GET', '/api/org', { cookie: guest.cookie })).body.id).toBe(hosted.id);
    const own = await createOrgAs(app, guest, 'Guest Own');

    const res = await http(app, 'POST', `/api/orgs/${hosted.id}/leave`, { cookie: guest.cookie });
    expect(res.status).toBe(200);
    expect((await members(owner, hosted.id)).map((m) => m.userId)).toEqual([owner.id]);
    const current = await http(app, 'GET', '/api/org', { cookie: guest.cookie });
    expect(current.body.id).toBe(own.id);
    expect((await http(app, 'GET', `/api/orgs/${hosted.id}`, { cookie: guest.cookie })).status).toBe(403);
  });
});

describe('members', () => {
  let owner: TestUser;
  let admin: TestUser;
  let viewer: TestUser;
  let org: { id: string; slug: string };

  beforeAll(async () => {
    owner = await signUp(app, 'MOwner');
    admin = await signUp(app, 'MAdmin');
    viewer = await signUp(app, 'MViewer');
    org = await createOrgAs(app, owner, 'Members Org');
    await addMember(app, owner, org.id, admin, 'admin');
    const byEmail = await http(app, 'POST', `/api/orgs/${org.id}/members`, {
      cookie: owner.cookie,
      body: { email: viewer.email.toUpperCase(), role: 'viewer' },
    });
    expect(byEmail.status).toBe(201);
    expect(byEmail.body).toMatchObject({ userId: viewer.id, role: 'viewer', email: viewer.email });
  });

  it('lists members to every role, oldest first', async () => {
    const list = await members(viewer, org.id);
    expect(list.map((m) => [m.userId, m.role])).toEqual([
      [owner.id, 'owner'],
      [admin.id, 'admin'],
      [viewer.id, 'viewer'],
    ]);
  });

  it('refuses duplicates (409 ALREADY_MEMBER) and unknown users (404 USER_NOT_FOUND)', async () => {
    const dup = await http(app, 'POST', `/api/orgs/${org.id}/members`, {
      cookie: owner.cookie,
      body: { userId: viewer.id, role: 'editor' },
    });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe('ALREADY_MEMBER');
    const unknown = await http(app, 'POST', `/api/orgs/${org.id}/members`, {
      cookie: owner.cookie,
      body: { email: 'nobody@example.com', role: 'viewer' },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('USER_NOT_FOUND');
  });

  it('does not let a viewer add members', async () => {
    const someone = await signUp(app, 'Someone');
    const res = await http(app, 'POST', `/api/orgs/${org.id}/members`, {
      cookie: viewer.cookie,
      body: { userId: someone.id, role: 'viewer' },
    });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('PERMISSION_DENIED');
  });

  it('does not let an admin grant ownership, take it away or remove an owner', async () => {
    const someone = await signUp(app, 'Promoted');
    const addOwner = await http(app, 'POST', `/api/orgs/${org.id}/members`, {
      cookie: admin.cookie,
      body: { userId: someone.id, role: 'owner' },
    });
    expect(addOwner.status).toBe(403);
    expect(addOwner.body.code).toBe('OWNERSHIP_REQUIRED');
    const promote = await http(app, 'PATCH', `/api/orgs/${org.id}/members/${viewer.id}`, {
      cookie: admin.cookie,
      body: { role: 'owner' },
    });
    expect(promote.status).toBe(403);
    expect(promote.body.code).toBe('OWNERSHIP_REQUIRED');
    const demote = await http(app, 'PATCH', `/api/orgs/${org.id}/members/${owner.id}`, {
      cookie: admin.cookie,
      body: { role: 'viewer' },
    });
    expect(demote.status).toBe(403);
    const remove = await http(app, 'DELETE', `/api/orgs/${org.id}/members/${owner.id}`, { cookie: admin.cookie });
    expect(remove.status).toBe(403);
    expect(remove.body.code).toBe('OWNERSHIP_REQUIRED');
    expect(await roleOf(owner, org.id, owner.id)).toBe('owner');
  });

  it('keeps at least one owner', async () => {
    const demoteSelf = await http(app, 'PATCH', `/api/orgs/${org.id}/members/${owner.id}`, {
      cookie: owner.cookie,
      body: { role: 'admin' },
    });
    expect(demoteSelf.status).toBe(409);
    expect(demoteSelf.body.code).toBe('LAST_OWNER');
    const removeSelf = await http(app, 'DELETE', `/api/orgs/${org.id}/members/${owner.id}`, { cookie: owner.cookie });
    expect(removeSelf.status).toBe(409);
    expect(removeSelf.body.code).toBe('LAST_OWNER');
  });

  it('enforces the free tier member limit with LIMIT_REACHED', async () => {
    // owner, admin, viewer: the free tier's three seats are taken.
    const fourth = await signUp(app, 'Fourth');
    const res = await http(app, 'POST', `/api/orgs/${org.id}/members`, {
      cookie: owner.cookie,
      body: { userId: fourth.id, role: 'viewer' },
    });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('LIMIT_REACHED');
  });

  it('lets an admin change roles below owner and remove members', async () => {
    const res = await http(app, 'PATCH', `/api/orgs/${org.id}/members/${viewer.id}`, {
      cookie: admin.cookie,
      body: { role: 'editor' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ userId: viewer.id, role: 'editor' });
    const removed = await http(app, 'DELETE', `/api/orgs/${org.id}/members/${viewer.id}`, { cookie: admin.cookie });
    expect(removed.status).toBe(200);
    expect((await members(owner, org.id)).some((m) => m.userId === viewer.id)).toBe(false);
    const again = await http(app, 'DELETE', `/api/orgs/${org.id}/members/${viewer.id}`, { cookie: admin.cookie });
    expect(again.status).toBe(404);
    expect(again.body.code).toBe('MEMBER_NOT_FOUND');
  });

  it('does not list shadow members of the admin tenancy', async () => {
    const mspOwner = await signUp(app, 'Msp');
    const msp = await createOrgAs(app, mspOwner, 'MSP Home');
    await tdb.db.platform({}, (em) => setAdminTenancy(em, msp.id));
    try {
      const customerOwner = await signUp(app, 'Customer');
      const customer = await createOrgAs(app, customerOwner, 'Customer');
      expect((await members(customerOwner, customer.id)).map((m) => m.userId)).toEqual([customerOwner.id]);
      // The MSP owner can switch in through the shadow membership.
      const mine = await http(app, 'GET', '/api/orgs', { cookie: mspOwner.cookie });
      expect(mine.body.orgs).toContainEqual(
        expect.objectContaining({ id: customer.id, isShadow: true, role: 'admin' }),
      );
      expect((await http(app, 'GET', `/api/orgs/${customer.id}`, { cookie: mspOwner.cookie })).status).toBe(200);
    } finally {
      await tdb.db.platform({}, (em) => setAdminTenancy(em, null));
    }
  });
});
