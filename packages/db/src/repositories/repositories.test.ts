import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db } from '../db.js';
import { isUniqueViolation, UNIQUE_CONSTRAINTS, uniqueViolationConstraint } from '../errors.js';
import { createTestDatabase, type TestDatabase } from '../testing.js';
import type { UserRow } from '../types.js';
import {
  addMembership,
  countActiveMembers,
  countOwners,
  findMembership,
  listMembers,
  removeMembership,
  updateMembershipRole,
} from './memberships.js';
import {
  countOrgs,
  createOrg,
  findAdminTenancy,
  findOrgById,
  findOrgBySlug,
  listOrgsOfUser,
  setAdminTenancy,
  updateOrg,
} from './orgs.js';
import { getPlatformSetting, setPlatformSetting } from './platform-settings.js';
import { createSession, deleteSession, findSessionByTokenHash, setSessionActiveOrg, touchSession } from './sessions.js';
import { countUsers, createUser, findUserByEmail, findUserById, setUserDefaultOrg } from './users.js';

// Opening PGlite takes seconds; these hold whatever the root config says.
vi.setConfig({ hookTimeout: 60_000, testTimeout: 30_000 });

describe.each(['postgresql', 'pglite'] as const)('repositories on %s', (kind) => {
  let t: TestDatabase;
  let db: Db;
  const newUser = (email: string) =>
    db.platform({}, (em) => createUser(em, { email, name: email.split('@')[0] ?? email, passwordHash: 'hash' }));

  beforeAll(async () => {
    t = await createTestDatabase({ kind });
    db = t.db;
  });
  afterAll(async () => {
    await t?.drop();
  });

  describe('users', () => {
    // Runs first: it needs the users table empty.
    it('makes exactly one of five concurrent first sign-ups superadmin', async () => {
      // On PostgreSQL, hold all five transactions open on their own connections before any
      // inserts, so that they truly overlap. PGlite has one connection: units run one by one.
      let arrived = 0;
      let release!: () => void;
      const allArrived = new Promise<void>((resolve) => {
        release = resolve;
      });
      const users = await Promise.all(
        [1, 2, 3, 4, 5].map((i) =>
          db.platform({}, async (em) => {
            if (kind === 'postgresql') {
              await em.execute('select 1');
              if (++arrived === 5) release();
              await allArrived;
            }
            return createUser(em, { email: `first${i}@users.test`, name: `first${i}`, passwordHash: 'hash' });
          }),
        ),
      );
      expect(users.filter((u) => u.platformRole === 'superadmin')).toHaveLength(1);
      expect(await db.platform({}, countUsers)).toBe(5);
      const later = await newUser('later@users.test');
      expect(later.platformRole).toBe('user');
    });

    it('stores emails lowercased and finds them case-insensitively', async () => {
      const u = await newUser('  Mixed.Case@Users.Test ');
      expect(u.email).toBe('mixed.case@users.test');
      expect(u.createdAt).toBeInstanceOf(Date);
      const byEmail = await db.platform({}, (em) => findUserByEmail(em, 'MIXED.case@users.test'));
      expect(byEmail?.id).toBe(u.id);
      expect(await db.platform({}, (em) => findUserById(em, u.id))).toEqual(byEmail);
      expect(await db.platform({}, (em) => findUserByEmail(em, 'nobody@users.test'))).toBeNull();
    });

    it('raises an identifiable unique violation for a taken email', async () => {
      const err = await newUser('LATER@users.test').catch((e: unknown) => e);
      expect(isUniqueViolation(err)).toBe(true);
      expect(isUniqueViolation(err, UNIQUE_CONSTRAINTS.userEmail)).toBe(true);
      expect(isUniqueViolation(err, UNIQUE_CONSTRAINTS.orgSlug)).toBe(false);
      expect(uniqueViolationConstraint(err)).toBe(UNIQUE_CONSTRAINTS.userEmail);
      expect(isUniqueViolation(new Error('other'))).toBe(false);
    });
  });

  describe('orgs and memberships', () => {
    let owner: UserRow;
    let member: UserRow;

    beforeAll(async () => {
      owner = await newUser('owner@orgs.test');
      member = await newUser('member@orgs.test');
    });

    it('creates an org with its owner and restores the caller scope', async () => {
      const { org, scopeAfter } = await db.platform({ userId: owner.id }, async (em) => {
        const created = await createOrg(em, { slug: 'acme', name: 'Acme', ownerId: owner.id, createdById: owner.id });
        const [s] = await em.execute<{ org: string }[]>(`select current_setting('app.org_id', true) as org`);
        return { org: created, scopeAfter: s?.org };
      });
      expect(scopeAfter).toBe('');
      expect(org).toMatchObject({ slug: 'acme', tier: 'free', status: 'active', featureOverrides: {} });
      expect(await db.platform({}, (em) => findOrgBySlug(em, 'acme'))).toEqual(org);
      const membership = await db.tenant({ orgId: org.id }, (em) => findMembership(em, org.id, owner.id));
      expect(membership).toMatchObject({ role: 'owner', isShadow: false, addedById: owner.id });
      expect(await db.tenant({ orgId: org.id }, (em) => countOwners(em, org.id))).toBe(1);
    });

    it('raises an identifiable unique violation for a taken slug', async () => {
      const err = await db
        .platform({}, (em) => createOrg(em, { slug: 'acme', name: 'Again', ownerId: owner.id }))
        .catch((e: unknown) => e);
      expect(isUniqueViolation(err, UNIQUE_CONSTRAINTS.orgSlug)).toBe(true);
      expect(await db.platform({}, (em) => findOrgBySlug(em, 'acme'))).toMatchObject({ name: 'Acme' });
    });

    it('adds, re-roles, counts and removes members within the org', async () => {
      const org = await db.platform({}, (em) => findOrgBySlug(em, 'acme'));
      const orgId = org!.id;
      await db.tenant({ orgId, userId: owner.id }, async (em) => {
        await addMembership(em, { orgId, userId: member.id, role: 'viewer', addedById: owner.id });
        expect(await countActiveMembers(em, orgId)).toBe(2);
        expect(await updateMembershipRole(em, orgId, member.id, 'admin')).toMatchObject({ role: 'admin' });
        const members = await listMembers(em, orgId);
        expect(members.map((m) => [m.email, m.role])).toEqual([
          ['owner@orgs.test', 'owner'],
          ['member@orgs.test', 'admin'],
        ]);
      });
      const dup = await db
        .tenant({ orgId }, (em) => addMembership(em, { orgId, userId: member.id, role: 'viewer' }))
        .catch((e: unknown) => e);
      expect(isUniqueViolation(dup, UNIQUE_CONSTRAINTS.membership)).toBe(true);
      expect(await db.tenant({ orgId }, (em) => removeMembership(em, orgId, member.id))).toBe(true);
      expect(await db.tenant({ orgId }, (em) => removeMembership(em, orgId, member.id))).toBe(false);
      expect(await db.tenant({ orgId }, (em) => updateMembershipRole(em, orgId, member.id, 'viewer'))).toBeNull();
    });

    it('updates org fields and keeps one admin tenancy', async () => {
      const acme = (await db.platform({}, (em) => findOrgBySlug(em, 'acme')))!;
      const updated = await db.platform({}, (em) =>
        updateOrg(em, acme.id, {
          description: 'Widgets',
          billingEmail: 'b@acme.test',
          featureOverrides: { alerts: false },
        }),
      );
      expect(updated).toMatchObject({
        description: 'Widgets',
        billingEmail: 'b@acme.test',
        featureOverrides: { alerts: false },
      });
      expect(updated!.updatedAt.getTime()).toBeGreaterThanOrEqual(acme.updatedAt.getTime());
      await db.platform({}, (em) => setAdminTenancy(em, db.defaultOrgId));
      await db.platform({}, (em) => setAdminTenancy(em, acme.id));
      expect((await db.platform({}, findAdminTenancy))?.id).toBe(acme.id);
      expect((await db.platform({}, (em) => findOrgById(em, db.defaultOrgId)))?.isAdminTenancy).toBe(false);
      const twoFlags = await db
        .platform({}, (em) =>
          em.execute('update organizations set is_admin_tenancy = true where id = ?', [db.defaultOrgId]),
        )
        .catch((e: unknown) => e);
      expect(isUniqueViolation(twoFlags, UNIQUE_CONSTRAINTS.adminTenancy)).toBe(true);
    });

    it('gives admin-tenancy members hidden shadow memberships in new orgs', async () => {
      // acme is the admin tenancy (previous test) with `owner` as its owner.
      const creator = await newUser('creator@orgs.test');
      const beta = await db.platform({ userId: creator.id }, (em) =>
        createOrg(em, { slug: 'beta', name: 'Beta', ownerId: creator.id, createdById: creator.id }),
      );
      const shadow = await db.tenant({ orgId: beta.id }, (em) => findMembership(em, beta.id, owner.id));
      expect(shadow).toMatchObject({ role: 'admin', isShadow: true });
      const visible = await db.tenant({ orgId: beta.id }, (em) => listMembers(em, beta.id));
      expect(visible.map((m) => m.userId)).toEqual([creator.id]);
      expect(await db.tenant({ orgId: beta.id }, (em) => countActiveMembers(em, beta.id))).toBe(1);
      const orgsOfOwner = await db.platform({ userId: owner.id }, (em) => listOrgsOfUser(em, owner.id));
      expect(orgsOfOwner.map((o) => [o.slug, o.role, o.isShadow])).toEqual([
        ['acme', 'owner', false],
        ['beta', 'admin', true],
      ]);
      expect(await db.platform({}, countOrgs)).toBe(3);
    });

    it('sets the default org of a user', async () => {
      const beta = (await db.platform({}, (em) => findOrgBySlug(em, 'beta')))!;
      await db.platform({}, (em) => setUserDefaultOrg(em, owner.id, beta.id));
      expect((await db.platform({}, (em) => findUserById(em, owner.id)))?.defaultOrgId).toBe(beta.id);
    });
  });

  describe('sessions', () => {
    it('finds a live session with its user, and ignores expired or deleted ones', async () => {
      const user = await newUser('session@sessions.test');
      const session = await db.platform({}, (em) =>
        createSession(em, {
          tokenHash: 'a'.repeat(64),
          userId: user.id,
          expiresAt: new Date(Date.now() + 3_600_000),
          ip: '203.0.113.9',
          userAgent: 'vitest',
        }),
      );
      const found = await db.platform({}, (em) => findSessionByTokenHash(em, 'a'.repeat(64)));
      expect(found?.session).toEqual(session);
      expect(found?.user.email).toBe('session@sessions.test');

      await db.platform({}, (em) => setSessionActiveOrg(em, session.id, db.defaultOrgId));
      await db.platform({}, (em) => touchSession(em, session.id));
      const touched = await db.platform({}, (em) => findSessionByTokenHash(em, 'a'.repeat(64)));
      expect(touched?.session.activeOrgId).toBe(db.defaultOrgId);
      expect(touched!.session.lastSeenAt.getTime()).toBeGreaterThanOrEqual(session.lastSeenAt.getTime());

      await db.platform({}, (em) => touchSession(em, session.id, new Date(Date.now() - 1000)));
      expect(await db.platform({}, (em) => findSessionByTokenHash(em, 'a'.repeat(64)))).toBeNull();

      const second = await db.platform({}, (em) =>
        createSession(em, { tokenHash: 'b'.repeat(64), userId: user.id, expiresAt: new Date(Date.now() + 60_000) }),
      );
      await db.platform({}, (em) => deleteSession(em, second.id));
      expect(await db.platform({}, (em) => findSessionByTokenHash(em, 'b'.repeat(64)))).toBeNull();
    });
  });

  describe('platform settings', () => {
    it('stores and replaces JSON values', async () => {
      expect(await db.platform({}, (em) => getPlatformSetting(em, 'license_key'))).toBeNull();
      await db.platform({}, (em) => setPlatformSetting(em, 'license_key', 'eyJ.first'));
      await db.platform({}, (em) => setPlatformSetting(em, 'license_key', 'eyJ.second'));
      await db.platform({}, (em) => setPlatformSetting(em, 'other', { a: [1, 2] }));
      expect(await db.platform({}, (em) => getPlatformSetting<string>(em, 'license_key'))).toBe('eyJ.second');
      expect(await db.platform({}, (em) => getPlatformSetting(em, 'other'))).toEqual({ a: [1, 2] });
    });
  });
});
