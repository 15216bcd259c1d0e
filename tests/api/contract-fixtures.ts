import { randomUUID } from 'node:crypto';
import { INVITATION_EMAIL_QUEUE, type InvitationEmailJob, invitationEmailJobId } from '@tenantry/worker';
import { Queue } from 'bullmq';
import { createOrgOver, createTokenOver, type RestUser, rest, signUpOver, testLicense } from './server.js';

/** What one operation's requests act with: built lazily, fresh for every operation. */
export class Fixtures {
  private cache = new Map<string, Promise<unknown>>();

  constructor(
    readonly url: string,
    /** The platform superadmin (first user), owner of every fixture organization. */
    readonly admin: RestUser,
    private readonly queuePrefix: string,
  ) {}

  private once<T>(key: string, make: () => Promise<T>): Promise<T> {
    if (!this.cache.has(key)) this.cache.set(key, make());
    return this.cache.get(key) as Promise<T>;
  }

  /** An organization of its own, owned by `admin`. */
  org(): Promise<{ id: string; slug: string }> {
    return this.once('org', () => createOrgOver(this.url, this.admin, 'Contract Org'));
  }

  /** A user who is an editor of `org()`. */
  member(): Promise<RestUser> {
    return this.once('member', async () => {
      const [org, user] = await Promise.all([this.org(), signUpOver(this.url, 'Contract Member')]);
      const added = await rest(this.url, 'POST', `/api/orgs/${org.id}/members`, {
        cookie: this.admin.cookie,
        body: { userId: user.id, role: 'editor' },
      });
      if (added.status !== 201) throw new Error(`add member: ${added.status} ${JSON.stringify(added.body)}`);
      return user;
    });
  }

  /** A user of the install who belongs to no fixture organization. */
  outsider(): Promise<RestUser> {
    return this.once('outsider', () => signUpOver(this.url, 'Contract Outsider'));
  }

  /** A pending invitation of `org()` to a signed-up user's email, with its token (from the queued mail). */
  invitation(): Promise<{ id: string; token: string; invitee: RestUser }> {
    return this.once('invitation', async () => {
      const [org, invitee] = await Promise.all([this.org(), signUpOver(this.url, 'Contract Invitee')]);
      const created = await rest(this.url, 'POST', `/api/orgs/${org.id}/invitations`, {
        cookie: this.admin.cookie,
        body: { email: invitee.email, role: 'viewer' },
      });
      if (created.status !== 201) throw new Error(`invite: ${created.status} ${JSON.stringify(created.body)}`);
      const queue = new Queue<InvitationEmailJob>(INVITATION_EMAIL_QUEUE, {
        connection: { url: 'redis://127.0.0.1:6379' },
        prefix: this.queuePrefix,
      });
      try {
        const job = await queue.getJob(invitationEmailJobId(created.body.id, created.body.sendCount));
        if (!job) throw new Error('the invitation mail was not queued');
        return { id: created.body.id as string, token: job.data.token, invitee };
      } finally {
        await queue.close();
      }
    });
  }

  /** A deletion request of an org of its own (scheduled, not run: no worker here). */
  deletion(): Promise<{ id: string; orgId: string }> {
    return this.once('deletion', async () => {
      const org = await createOrgOver(this.url, this.admin, 'Contract Doomed');
      const res = await rest(this.url, 'DELETE', `/api/orgs/${org.id}?confirm=${encodeURIComponent(org.slug)}`, {
        cookie: this.admin.cookie,
      });
      if (res.status !== 202) throw new Error(`delete org: ${res.status} ${JSON.stringify(res.body)}`);
      return { id: res.body.deletionId as string, orgId: org.id };
    });
  }

  /** An alert rule of the admin's active org. */
  alertRule(): Promise<{ id: string }> {
    return this.once('alertRule', async () => {
      const res = await rest(this.url, 'POST', '/api/alert-rules', {
        cookie: this.admin.cookie,
        body: { name: 'Contract CPU', metric: 'cpu', comparison: 'gt', threshold: 0.9 },
      });
      if (res.status !== 201) throw new Error(`alert rule: ${res.status} ${JSON.stringify(res.body)}`);
      return { id: res.body.id as string };
    });
  }

