import { randomBytes, randomUUID } from 'node:crypto';
import { hash } from '@node-rs/argon2';
import type { OrgRole } from '@tenantry/core';
import {
  addMembership,
  createAlertRule,
  createApiToken,
  createInvitation,
  createOrg,
  createSession,
  createUser,
  type Db,
  fireAlerts,
  recordInvitationToken,
} from '@tenantry/db';
import { newApiToken } from '../../api-tokens.js';
import { hashToken } from '../../context.js';
import { newInvitationToken } from '../../routers/invitations.js';
import { seedResources } from '../alert-fixtures.js';

/** The callers of the matrix (SPEC: every role of A, a member of B only, tokens bound to B and to A and B). */
export const ACTORS = ['anonymous', 'ownerA', 'adminA', 'editorA', 'viewerA', 'memberB', 'tokenB', 'tokenAB'] as const;
export type ActorName = (typeof ACTORS)[number];

/** The role each caller holds in each org (a token's is its binding's, capped by its user's). */
export const STANDING: Record<ActorName, Partial<Record<OrgKey, OrgRole>>> = {
  anonymous: {},
  ownerA: { A: 'owner' },
  adminA: { A: 'admin' },
  editorA: { A: 'editor' },
  viewerA: { A: 'viewer' },
  memberB: { B: 'owner' },
  // Both tokens belong to `msp`, admin in A and in B: the B token must not reach A.
  tokenB: { B: 'admin' },
  tokenAB: { A: 'admin', B: 'admin' },
};

export type OrgKey = 'A' | 'B';

export interface UserFixture {
  id: string;
  email: string;
}

/** One org of the matrix and the objects its procedures name. */
export interface OrgFixture {
  key: OrgKey;
  id: string;
  slug: string;
  /** An editor that `transferOwnership` hands the org to. */
  heir: UserFixture;
  /** An editor whose role `members.updateRole` changes. */
  subject: UserFixture;
  ruleId: string;
  firingAlertId: string;
  invitationToken: string;
  /** An agent of the org and one of its resources (a host). */
  agentId: string;
  resourceId: string;
}

export interface Fixtures {
  db: Db;
  users: Record<Exclude<ActorName, 'anonymous' | 'tokenB' | 'tokenAB'> | 'msp' | 'login', UserFixture>;
  loginPassword: string;
  orgs: Record<OrgKey, OrgFixture>;
  /** Bearer tokens of the token actors. */
  bearer: { tokenB: string; tokenAB: string };
  /** Session tokens of the session actors. */
  sessions: Partial<Record<ActorName, string>>;
  /** A valid license key (for `admin.license.activate`). */
  licenseKey: string;
}

