import { createClient, reportResources, TenantryError } from '@tenantry/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createOrgOver,
  createTokenOver,
  type RestUser,
  rest,
  signUpOver,
  startTestServer,
  type TestServer,
} from './server.js';

// Live resource updates over SSE (`resources.live`) as an integration follows them: an org's
// stream carries its own resources and those shared with it — a share shows up at once, an
// unshare takes the resource away at once — and nothing of any other org. Two processes are
// covered by tests/ops/scale-out.test.ts; here the sharing rules and the stream's end.

let server: TestServer;
let alice: RestUser;
let bob: RestUser;
let orgA: { id: string; slug: string };
let orgB: { id: string; slug: string };
let tokenA: string;
let tokenB: string;
let agentA: string;
let agentB: string;

type Event = { kind: 'upsert'; resource: Record<string, any> } | { kind: 'remove'; resourceId: string; orgId: string };

function follow(token: string, org: string) {
  const events: Event[] = [];
  const errors: TenantryError[] = [];
  let started = false;
  const client = createClient({ url: server.url, token, org });
  const sub = client.resources.live.subscribe(undefined, {
    onStarted: () => {
      started = true;
    },
    onData: (event) => events.push(event as Event),
    onError: (error) => errors.push(TenantryError.fromUnknown(error)),
  });
  return {
    events,
    errors,
    stop: () => sub.unsubscribe(),
    ready: () => expect.poll(() => started, { timeout: 10_000 }).toBe(true),
  };
}

async function agentOf(user: RestUser, orgId: string, name: string): Promise<string> {
  const res = await rest(server.url, 'POST', '/api/agents', {
    cookie: user.cookie,
    headers: { 'x-org-id': orgId },
    body: { name },
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.token;
}

const report = (token: string, name: string, status = 'online', cpu = 0.2) =>
  reportResources({ url: server.url, token }, { resources: [{ type: 'host', name, status, cpu }] });

beforeAll(async () => {
  server = await startTestServer({ redis: true });
  alice = await signUpOver(server.url, 'Live Alice');
  bob = await signUpOver(server.url, 'Live Bob');
  orgA = await createOrgOver(server.url, alice, 'Live A');
  orgB = await createOrgOver(server.url, bob, 'Live B');
  ({ token: tokenA } = await createTokenOver(server.url, alice, { orgIds: [orgA.id] }));
  ({ token: tokenB } = await createTokenOver(server.url, bob, { orgIds: [orgB.id] }));
  agentA = await agentOf(alice, orgA.id, 'a');
  agentB = await agentOf(bob, orgB.id, 'b');
});

afterAll(async () => {
  await server?.close();
});

describe('resources.live', () => {
  it("carries the org's own changes and never another org's", async () => {
    const a = follow(tokenA, orgA.id);
    const b = follow(tokenB, orgB.id);
    try {
      await Promise.all([a.ready(), b.ready()]);
      await report(agentA, 'a-host', 'online', 0.3);
      await report(agentB, 'b-host', 'online', 0.4);
      await report(agentA, 'a-host', 'degraded', 0.95);
      await expect.poll(() => a.events.length, { timeout: 10_000 }).toBe(2);
      await expect.poll(() => b.events.length, { timeout: 10_000 }).toBe(1);
      expect(a.events.map((e) => e.kind === 'upsert' && [e.resource.name, e.resource.status])).toEqual([
        ['a-host', 'online'],
        ['a-host', 'degraded'],
      ]);
      expect(
        a.events.every((e) => e.kind === 'upsert' && e.resource.orgId === orgA.id && e.resource.shared === null),
      ).toBe(true);
      expect(JSON.stringify(b.events)).not.toContain('a-host');
    } finally {
      a.stop();
      b.stop();
    }
  });

  it('shows a shared resource at once, follows it, and takes it away at once when unshared', async () => {
    const host = (
      await rest(server.url, 'GET', '/api/resources?search=a-host', { token: tokenA, headers: { 'x-org-id': orgA.id } })
    ).body.resources[0];
    const b = follow(tokenB, orgB.id);
    try {
      await b.ready();
      const share = await rest(server.url, 'POST', `/api/orgs/${orgA.id}/shares`, {
        cookie: alice.cookie,
        body: { targetOrgId: orgB.id, resourceType: 'host', resourceId: host.id, role: 'viewer' },
      });
      expect(share.status, JSON.stringify(share.body)).toBe(201);
      await expect.poll(() => b.events.length, { timeout: 10_000 }).toBe(1);
      expect(b.events[0]).toMatchObject({
        kind: 'upsert',
        resource: {
          id: host.id,
          orgId: orgA.id,
          shared: { fromOrgId: orgA.id, fromOrgName: 'Live A', role: 'viewer' },
        },
      });

      await report(agentA, 'a-host', 'online', 0.5);
      await expect.poll(() => b.events.length, { timeout: 10_000 }).toBe(2);
      expect(b.events[1]).toMatchObject({ kind: 'upsert', resource: { id: host.id, status: 'online', cpu: 0.5 } });

      const removed = await rest(server.url, 'DELETE', `/api/orgs/${orgA.id}/shares/${share.body.id}`, {
        cookie: alice.cookie,
      });
      expect(removed.status).toBe(200);
      await expect.poll(() => b.events.length, { timeout: 10_000 }).toBe(3);
      expect(b.events[2]).toEqual({ kind: 'remove', resourceId: host.id, orgId: orgA.id });

      await report(agentA, 'a-host', 'stopped', 0.1);
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(b.events).toHaveLength(3);
    } finally {
      b.stop();
    }
  });

  it('ends the stream when the org is suspended, and refuses a stream of another org', async () => {
    const org = await createOrgOver(server.url, alice, 'Live Paused');
    const { token } = await createTokenOver(server.url, alice, { orgIds: [org.id] });
    const s = follow(token, org.id);
    const stranger = follow(tokenB, orgA.id);
    try {
      await s.ready();
      // Alice signed up first: she is the platform's superadmin.
      expect(alice.platformRole).toBe('superadmin');
      const suspended = await rest(server.url, 'POST', `/api/admin/tenants/${org.id}/suspend`, {
        cookie: alice.cookie,
        body: {},
      });
      expect(suspended.status, JSON.stringify(suspended.body)).toBe(200);
      await expect.poll(() => s.errors.length, { timeout: 10_000 }).toBeGreaterThan(0);
      expect(s.errors[0]!.code).toBe('ORG_SUSPENDED');
      await expect.poll(() => stranger.errors.length, { timeout: 10_000 }).toBeGreaterThan(0);
      expect(stranger.errors[0]!.code).toBe('ORG_ACCESS_DENIED');
      expect(stranger.events).toEqual([]);
    } finally {
      s.stop();
      stranger.stop();
    }
  });
});
