import type { TestDatabase } from '@tenantry/db/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentToken } from '../agent-report.js';
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

// Agents, resources and sharing over REST (SPEC §8; Pulse's sharing API): agents report with
// their own org-bound token, every org sees its own resources plus those shared with it, and
// the server re-checks every id against the org that names it.

let tdb: TestDatabase;
let app: FastifyInstance;
let root: TestUser;
let alice: TestUser; // owner of A
let bob: TestUser; // owner of B
let vera: TestUser; // viewer of A
let eddie: TestUser; // editor of A
let orgA: { id: string; slug: string };
let orgB: { id: string; slug: string };
let orgC: { id: string; slug: string };
let agentA: { id: string; token: string };
let agentB: { id: string; token: string };

const as = (user: TestUser, org: { id: string }) => ({ cookie: user.cookie, headers: { 'x-org-id': org.id } });
const report = (token: string, body: unknown) =>
  http(app, 'POST', '/api/agent/report', { headers: { authorization: `Bearer ${token}` }, body });

async function register(user: TestUser, org: { id: string }, name: string) {
  const res = await http(app, 'POST', '/api/agents', { ...as(user, org), body: { name } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; name: string; token: string };
}

async function list(user: TestUser, org: { id: string }, query = '') {
  const res = await http(app, 'GET', `/api/resources${query}`, as(user, org));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { resources: Record<string, any>[]; nextCursor: string | null };
}

beforeAll(async () => {
  tdb = await openTestDatabase('postgresql');
  app = await testApp(tdb.db, { ...(await multiTenantEnv()), AGENT_OFFLINE_AFTER: '2' });
  root = await signUp(app, 'Root');
  alice = await signUp(app, 'Alice');
  bob = await signUp(app, 'Bob');
  vera = await signUp(app, 'Vera');
  eddie = await signUp(app, 'Eddie');
  orgA = await createOrgAs(app, alice, 'Resources A');
  orgB = await createOrgAs(app, bob, 'Resources B');
  orgC = await createOrgAs(app, bob, 'Resources C');
  await addMember(app, alice, orgA.id, vera, 'viewer');
  await addMember(app, alice, orgA.id, eddie, 'editor');
  agentA = await register(alice, orgA, 'pve-agent');
  agentB = await register(bob, orgB, 'b-agent');
  const a = await report(agentA.token, {
    resources: [
      { type: 'host', name: 'pve-1', status: 'online', cpu: 0.42, memory: 0.61, disk: 0.3 },
      { type: 'vm', name: 'web-01', status: 'running', cpu: 0.12, memory: 0.33, disk: 0.5 },
      { type: 'container', name: 'db-01', status: 'stopped' },
      { type: 'storage', name: 'local-zfs', status: 'degraded', disk: 0.93 },
    ],
  });
  expect(a.status, JSON.stringify(a.body)).toBe(200);
  const b = await report(agentB.token, { resources: [{ type: 'host', name: 'b-host', status: 'online', cpu: 0.5 }] });
  expect(b.status).toBe(200);
});

afterAll(async () => {
  await app?.close();
  await tdb?.drop();
});

describe('agents', () => {
  it('registers with a token shown once that names its org and agent', async () => {
    expect(agentA.token).toMatch(/^tna_[\w-]{43}\.[\w-]{43}$/);
    expect(parseAgentToken(agentA.token)).toMatchObject({ orgId: orgA.id, agentId: agentA.id });
    const listed = await http(app, 'GET', '/api/agents', as(vera, orgA));
    expect(listed.status).toBe(200);
    expect(listed.body.agents).toEqual([
      expect.objectContaining({ id: agentA.id, name: 'pve-agent', resources: 4, online: true }),
    ]);
    expect(JSON.stringify(listed.body)).not.toContain(agentA.token.split('.')[1]);
  });

  it('enforces the tier limit, unique names and the admin role', async () => {
    const over = await http(app, 'POST', '/api/agents', { ...as(alice, orgA), body: { name: 'second' } });
    expect(over.status).toBe(403);
    expect(over.body.code).toBe('LIMIT_REACHED');
    expect(over.body.message).toContain('1 agent');
    const editor = await http(app, 'POST', '/api/agents', { ...as(eddie, orgA), body: { name: 'x' } });
    expect(editor.body.code).toBe('PERMISSION_DENIED');
    const raised = await http(app, 'PATCH', `/api/admin/tenants/${orgC.id}/limits`, {
      cookie: root.cookie,
      body: { maxAgents: 5 },
    });
    expect(raised.status, JSON.stringify(raised.body)).toBe(200);
    await register(bob, orgC, 'c-1');
    const dup = await http(app, 'POST', '/api/agents', { ...as(bob, orgC), body: { name: 'c-1' } });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe('AGENT_NAME_TAKEN');
  });

  it('shows an agent offline after the configured silence', async () => {
    const fresh = await register(bob, orgC, 'silent');
    const before = await http(app, 'GET', '/api/agents', as(bob, orgC));
    expect(before.body.agents.find((a: { id: string }) => a.id === fresh.id).online).toBe(false);
    await report(fresh.token, { resources: [{ type: 'host', name: 'h', status: 'online' }] });
    const now = await http(app, 'GET', '/api/agents', as(bob, orgC));
    expect(now.body.agents.find((a: { id: string }) => a.id === fresh.id).online).toBe(true);
    await new Promise((r) => setTimeout(r, 2_100));
    const later = await http(app, 'GET', '/api/agents', as(bob, orgC));
    expect(later.body.agents.find((a: { id: string }) => a.id === fresh.id)).toMatchObject({ online: false });
  });
});

describe('the agent report', () => {
  it('upserts by agent and name, and counts what it created', async () => {
    const res = await report(agentA.token, {
      resources: [
        { type: 'host', name: 'pve-1', status: 'degraded', cpu: 0.97, memory: 0.61, disk: 0.3 },
        { type: 'vm', name: 'web-02', status: 'running' },
      ],
      version: '1.4.2',
    });
    expect(res.body).toEqual({ ok: true, agentId: agentA.id, resources: 2, created: 1, updated: 1 });
    const page = await list(alice, orgA);
    expect(page.resources.map((r) => r.name)).toEqual(['db-01', 'local-zfs', 'pve-1', 'web-01', 'web-02']);
    expect(page.resources.find((r) => r.name === 'pve-1')).toMatchObject({
      status: 'degraded',
      cpu: 0.97,
      shared: null,
    });
  });

  it('refuses bad bodies with the field named, and nothing is written', async () => {
    const cases: [unknown, string][] = [
      [{ resources: [{ type: 'router', name: 'x', status: 'online' }] }, 'type'],
      [{ resources: [{ type: 'host', name: 'x', status: 'online', cpu: 1.5 }] }, 'cpu'],
      [{ resources: [] }, 'resources'],
      [{ resources: [{ type: 'host', name: 'x', status: 'on fire' }] }, 'status'],
      [{ resources: [{ type: 'host', name: 'x', status: 'online', extra: 1 }] }, ''],
    ];
    for (const [body, field] of cases) {
      const res = await report(agentA.token, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      if (field) expect(JSON.stringify(res.body.issues)).toContain(field);
    }
    const dup = await report(agentA.token, {
      resources: [
        { type: 'host', name: 'same', status: 'online' },
        { type: 'vm', name: 'same', status: 'online' },
      ],
    });
    expect(dup.status).toBe(400);
    expect((await list(alice, orgA, '?search=same')).resources).toEqual([]);
    const notJson = await http(app, 'POST', '/api/agent/report', {
      headers: { authorization: `Bearer ${agentA.token}` },
      raw: '{"resources": [',
    });
    expect(notJson.status).toBe(400);
  });

  it('answers 401 to anything but a live agent token', async () => {
    const body = { resources: [{ type: 'host', name: 'x', status: 'online' }] };
    const forged = `${agentA.token.split('.')[0]}.${'A'.repeat(43)}`;
    for (const token of [forged, 'tna_nonsense', 'tnt_whatever', agentB.token.replace(/.$/, 'x')]) {
      const res = await report(token, body);
      expect(res.status, token).toBe(401);
      expect(res.body.code).toBe('UNAUTHENTICATED');
    }
    const none = await http(app, 'POST', '/api/agent/report', { body });
    expect(none.status).toBe(401);
    // An agent token is no API token.
    const asApi = await http(app, 'GET', '/api/resources', { headers: { authorization: `Bearer ${agentA.token}` } });
    expect(asApi.status).toBe(401);
  });

  it('stops a suspended org’s agents', async () => {
    const org = await createOrgAs(app, alice, 'Resources Paused');
    const agent = await register(alice, org, 'p');
    expect(
      (await http(app, 'POST', `/api/admin/tenants/${org.id}/suspend`, { cookie: root.cookie, body: {} })).status,
    ).toBe(200);
    const res = await report(agent.token, { resources: [{ type: 'host', name: 'x', status: 'online' }] });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('ORG_SUSPENDED');
  });
});

describe('the resources list and detail', () => {
  it('filters by type and status, searches by name and pages by cursor', async () => {
    expect((await list(vera, orgA, '?type=vm')).resources.map((r) => r.name)).toEqual(['web-01', 'web-02']);
    expect((await list(vera, orgA, '?status=running')).resources.map((r) => r.name)).toEqual(['web-01', 'web-02']);
    expect((await list(vera, orgA, '?search=ZFS')).resources.map((r) => r.name)).toEqual(['local-zfs']);
    expect((await list(vera, orgA, '?search=%25')).resources).toEqual([]);
    const first = await list(vera, orgA, '?limit=2');
    expect(first.resources.map((r) => r.name)).toEqual(['db-01', 'local-zfs']);
    const second = await list(vera, orgA, `?limit=2&cursor=${first.nextCursor}`);
    expect(second.resources.map((r) => r.name)).toEqual(['pve-1', 'web-01']);
    const third = await list(vera, orgA, `?limit=2&cursor=${second.nextCursor}`);
    expect(third).toMatchObject({ nextCursor: null });
    expect(third.resources.map((r) => r.name)).toEqual(['web-02']);
    const bad = await http(app, 'GET', '/api/resources?cursor=garbage', as(vera, orgA));
    expect(bad.status).toBe(400);
    expect((await http(app, 'GET', '/api/resources?limit=500', as(vera, orgA))).status).toBe(400);
  });

  it('lists only the org’s own resources, whichever org is asked', async () => {
    expect((await list(bob, orgB)).resources.map((r) => r.name)).toEqual(['b-host']);
    const intruder = await http(app, 'GET', '/api/resources', as(bob, orgA));
    expect(intruder.status).toBe(403);
    expect(intruder.body.code).toBe('ORG_ACCESS_DENIED');
  });

  it('reads one resource of the org, and none of another org', async () => {
    const pve = (await list(alice, orgA)).resources.find((r) => r.name === 'pve-1')!;
    const detail = await http(app, 'GET', `/api/resources/${pve.id}`, as(vera, orgA));
    expect(detail.body).toMatchObject({ id: pve.id, agentName: 'pve-agent', shared: null });
    const foreign = await http(app, 'GET', `/api/resources/${pve.id}`, as(bob, orgB));
    expect(foreign.status).toBe(404);
    expect(foreign.body.code).toBe('RESOURCE_NOT_FOUND');
  });

  it('lets editors change notes and tags, not viewers', async () => {
    const web = (await list(alice, orgA, '?search=web-01')).resources[0]!;
    const ok = await http(app, 'PATCH', `/api/resources/${web.id}`, {
      ...as(eddie, orgA),
      body: { notes: 'front door', tags: ['prod', 'prod', 'web'] },
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toMatchObject({ notes: 'front door', tags: ['prod', 'web'] });
    const viewer = await http(app, 'PATCH', `/api/resources/${web.id}`, { ...as(vera, orgA), body: { notes: 'x' } });
    expect(viewer.body.code).toBe('PERMISSION_DENIED');
    const other = await http(app, 'PATCH', `/api/resources/${web.id}`, { ...as(bob, orgB), body: { notes: 'x' } });
    expect(other.body.code).toBe('RESOURCE_NOT_FOUND');
  });
});

describe('sharing', () => {
  let pveId: string;
  let shareId: string;

  beforeAll(async () => {
    pveId = (await list(alice, orgA, '?search=pve-1')).resources[0]!.id;
  });

  it('shows a shared resource beside the receiver’s own, marked as shared', async () => {
    const res = await http(app, 'POST', `/api/orgs/${orgA.id}/shares`, {
      cookie: alice.cookie,
      body: { targetOrgId: orgB.id, resourceType: 'host', resourceId: pveId, role: 'viewer' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    shareId = res.body.id;
    expect(res.body).toMatchObject({
      targetOrgId: orgB.id,
      targetOrgName: 'Resources B',
      resourceName: 'pve-1',
      role: 'viewer',
    });
    const page = await list(bob, orgB);
    expect(page.resources.map((r) => [r.name, r.shared?.fromOrgName ?? null])).toEqual([
      ['b-host', null],
      ['pve-1', 'Resources A'],
    ]);
    const outgoing = await http(app, 'GET', `/api/orgs/${orgA.id}/shares`, { cookie: vera.cookie });
    expect(outgoing.body.shares).toHaveLength(1);
    const incoming = await http(app, 'GET', `/api/orgs/${orgB.id}/shares/incoming`, { cookie: bob.cookie });
    expect(incoming.body.shares).toEqual([
      expect.objectContaining({ id: shareId, grantingOrgId: orgA.id, role: 'viewer' }),
    ]);
    const detail = await http(app, 'GET', `/api/resources/${pveId}`, as(bob, orgB));
    expect(detail.body.shared).toMatchObject({ fromOrgId: orgA.id, role: 'viewer' });
  });

  it('keeps a viewer share read-only, and refuses a second share to the same org', async () => {
    const write = await http(app, 'PATCH', `/api/resources/${pveId}`, {
      ...as(bob, orgB),
      body: { notes: 'mine now' },
    });
    expect(write.status).toBe(403);
    expect(write.body.code).toBe('SHARE_ROLE_INSUFFICIENT');
    const again = await http(app, 'POST', `/api/orgs/${orgA.id}/shares`, {
      cookie: alice.cookie,
      body: { targetOrgId: orgB.id, resourceType: 'host', resourceId: pveId, role: 'admin' },
    });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('SHARE_EXISTS');
  });

  it('re-checks that the resource belongs to the sharing org', async () => {
    const bHost = (await list(bob, orgB, '?search=b-host')).resources[0]!;
    const cases: [Record<string, unknown>, string][] = [
      [{ targetOrgId: orgC.id, resourceType: 'host', resourceId: bHost.id, role: 'viewer' }, 'RESOURCE_NOT_FOUND'],
      [{ targetOrgId: orgC.id, resourceType: 'vm', resourceId: pveId, role: 'viewer' }, 'RESOURCE_NOT_FOUND'],
      [{ targetOrgId: orgA.id, resourceType: 'host', resourceId: pveId, role: 'viewer' }, 'SHARE_TARGET_INVALID'],
      [
        {
          targetOrgId: '00000000-0000-4000-8000-000000000000',
          resourceType: 'host',
          resourceId: pveId,
          role: 'viewer',
        },
        'SHARE_TARGET_INVALID',
      ],
    ];
    for (const [body, code] of cases) {
      const res = await http(app, 'POST', `/api/orgs/${orgA.id}/shares`, { cookie: alice.cookie, body });
      expect(res.body.code, JSON.stringify(body)).toBe(code);
    }
    // B holds a viewer share of A's host: it may not share it on.
    const reshare = await http(app, 'POST', `/api/orgs/${orgB.id}/shares`, {
      cookie: bob.cookie,
      body: { targetOrgId: orgC.id, resourceType: 'host', resourceId: pveId, role: 'viewer' },
    });
    expect(reshare.body.code).toBe('SHARE_ROLE_INSUFFICIENT');
    // Only admins share.
    const viewer = await http(app, 'POST', `/api/orgs/${orgA.id}/shares`, {
      cookie: vera.cookie,
      body: { targetOrgId: orgC.id, resourceType: 'host', resourceId: pveId, role: 'viewer' },
    });
    expect(viewer.body.code).toBe('PERMISSION_DENIED');
  });

  it('takes a removed share away at once, and removes shares only of the org that granted them', async () => {
    const foreign = await http(app, 'DELETE', `/api/orgs/${orgB.id}/shares/${shareId}`, { cookie: bob.cookie });
    expect(foreign.status).toBe(404);
    expect(foreign.body.code).toBe('SHARE_NOT_FOUND');
    const removed = await http(app, 'DELETE', `/api/orgs/${orgA.id}/shares/${shareId}`, { cookie: alice.cookie });
    expect(removed.status).toBe(200);
    expect((await list(bob, orgB)).resources.map((r) => r.name)).toEqual(['b-host']);
    expect((await http(app, 'GET', `/api/resources/${pveId}`, as(bob, orgB))).status).toBe(404);
  });

  it('lets an editor share change the resource, and an admin share be shared on once', async () => {
    const admin = await http(app, 'POST', `/api/orgs/${orgA.id}/shares`, {
      cookie: alice.cookie,
      body: { targetOrgId: orgB.id, resourceType: 'host', resourceId: pveId, role: 'admin' },
    });
    expect(admin.status).toBe(201);
    const write = await http(app, 'PATCH', `/api/resources/${pveId}`, {
      ...as(bob, orgB),
      body: { notes: 'checked by B' },
    });
    expect(write.status, JSON.stringify(write.body)).toBe(200);
    expect((await http(app, 'GET', `/api/resources/${pveId}`, as(alice, orgA))).body.notes).toBe('checked by B');

    const reshare = await http(app, 'POST', `/api/orgs/${orgB.id}/shares`, {
      cookie: bob.cookie,
      body: { targetOrgId: orgC.id, resourceType: 'host', resourceId: pveId, role: 'admin' },
    });
    expect(reshare.status, JSON.stringify(reshare.body)).toBe(201);
    expect((await list(bob, orgC)).resources.map((r) => [r.name, r.shared?.fromOrgId])).toContainEqual([
      'pve-1',
      orgB.id,
    ]);
    // C got it through a re-share: it may not share it further.
    const further = await http(app, 'POST', `/api/orgs/${orgC.id}/shares`, {
      cookie: bob.cookie,
      body: { targetOrgId: orgB.id, resourceType: 'host', resourceId: pveId, role: 'viewer' },
    });
    expect(further.body.code).toBe('SHARE_ROLE_INSUFFICIENT');

    // Removing A's share removes B's re-share too.
    expect(
      (await http(app, 'DELETE', `/api/orgs/${orgA.id}/shares/${admin.body.id}`, { cookie: alice.cookie })).status,
    ).toBe(200);
    expect((await list(bob, orgC)).resources.map((r) => r.name)).not.toContain('pve-1');
    expect((await http(app, 'GET', `/api/orgs/${orgB.id}/shares`, { cookie: bob.cookie })).body.shares).toEqual([]);
  });
});

describe('removing an agent', () => {
  it('removes its resources and their shares, and only admins may', async () => {
    const org = await createOrgAs(app, alice, 'Resources Gone');
    const agent = await register(alice, org, 'gone');
    await report(agent.token, { resources: [{ type: 'host', name: 'g', status: 'online' }] });
    const gId = (await list(alice, org)).resources[0]!.id;
    expect(
      (
        await http(app, 'POST', `/api/orgs/${org.id}/shares`, {
          cookie: alice.cookie,
          body: { targetOrgId: orgB.id, resourceType: 'host', resourceId: gId, role: 'viewer' },
        })
      ).status,
    ).toBe(201);
    expect((await list(bob, orgB)).resources.map((r) => r.name)).toContain('g');
    const other = await http(app, 'DELETE', `/api/agents/${agent.id}`, as(bob, orgB));
    expect(other.body.code).toBe('AGENT_NOT_FOUND');
    const res = await http(app, 'DELETE', `/api/agents/${agent.id}`, as(alice, org));
    expect(res.status).toBe(200);
    expect((await list(alice, org)).resources).toEqual([]);
    expect((await list(bob, orgB)).resources.map((r) => r.name)).not.toContain('g');
    expect((await report(agent.token, { resources: [{ type: 'host', name: 'g', status: 'online' }] })).status).toBe(
      401,
    );
  });
});

describe('the lean list path (API token naming its org by id)', () => {
  let tokenA: string;
  let tokenAB: string;

  const asToken = (token: string, orgRef: string, query = '') =>
    http(app, 'GET', `/api/resources${query}`, { headers: { authorization: `Bearer ${token}`, 'x-org-id': orgRef } });

  beforeAll(async () => {
    await addMember(app, bob, orgB.id, alice, 'viewer');
    const a = await http(app, 'POST', '/api/tokens', {
      cookie: alice.cookie,
      body: { name: 'lean-a', orgIds: [orgA.id] },
    });
    tokenA = a.body.token;
    const ab = await http(app, 'POST', '/api/tokens', {
      cookie: alice.cookie,
      body: { name: 'lean-ab', orgIds: [orgA.id, orgB.id] },
    });
    tokenAB = ab.body.token;
  });

  it('answers the same pages as the procedure', async () => {
    for (const query of ['', '?type=vm', '?status=running', '?search=zfs', '?limit=2']) {
      const lean = await asToken(tokenA, orgA.id, query);
      const slow = await asToken(tokenA, orgA.slug, query); // a slug goes through the procedure
      expect(lean.status, query).toBe(200);
      expect(lean.body, query).toEqual(slow.body);
    }
    const first = await asToken(tokenA, orgA.id, '?limit=2');
    const next = await asToken(tokenA, orgA.id, `?limit=2&cursor=${first.body.nextCursor}`);
    expect(next.body.resources.map((r: { name: string }) => r.name)).toEqual(['pve-1', 'web-01']);
  });

  it('reaches only the orgs the token is bound to', async () => {
    const bound = await asToken(tokenAB, orgB.id);
    expect(bound.status).toBe(200);
    expect(bound.body.resources.map((r: { name: string }) => r.name)).toEqual(['b-host']);
    for (const ref of [orgB.id, orgC.id, tdb.db.defaultOrgId, '00000000-0000-4000-8000-000000000000']) {
      const res = await asToken(tokenA, ref);
      expect(res.status, ref).toBe(403);
      expect(res.body).toMatchObject({ code: 'ORG_ACCESS_DENIED' });
    }
  });

  it('answers 401 to unknown and revoked tokens, and 400 to a bad query', async () => {
    expect((await asToken(`tnt_${'x'.repeat(43)}`, orgA.id)).status).toBe(401);
    const made = await http(app, 'POST', '/api/tokens', {
      cookie: alice.cookie,
      body: { name: 'gone', orgIds: [orgA.id] },
    });
    expect((await asToken(made.body.token, orgA.id)).status).toBe(200);
    expect((await http(app, 'DELETE', `/api/tokens/${made.body.id}`, { cookie: alice.cookie })).status).toBe(200);
    const revoked = await asToken(made.body.token, orgA.id);
    expect(revoked.status).toBe(401);
    expect(revoked.body.code).toBe('UNAUTHENTICATED');
    const bad = await asToken(tokenA, orgA.id, '?type=router');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
  });

  it('follows membership changes at once', async () => {
    const carol = await signUp(app, 'Carol');
    await addMember(app, bob, orgC.id, carol, 'viewer');
    const made = await http(app, 'POST', '/api/tokens', {
      cookie: carol.cookie,
      body: { name: 'c', orgIds: [orgC.id] },
    });
    expect((await asToken(made.body.token, orgC.id)).status).toBe(200);
    expect((await http(app, 'DELETE', `/api/orgs/${orgC.id}/members/${carol.id}`, { cookie: bob.cookie })).status).toBe(
      200,
    );
    expect((await asToken(made.body.token, orgC.id)).status).toBe(403);
  });

  it('refuses a suspended org and a disabled module', async () => {
    const org = await createOrgAs(app, alice, 'Lean Paused');
    const made = await http(app, 'POST', '/api/tokens', {
      cookie: alice.cookie,
      body: { name: 'p', orgIds: [org.id] },
    });
    const features = await http(app, 'PUT', `/api/admin/tenants/${org.id}/features`, {
      cookie: root.cookie,
      body: { features: { agents: false } },
    });
    expect(features.status, JSON.stringify(features.body)).toBe(200);
    expect((await asToken(made.body.token, org.id)).body.code).toBe('FEATURE_DISABLED');
    await http(app, 'POST', `/api/admin/tenants/${org.id}/suspend`, { cookie: root.cookie, body: {} });
    expect((await asToken(made.body.token, org.id)).body.code).toBe('ORG_SUSPENDED');
  });
});