  /** Another org of `admin`, to share with. */
  targetOrg(): Promise<{ id: string; slug: string }> {
    return this.once('targetOrg', () => createOrgOver(this.url, this.admin, 'Contract Target'));
  }

  /** An agent of `org()`, with its token. */
  agent(): Promise<{ id: string; token: string }> {
    return this.once('agent', async () => {
      const org = await this.org();
      const res = await rest(this.url, 'POST', '/api/agents', {
        cookie: this.admin.cookie,
        headers: { 'x-org-id': org.id },
        body: { name: 'contract-agent' },
      });
      if (res.status !== 201) throw new Error(`register agent: ${res.status} ${JSON.stringify(res.body)}`);
      return { id: res.body.id as string, token: res.body.token as string };
    });
  }

  /** A host of `org()`, reported by `agent()`. */
  resource(): Promise<{ id: string }> {
    return this.once('resource', async () => {
      const [org, agent] = [await this.org(), await this.agent()];
      const reported = await rest(this.url, 'POST', '/api/agent/report', {
        token: agent.token,
        body: { resources: [{ type: 'host', name: 'contract-host', status: 'online', cpu: 0.4 }] },
      });
      if (reported.status !== 200) throw new Error(`report: ${reported.status} ${JSON.stringify(reported.body)}`);
      const listed = await rest(this.url, 'GET', '/api/resources', {
        cookie: this.admin.cookie,
        headers: { 'x-org-id': org.id },
      });
      return { id: listed.body.resources[0].id as string };
    });
  }

  /** A share of `resource()` with `targetOrg()`. */
  share(): Promise<{ id: string }> {
    return this.once('share', async () => {
      const [org, target, resource] = [await this.org(), await this.targetOrg(), await this.resource()];
      const res = await rest(this.url, 'POST', `/api/orgs/${org.id}/shares`, {
        cookie: this.admin.cookie,
        body: { targetOrgId: target.id, resourceType: 'host', resourceId: resource.id, role: 'viewer' },
      });
      if (res.status !== 201) throw new Error(`share: ${res.status} ${JSON.stringify(res.body)}`);
      return { id: res.body.id as string };
    });
  }

  /** An API token of `admin` bound to `org()`. */
  apiToken(): Promise<{ id: string; token: string }> {
    return this.once('apiToken', async () =>
      createTokenOver(this.url, this.admin, { orgIds: [(await this.org()).id], name: 'contract' }),
    );
  }
}

/** Values for path parameters, by name. A new path parameter needs an entry here. */
export const PATH_FIXTURES: Record<string, (f: Fixtures) => Promise<string>> = {
  orgId: async (f) => (await f.org()).id,
  userId: async (f) => (await f.member()).id,
  invitationId: async (f) => (await f.invitation()).id,
  token: async (f) => (await f.invitation()).token,
  tokenId: async (f) => (await f.apiToken()).id,
  deletionId: async (f) => (await f.deletion()).id,
  ruleId: async (f) => (await f.alertRule()).id,
  agentId: async (f) => (await f.agent()).id,
  resourceId: async (f) => (await f.resource()).id,
  shareId: async (f) => (await f.share()).id,
  // The mails of the development inbox; the contract server has none (see RECIPES).
  id: async () => randomUUID(),
};

/** What an operation needs beyond values generated from its schema. */
export interface Recipe {
  /** Session cookie of the caller (default: the superadmin's; null: none). */
  cookie?: (f: Fixtures) => Promise<string | null>;
  /** A bearer token to call with instead of a cookie (API or agent token). */
  bearer?: (f: Fixtures) => Promise<string>;
  /** Body fields that must be real (ids of users, credentials, keys). */
  body?: (f: Fixtures) => Promise<Record<string, unknown>>;
  query?: (f: Fixtures) => Promise<Record<string, string>>;
  /** Request headers (e.g. `X-Org-Id` for operations of the active org). */
  headers?: (f: Fixtures) => Promise<Record<string, string>>;
  /** Path parameters other than the generic fixtures. */
  params?: (f: Fixtures) => Promise<Record<string, string>>;
  /** Runs before the valid request (state the operation reads). */
  before?: (f: Fixtures) => Promise<void>;
  /** Why a valid request does not answer the documented success (yet), and what it answers. */
  expect?: { status: number; code: string; because: string };
}

