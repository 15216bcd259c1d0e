import { randomUUID } from 'node:crypto';
import type { ErrorCode, OrgRole, Permission } from '@tenantry/core';
import { addMembership, cancelScheduledOrgDeletion, updateMembershipRole, updateOrg } from '@tenantry/db';
import { expect } from 'vitest';
import { shareResource } from '../alert-fixtures.js';
import {
  type ActorName,
  type Fixtures,
  fresh,
  freshApiToken,
  freshInvitation,
  freshMember,
  freshResource,
  freshRule,
  freshUser,
  type OrgFixture,
  STANDING,
  type UserFixture,
} from './fixtures.js';

/** What a call must answer: success, or the stable code of its refusal. */
export type Outcome = 'ok' | ErrorCode;

/** One call of the matrix. */
export interface Call {
  actor: ActorName;
  /** The org the call acts in (path or X-Org-Id); null for procedures that name no org. */
  scope: OrgFixture | null;
  /** The org whose objects the input names (the other org for the cross-org call). */
  ids: OrgFixture | null;
  /** The caller's user (null for anonymous). */
  user: UserFixture | null;
  /** The caller's role in `scope` (null without standing there). */
  role: OrgRole | null;
}

/**
 * How a procedure is reached and who may call it. The matrix derives every expected outcome
 * from this: 401 for anonymous callers → 403 ORG_ACCESS_DENIED outside the caller's orgs →
 * `tokens` → `permission` (core's `can`) → `roleRule` → `crossIds` → `allowed`.
 */
export interface Declaration {
  /** `path`: `/api/orgs/{orgId}/…` (input `orgId`); `active`: the X-Org-Id org; `none`: no org. */
  org: 'none' | 'path' | 'active';
  /** Default `authed`. */
  auth?: 'public' | 'authed' | 'superadmin';
  /** The permission the caller's role must hold in the org. */
  permission?: Permission;
  /** A further role rule: the refusal for a role, or null. */
  roleRule?: (role: OrgRole) => ErrorCode | null;
  /** The refusal API tokens get once they reach the org (default: tokens are allowed). */
  tokens?: ErrorCode;
  /** The input names objects by id: a call naming the other org's objects answers this. */
  crossIds?: ErrorCode;
  /** The outcome of an allowed call (default `ok`). */
  allowed?: (call: Call) => Outcome;
  /** The call's input; fresh objects for calls that consume them. */
  input: (f: Fixtures, call: Call) => unknown;
  /** The call runs on a new session of its caller (it ends or changes its session). */
  freshSession?: boolean;
  /** Checks that a successful answer stays inside the call's org. */
  check?: (output: unknown, f: Fixtures, call: Call) => void | Promise<void>;
  /** Undoes what a successful call changed in the fixtures. */
  restore?: (f: Fixtures, call: Call) => Promise<void>;
}

type Row = Record<string, unknown>;
/** The PNG signature and an IHDR header: enough for the logo's type check. */
const TINY_PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex').toString('base64');
const out = (o: unknown) => o as Row;
const scopeOf = (call: Call) => call.scope!;
const idsOf = (call: Call) => call.ids!;

/** Every id must belong to a row of `table` of the call's org. */
async function expectOwned(f: Fixtures, call: Call, table: string, column: string, ids: unknown[]) {
  if (ids.length === 0) return;
  const orgId = scopeOf(call).id;
  const rows = await f.db.tenant({ orgId }, (em) =>
    em.execute<Row[]>(`select ${column} as v from ${table} where org_id = ?`, [orgId]),
  );
  const own = new Set(rows.map((r) => String(r.v)));
  for (const id of ids) expect(own.has(String(id)), `${table}.${column} ${String(id)} outside ${orgId}`).toBe(true);
}