let counter = 0;
/** A unique name for what a call creates. */
export function fresh(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}-${randomBytes(3).toString('hex')}`;
}

/** A new user with no membership (no password: they never sign in). */
export async function freshUser(db: Db): Promise<UserFixture> {
  const email = `${fresh('user')}@matrix.test`;
  const user = await db.platform({}, (em) => createUser(em, { email, name: email, passwordHash: 'x' }));
  return { id: user.id, email };
}

/** A new session token for a user. */
export async function freshSession(db: Db, userId: string): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await db.platform({ userId }, (em) =>
    createSession(em, { tokenHash: hashToken(token), userId, expiresAt: new Date(Date.now() + 86_400_000) }),
  );
  return token;
}

/** A new API token of the user bound to the given orgs with `role`. */
export async function freshApiToken(db: Db, userId: string, orgIds: string[], role: OrgRole) {
  const { token, hash: tokenHash } = newApiToken();
  const id = randomUUID();
  await db.platform({ userId }, (em) =>
    createApiToken(em, {
      id,
      userId,
      name: fresh('token'),
      tokenHash,
      bindings: orgIds.map((orgId) => ({ orgId, role })),
    }),
  );
  return { id, token };
}

/** A new member of the org with `role`. */
export async function freshMember(db: Db, orgId: string, role: OrgRole): Promise<UserFixture> {
  const user = await freshUser(db);
  await db.tenant({ orgId }, (em) => addMembership(em, { orgId, userId: user.id, role }));
  return user;
}

/** A new pending invitation of the org. */
export async function freshInvitation(db: Db, orgId: string): Promise<{ id: string; token: string }> {
  return db.tenant({ orgId }, async (em) => {
    const invitation = await createInvitation(em, {
      orgId,
      email: `${fresh('invitee')}@matrix.test`,
      role: 'viewer',
      expiresAt: new Date(Date.now() + 86_400_000),
    });
    const { token, hash: tokenHash } = newInvitationToken(orgId, invitation.id);
    await recordInvitationToken(em, orgId, invitation.id, tokenHash, invitation.sendCount);
    return { id: invitation.id, token };
  });
}

/** A new alert rule of the org. */
export async function freshRule(db: Db, orgId: string): Promise<string> {
  return db.tenant({ orgId }, async (em) => {
    const rule = await createAlertRule(em, {
      orgId,
      name: fresh('rule'),
      metric: 'cpu',
      comparison: 'gt',
      threshold: 0.9,
      statusValue: null,
      durationSeconds: 0,
      resourceTypes: [],
      namePattern: null,
      resourceIds: [],
      recipients: [],
      enabled: true,
    });
    return rule.id;
  });
}

async function orgFixture(db: Db, key: OrgKey, ownerId: string): Promise<OrgFixture> {
  const slug = `matrix-${key.toLowerCase()}-${randomBytes(3).toString('hex')}`;
  const org = await db.platform({}, (em) =>
    createOrg(em, { slug, name: `Matrix ${key}`, ownerId, tier: 'enterprise' }),
  );
  const heir = await freshMember(db, org.id, 'editor');
  const subject = await freshMember(db, org.id, 'editor');
  const ruleId = await freshRule(db, org.id);
  const { resources } = await seedResources(db, org.id, [{ name: `${key.toLowerCase()}-host` }]);
  const resource = resources[0]!;
  const [alert] = await db.tenant({ orgId: org.id }, (em) =>
    fireAlerts(
      em,
      org.id,
      [
        {
          ruleId,
          resourceId: resource.id,
          ruleName: 'matrix',
          condition: 'CPU above 90%',
          metric: 'cpu',
          resourceName: resource.name,
          resourceType: resource.type,
          firedValue: 0.99,
          recipients: [],
          breachingSince: new Date(),
        },
      ],
      new Date(),
    ),
  );
  const invitation = await freshInvitation(db, org.id);
  return {
    key,
    id: org.id,
    slug,
    heir,
    subject,
    ruleId,
    firingAlertId: alert!.id,
    invitationToken: invitation.token,
    agentId: (await seedResources(db, org.id, [])).agentId,
    resourceId: resource.id,
  };
}

/** A new host of the org (under a new agent), for calls that share or remove one. */
export async function freshResource(db: Db, orgId: string): Promise<{ id: string; agentId: string }> {
  const { agentId, resources } = await seedResources(db, orgId, [{ name: fresh('host') }]);
  return { id: resources[0]!.id, agentId };
}

/** Orgs A and B, every caller, and the objects the procedures name. */
export async function buildFixtures(db: Db, licenseKey: string): Promise<Fixtures> {
  // The first user of an install is the superadmin: make sure it is none of the callers.
  await freshUser(db);
  const loginPassword = 'matrix login password';
  const login = await db.platform({}, async (em) =>
    createUser(em, { email: `${fresh('login')}@matrix.test`, name: 'Login', passwordHash: await hash(loginPassword) }),
  );
  const named = async () => freshUser(db);
  const users = {
    ownerA: await named(),
    adminA: await named(),
    editorA: await named(),
    viewerA: await named(),
    memberB: await named(),
    msp: await named(),
    login: { id: login.id, email: login.email },
  };
  const A = await orgFixture(db, 'A', users.ownerA.id);
  const B = await orgFixture(db, 'B', users.memberB.id);
  const join = (orgId: string, userId: string, role: OrgRole) =>
    db.tenant({ orgId }, (em) => addMembership(em, { orgId, userId, role }));
  await join(A.id, users.adminA.id, 'admin');
  await join(A.id, users.editorA.id, 'editor');
  await join(A.id, users.viewerA.id, 'viewer');
  await join(A.id, users.msp.id, 'admin');
  await join(B.id, users.msp.id, 'admin');
  const tokenB = await freshApiToken(db, users.msp.id, [B.id], 'admin');
  const tokenAB = await freshApiToken(db, users.msp.id, [A.id, B.id], 'admin');
  const sessions: Partial<Record<ActorName, string>> = {};
  for (const actor of ['ownerA', 'adminA', 'editorA', 'viewerA', 'memberB'] as const) {
    sessions[actor] = await freshSession(db, users[actor].id);
  }
  return {
    db,
    users,
    loginPassword,
    orgs: { A, B },
    bearer: { tokenB: tokenB.token, tokenAB: tokenAB.token },
    sessions,
    licenseKey,
  };
}

/** The user a caller acts for (null for anonymous). */
export function userOf(f: Fixtures, actor: ActorName): UserFixture | null {
  if (actor === 'anonymous') return null;
  if (actor === 'tokenB' || actor === 'tokenAB') return f.users.msp;
  return f.users[actor];
}