/** Operations whose valid request needs more than the generic fixtures, by operationId. */
export const RECIPES: Record<string, Recipe> = {
  // Signing in ends the browser's previous session: no cookie, or the superadmin's would end.
  'auth-login': {
    cookie: async () => null,
    body: async (f) => ({ email: (await f.outsider()).email, password: 'correct horse battery staple' }),
  },
  'auth-logout': { cookie: async (f) => (await f.outsider()).cookie },
  'members-add': { body: async (f) => ({ userId: (await f.outsider()).id, role: 'viewer' }) },
  'members-updateRole': { body: async () => ({ role: 'viewer' }) },
  'orgs-transferOwnership': { body: async (f) => ({ userId: (await f.member()).id }) },
  'orgs-leave': {
    cookie: async (f) => (await f.member()).cookie,
  },
  'orgs-remove': { query: async (f) => ({ confirm: (await f.org()).slug }) },
  // The org of a scheduled deletion is restored by its owner.
  'deletions-restore': { params: async (f) => ({ orgId: (await f.deletion()).orgId }) },
  'admin-tenants-remove': { query: async (f) => ({ confirm: (await f.org()).slug }) },
  // Agents and resources act in the active org: the fixture org, by header.
  'agents-list': { headers: inFixtureOrg },
  'agents-register': { headers: inFixtureOrg },
  'agents-remove': { headers: inFixtureOrg },
  'resources-list': { headers: inFixtureOrg },
  'resources-byId': { headers: inFixtureOrg },
  'resources-update': { headers: inFixtureOrg },
  'shares-create': {
    body: async (f) => ({
      targetOrgId: (await f.targetOrg()).id,
      resourceType: 'host',
      resourceId: (await f.resource()).id,
      role: 'viewer',
    }),
  },
  'agent-report': { bearer: async (f) => (await f.agent()).token },
  'alertRules-create': { body: async () => ({ metric: 'cpu', comparison: 'gt', threshold: 0.9 }) },
  'logo-put': { body: async () => ({ contentType: 'image/png', data: TINY_PNG.toString('base64') }) },
  'logo-get': { before: putLogo },
  'devInbox-list': {
    expect: { status: 404, code: 'NOT_FOUND', because: 'a server with SMTP configured has no development inbox' },
  },
  'devInbox-byId': {
    expect: { status: 404, code: 'NOT_FOUND', because: 'a server with SMTP configured has no development inbox' },
  },
  'invitations-accept': { cookie: async (f) => (await f.invitation()).invitee.cookie },
  // Every outcome of a bulk invitation, so the answer is checked against each shape: a member
  // (skipped), a pending invitation (resent) and a new address (created, in a seat the free
  // tier's three would not leave).
  'invitations-createMany': {
    before: async (f) => {
      const org = await f.org();
      const res = await rest(f.url, 'PATCH', `/api/admin/tenants/${org.id}/limits`, {
        cookie: f.admin.cookie,
        body: { maxMembers: 10 },
      });
      if (res.status !== 200) throw new Error(`set limits: ${res.status} ${JSON.stringify(res.body)}`);
    },
    body: async (f) => ({
      invitations: [
        { email: (await f.member()).email, role: 'viewer' },
        { email: (await f.invitation()).invitee.email, role: 'viewer' },
        { email: `contract-bulk-${randomUUID().slice(0, 8)}@example.com`, role: 'editor' },
      ],
    }),
  },
  'admin-license-activate': { body: async () => ({ key: (await testLicense()).key }) },
};

/** A 1×1 PNG: the logo `logo-get` serves. */
const TINY_PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fe0dc2b4a30000000049454e44ae426082',
  'hex',
);

async function putLogo(f: Fixtures): Promise<void> {
  const org = await f.org();
  const res = await rest(f.url, 'PUT', `/api/orgs/${org.id}/logo`, {
    cookie: f.admin.cookie,
    body: { contentType: 'image/png', data: TINY_PNG.toString('base64') },
  });
  if (res.status !== 200) throw new Error(`put logo: ${res.status} ${JSON.stringify(res.body)}`);
}

async function inFixtureOrg(f: Fixtures): Promise<Record<string, string>> {
  return { 'x-org-id': (await f.org()).id };
}