/** A caller never sees A or B listed unless it stands in it. */
function expectNoForeignOrg(orgIds: unknown[], f: Fixtures, c: Call) {
  for (const key of ['A', 'B'] as const) {
    if (!STANDING[c.actor][key]) expect(orgIds, `${c.actor} sees org ${key}`).not.toContain(f.orgs[key].id);
  }
}

const ownerOnly = (role: OrgRole): ErrorCode | null => (role === 'owner' ? null : 'OWNERSHIP_REQUIRED');

/**
 * Every procedure of the router, by path. A procedure missing here fails the matrix: declare
 * a new one in a few lines (which org it acts in, its permission, how to build its input).
 */
export const DECLARATIONS: Record<string, Declaration> = {
  'system.config': { org: 'none', auth: 'public', input: () => undefined },
  'auth.signup': {
    org: 'none',
    auth: 'public',
    input: () => ({ email: `${fresh('signup')}@matrix.test`, password: 'long enough password', name: 'New' }),
  },
  'auth.login': {
    org: 'none',
    auth: 'public',
    // Signing in ends the browser's previous session.
    freshSession: true,
    input: (f) => ({ email: f.users.login.email, password: f.loginPassword }),
  },
  'auth.logout': { org: 'none', freshSession: true, input: () => undefined },
  'auth.me': {
    org: 'none',
    input: () => undefined,
    check: (o, f, c) =>
      expectNoForeignOrg(
        (out(o).memberships as Row[]).map((m) => m.orgId),
        f,
        c,
      ),
  },

  'orgs.list': {
    org: 'none',
    input: () => undefined,
    check: (o, f, c) =>
      expectNoForeignOrg(
        (out(o).orgs as Row[]).map((x) => x.id),
        f,
        c,
      ),
  },
  'orgs.create': { org: 'none', input: () => ({ name: fresh('Matrix Org') }) },
  'orgs.byId': {
    org: 'path',
    input: (_f, c) => ({ orgId: scopeOf(c).id }),
    check: (o, _f, c) => expect(out(o).id).toBe(scopeOf(c).id),
  },
  'orgs.update': {
    org: 'path',
    permission: 'org.update',
    input: (_f, c) => ({ orgId: scopeOf(c).id, description: fresh('described') }),
    check: (o, _f, c) => expect(out(o).id).toBe(scopeOf(c).id),
  },
  'orgs.remove': {
    org: 'path',
    permission: 'org.delete',
    input: (_f, c) => ({ orgId: scopeOf(c).id, confirm: scopeOf(c).slug }),
    // The call schedules the deletion (no worker runs here); restoring cancels it. Running a
    // deletion is covered by the deletion tests.
    restore: async (f, c) => {
      const orgId = scopeOf(c).id;
      const cancelled = await f.db.platform({}, async (em) => {
        const row = await cancelScheduledOrgDeletion(em, orgId);
        // Without a grace period the org is closed at once; put it back as the fixtures need it.
        await updateOrg(em, orgId, { status: 'active' });
        return row;
      });
      expect(cancelled, 'a scheduled deletion to cancel').not.toBeNull();
    },
  },
  'orgs.switch': {
    org: 'path',
    tokens: 'VALIDATION_FAILED',
    freshSession: true,
    input: (_f, c) => ({ orgId: scopeOf(c).id }),
    check: (o, _f, c) => expect((out(o).activeOrg as Row).id).toBe(scopeOf(c).id),
  },
  'orgs.transferOwnership': {
    org: 'path',
    roleRule: ownerOnly,
    crossIds: 'MEMBER_NOT_FOUND',
    input: (_f, c) => ({ orgId: scopeOf(c).id, userId: idsOf(c).heir.id }),
    restore: async (f, c) => {
      const orgId = scopeOf(c).id;
      await f.db.tenant({ orgId }, async (em) => {
        await updateMembershipRole(em, orgId, scopeOf(c).heir.id, 'editor');
        await updateMembershipRole(em, orgId, c.user!.id, c.role!);
      });
    },
  },
  'orgs.leave': {
    org: 'path',
    // Each org has one owner, who may not leave it.
    allowed: (c) => (c.role === 'owner' ? 'LAST_OWNER' : 'ok'),
    input: (_f, c) => ({ orgId: scopeOf(c).id }),
    restore: async (f, c) => {
      const orgId = scopeOf(c).id;
      await f.db.tenant({ orgId }, (em) => addMembership(em, { orgId, userId: c.user!.id, role: c.role! }));
    },
  },

  'org.current': {
    org: 'active',
    input: () => undefined,
    check: (o, _f, c) => expect(out(o).id).toBe(scopeOf(c).id),
  },

  'members.list': {
    org: 'path',
    permission: 'members.read',
    input: (_f, c) => ({ orgId: scopeOf(c).id }),
    check: (o, f, c) =>
      expectOwned(
        f,
        c,
        'memberships',
        'user_id',
        (out(o).members as Row[]).map((m) => m.userId),
      ),
  },
  'members.add': {
    org: 'path',
    permission: 'members.add',
    input: async (f, c) => ({ orgId: scopeOf(c).id, email: (await freshUser(f.db)).email, role: 'viewer' }),
  },
  'members.updateRole': {
    org: 'path',
    permission: 'members.update',
    crossIds: 'MEMBER_NOT_FOUND',
    input: (_f, c) => ({ orgId: scopeOf(c).id, userId: idsOf(c).subject.id, role: 'viewer' }),
    restore: async (f, c) => {
      const orgId = scopeOf(c).id;
      await f.db.tenant({ orgId }, (em) => updateMembershipRole(em, orgId, scopeOf(c).subject.id, 'editor'));
    },
  },
  'members.remove': {
    org: 'path',
    permission: 'members.remove',
    crossIds: 'MEMBER_NOT_FOUND',
    input: async (f, c) => ({ orgId: scopeOf(c).id, userId: (await freshMember(f.db, idsOf(c).id, 'viewer')).id }),
  },

  'invitations.list': {
    org: 'path',
    permission: 'invitations.read',
    input: (_f, c) => ({ orgId: scopeOf(c).id }),
    check: (o, f, c) =>
      expectOwned(
        f,
        c,
        'invitations',
        'id',
        (out(o).invitations as Row[]).map((i) => i.id),
      ),
  },
  'invitations.create': {
    org: 'path',
    permission: 'invitations.create',
    input: (_f, c) => ({ orgId: scopeOf(c).id, email: `${fresh('invite')}@matrix.test`, role: 'viewer' }),
  },
  'invitations.createMany': {
    org: 'path',
    permission: 'invitations.create',
    input: (_f, c) => {
      const email = `${fresh('bulk')}@matrix.test`;
      return {
        orgId: scopeOf(c).id,
        invitations: [
          { email, role: 'viewer' },
          { email: `${fresh('bulk')}@matrix.test`, role: 'editor' },
          { email: email.toUpperCase(), role: 'viewer' },
        ],
      };
    },
    check: (o, f, c) =>
      expectOwned(
        f,
        c,
        'invitations',
        'id',
        (out(o).results as Row[]).map((r) => (r.invitation as Row).id),
      ),
  },
  'invitations.revoke': {
    org: 'path',
    permission: 'invitations.revoke',
    crossIds: 'INVITATION_NOT_FOUND',
    input: async (f, c) => ({ orgId: scopeOf(c).id, invitationId: (await freshInvitation(f.db, idsOf(c).id)).id }),
  },
  'invitations.resend': {
    org: 'path',
    permission: 'invitations.create',
    crossIds: 'INVITATION_NOT_FOUND',
    input: async (f, c) => ({ orgId: scopeOf(c).id, invitationId: (await freshInvitation(f.db, idsOf(c).id)).id }),
  },
  // The token in the link is the capability: anyone holding it may read the invitation…
  'invitations.byToken': { org: 'none', auth: 'public', input: (f) => ({ token: f.orgs.A.invitationToken }) },
  // …but only the invited address may accept it, and none of the callers is that address.
  // API tokens never accept invitations: joining an org is a person's act.
  'invitations.accept': {
    org: 'none',
    tokens: 'TOKEN_NOT_ALLOWED',
    allowed: () => 'INVITATION_EMAIL_MISMATCH',
    input: (f) => ({ token: f.orgs.B.invitationToken }),
  },

  'agents.list': {
    org: 'active',
    permission: 'agents.read',
    input: () => undefined,
    check: (o, f, c) =>
      expectOwned(
        f,
        c,
        'agents',
        'id',
        (out(o).agents as Row[]).map((a) => a.id),
      ),
  },
  'agents.register': {
    org: 'active',
    permission: 'agents.register',
    input: () => ({ name: fresh('agent') }),
    check: async (o, f, c) => {
      await expectOwned(f, c, 'agents', 'id', [out(o).id]);
      expect(String(out(o).token)).toMatch(/^tna_/);
    },
  },
  'agents.remove': {
    org: 'active',
    permission: 'agents.remove',
    crossIds: 'AGENT_NOT_FOUND',
    input: async (f, c) => ({ agentId: (await freshResource(f.db, idsOf(c).id)).agentId }),
  },

  'resources.list': {
    org: 'active',
    permission: 'resources.read',
    input: () => ({ limit: 200 }),
    check: async (o, f, c) => {
      const rows = out(o).resources as Row[];
      // Its own resources, and others' only through a share the org holds.
      await expectOwned(
        f,
        c,
        'resources',
        'id',
        rows.filter((r) => r.shared === null).map((r) => r.id),
      );
      for (const r of rows) if (r.shared === null) expect(r.orgId).toBe(scopeOf(c).id);
      await expectOwned(
        f,
        c,
        'incoming_shares',
        'resource_id',
        rows.filter((r) => r.shared !== null).map((r) => r.id),
      );
    },
  },
  'resources.byId': {
    org: 'active',
    permission: 'resources.read',
    crossIds: 'RESOURCE_NOT_FOUND',
    input: (_f, c) => ({ resourceId: idsOf(c).resourceId }),
    check: (o, _f, c) => expect(out(o).orgId).toBe(scopeOf(c).id),
  },
  'resources.update': {
    org: 'active',
    permission: 'resources.write',
    crossIds: 'RESOURCE_NOT_FOUND',
    input: (_f, c) => ({ resourceId: idsOf(c).resourceId, notes: fresh('note') }),
    check: (o, _f, c) => expect(out(o).orgId).toBe(scopeOf(c).id),
  },
  // A stream of the org's own channel: the call opens it, the check closes it.
  'resources.live': {
    org: 'active',
    permission: 'resources.read',
    input: () => undefined,
    check: async (o) => {
      const iterator = (o as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      await iterator.return?.();
    },
  },

  'shares.list': {
    org: 'path',
    permission: 'shares.read',
    input: (_f, c) => ({ orgId: scopeOf(c).id }),
    check: (o, f, c) =>
      expectOwned(
        f,
        c,
        'shares',
        'id',
        (out(o).shares as Row[]).map((x) => x.id),
      ),
  },
  'shares.incoming': {
    org: 'path',
    permission: 'shares.read',
    input: (_f, c) => ({ orgId: scopeOf(c).id }),
    check: (o, f, c) =>
      expectOwned(
        f,
        c,
        'incoming_shares',
        'share_id',
        (out(o).shares as Row[]).map((x) => x.id),
      ),
  },
  'shares.create': {
    org: 'path',
    permission: 'shares.create',
    crossIds: 'RESOURCE_NOT_FOUND',
    input: async (f, c) => ({
      orgId: scopeOf(c).id,
      targetOrgId: scopeOf(c).key === 'A' ? f.orgs.B.id : f.orgs.A.id,
      resourceType: 'host',
      resourceId: (await freshResource(f.db, idsOf(c).id)).id,
      role: 'viewer',
    }),
    check: (o, f, c) => expectOwned(f, c, 'shares', 'id', [out(o).id]),
  },
  'shares.remove': {
    org: 'path',
    permission: 'shares.remove',
    crossIds: 'SHARE_NOT_FOUND',
    input: async (f, c) => {
      const from = idsOf(c);
      const to = from.key === 'A' ? f.orgs.B : f.orgs.A;
      const resource = await freshResource(f.db, from.id);
      return {
        orgId: scopeOf(c).id,
        shareId: await shareResource(f.db, from.id, to.id, { id: resource.id, type: 'host' }),
      };
    },
  },

  // The development inbox exists only on a development start (no SMTP_URL); the matrix's
  // server has none, so every caller is told it is not there — and no caller sees another's mail.
  'devInbox.list': { org: 'none', auth: 'public', allowed: () => 'NOT_FOUND', input: () => undefined },
  'devInbox.byId': { org: 'none', auth: 'public', allowed: () => 'NOT_FOUND', input: () => ({ id: randomUUID() }) },

  'tokens.list': { org: 'active', tokens: 'TOKEN_NOT_ALLOWED', permission: 'tokens.create', input: () => undefined },
  'tokens.create': {
    org: 'active',
    tokens: 'TOKEN_NOT_ALLOWED',
    permission: 'tokens.create',
    input: (_f, c) => ({ name: fresh('made'), orgIds: [scopeOf(c).id] }),
    check: (o, _f, c) => expect((out(o).orgs as Row[]).map((x) => x.orgId)).toEqual([scopeOf(c).id]),
  },
  'tokens.revoke': {
    org: 'active',
    tokens: 'TOKEN_NOT_ALLOWED',
    permission: 'tokens.create',
    // A token of someone else (a member of the other org) is not found.
    crossIds: 'NOT_FOUND',
    input: async (f, c) => {
      const other = c.ids!.key === 'A' ? f.users.ownerA : f.users.memberB;
      const owner = c.ids === c.scope ? (c.user ?? other) : other;
      return { tokenId: (await freshApiToken(f.db, owner.id, [idsOf(c).id], 'viewer')).id };
    },
  },

  'admin.license.get': { org: 'none', auth: 'superadmin', input: () => undefined },
  'admin.tenants.list': { org: 'none', auth: 'superadmin', input: () => undefined },
  'admin.tenants.create': {
    org: 'none',
    auth: 'superadmin',
    input: () => ({ name: 'Matrix Tenant', slug: fresh('matrix-tenant').toLowerCase() }),
  },
  'admin.tenants.setAdminTenancy': { org: 'none', auth: 'superadmin', input: (f) => ({ orgId: f.orgs.B.id }) },
  'admin.tenants.setFeatures': {
    org: 'none',
    auth: 'superadmin',
    input: (f) => ({ orgId: f.orgs.B.id, features: { alerts: false } }),
  },
  'admin.tenants.suspend': { org: 'none', auth: 'superadmin', input: (f) => ({ orgId: f.orgs.B.id }) },
  'admin.tenants.resume': { org: 'none', auth: 'superadmin', input: (f) => ({ orgId: f.orgs.B.id }) },
  'admin.tenants.setLimits': {
    org: 'none',
    auth: 'superadmin',
    input: (f) => ({ orgId: f.orgs.B.id, maxMembers: 1 }),
  },
  'admin.tenants.remove': {
    org: 'none',
    auth: 'superadmin',
    input: (f) => ({ orgId: f.orgs.B.id, confirm: f.orgs.B.slug }),
  },
  'admin.deletions.byId': { org: 'none', auth: 'superadmin', input: () => ({ deletionId: randomUUID() }) },

  'usage.byOrg': {
    org: 'path',
    permission: 'usage.read',
    input: (_f, c) => ({ orgId: scopeOf(c).id }),
    check: (o) => expect(out(o)).toHaveProperty('members'),
  },
  // Only the one who asked for a deletion (or a platform admin) reads it: an unknown id for all.
  'deletions.byId': { org: 'none', allowed: () => 'DELETION_NOT_FOUND', input: () => ({ deletionId: randomUUID() }) },
  'deletions.restore': {
    org: 'path',
    roleRule: ownerOnly,
    // The fixtures' orgs are active: nothing to restore.
    allowed: () => 'ORG_NOT_RESTORABLE',
    input: (_f, c) => ({ orgId: scopeOf(c).id }),
  },
  // Sorted by path, `get` runs before any `put`: the orgs have no logo yet.
  'logo.get': { org: 'path', allowed: () => 'NOT_FOUND', input: (_f, c) => ({ orgId: scopeOf(c).id }) },
  'logo.put': {
    org: 'path',
    permission: 'org.update',
    input: (_f, c) => ({ orgId: scopeOf(c).id, contentType: 'image/png', data: TINY_PNG }),
    restore: async (f, c) => {
      await f.db.tenant({ orgId: scopeOf(c).id }, (em) => updateOrg(em, scopeOf(c).id, { logoUrl: null }));
    },
  },
  'logo.remove': { org: 'path', permission: 'org.update', input: (_f, c) => ({ orgId: scopeOf(c).id }) },
  'admin.license.activate': { org: 'none', auth: 'superadmin', input: (f) => ({ key: f.licenseKey }) },

  'alertRules.list': {
    org: 'active',
    permission: 'alerts.read',
    input: () => undefined,
    check: (o, f, c) =>
      expectOwned(
        f,
        c,
        'alert_rules',
        'id',
        (out(o).rules as Row[]).map((r) => r.id),
      ),
  },
  'alertRules.create': {
    org: 'active',
    permission: 'alerts.write',
    input: () => ({ name: fresh('rule'), metric: 'memory', comparison: 'gte', threshold: 0.95 }),
  },
  'alertRules.update': {
    org: 'active',
    permission: 'alerts.write',
    crossIds: 'ALERT_RULE_NOT_FOUND',
    input: (_f, c) => ({ ruleId: idsOf(c).ruleId, name: fresh('renamed') }),
  },
  'alertRules.remove': {
    org: 'active',
    permission: 'alerts.write',
    crossIds: 'ALERT_RULE_NOT_FOUND',
    input: async (f, c) => ({ ruleId: await freshRule(f.db, idsOf(c).id) }),
  },
  'alerts.list': {
    org: 'active',
    permission: 'alerts.read',
    input: () => ({}),
    check: async (o, f, c) => {
      const ids = (out(o).alerts as Row[]).map((a) => a.id);
      expect(ids).toContain(scopeOf(c).firingAlertId);
      await expectOwned(f, c, 'alerts', 'id', ids);
    },
  },
  'alerts.summary': {
    org: 'active',
    permission: 'alerts.read',
    input: () => undefined,
    check: (o) => expect(out(o)).toEqual({ firing: 1 }),
  },
  'audit.list': {
    org: 'active',
    permission: 'audit.read',
    input: () => ({ limit: 200 }),
    check: (o, f, c) =>
      expectOwned(
        f,
        c,
        'audit_events',
        'id',
        (out(o).events as Row[]).map((e) => e.id),
      ),
  },
  'audit.verify': {
    org: 'active',
    permission: 'audit.read',
    input: () => undefined,
    check: (o) => expect(out(o).ok).toBe(true),
  },
  'audit.startExport': {
    org: 'active',
    permission: 'audit.read',
    input: () => ({ format: 'ndjson' }),
    check: (o, _f, c) => expect(out(o).orgId).toBe(scopeOf(c).id),
  },
};
