import { randomUUID } from 'node:crypto';
import { listAuditEvents, updateOrg } from '@tenantry/db';
import type { TestDatabase } from '@tenantry/db/testing';
import { ALERT_NOTIFICATION_QUEUE } from '@tenantry/worker/queues/alert-notification';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EvaluateOptions, evaluateAlertsOnReport, type ReportedResource } from '../alerts/evaluate.js';
import { createJobQueues, type JobQueues } from '../jobs.js';
import { report, type SeededResource, seedResources, shareResource } from './alert-fixtures.js';
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

// Alert rules over REST, and their evaluation on agent reports: an alert fires once per
// episode and resolves once, in the resource's own org only.

const REDIS_URL = 'redis://127.0.0.1:6379';
const prefix = `test-alerts-${randomUUID()}`;

let tdb: TestDatabase;
let app: FastifyInstance;
let redis: Redis;
let queues: JobQueues;
let owner: TestUser; // owner of A
let editor: TestUser;
let viewer: TestUser;
let other: TestUser; // owner of B
let orgA: { id: string; slug: string };
let orgB: { id: string; slug: string };
let hostsA: SeededResource[];
let agentA: string;
let hostsB: SeededResource[];

const inA = { 'x-org-id': '' };

async function createRule(user: TestUser, orgId: string, body: Record<string, unknown>) {
  return http(app, 'POST', '/api/alert-rules', { cookie: user.cookie, headers: { 'x-org-id': orgId }, body });
}

function evaluate(orgId: string, resources: ReportedResource[], opts: Partial<EvaluateOptions> = {}) {
  return tdb.db.tenant({ orgId }, (em) =>
    evaluateAlertsOnReport(em, orgId, resources, {
      queues,
      actor: { type: 'agent', id: agentA, label: 'agent-a', ip: '192.0.2.10' },
      ...opts,
    }),
  );
}

async function auditActions(orgId: string, action: string) {
  return (await tdb.db.tenant({ orgId }, (em) => listAuditEvents(em, orgId, { action, limit: 1000 }))).events;
}

beforeAll(async () => {
  tdb = await openTestDatabase('postgresql');
  app = await testApp(tdb.db, await multiTenantEnv());
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  queues = createJobQueues(redis, prefix);
  await signUp(app, 'Root');
  owner = await signUp(app, 'Owner');
  editor = await signUp(app, 'Editor');
  viewer = await signUp(app, 'Viewer');
  other = await signUp(app, 'Other');
  orgA = await createOrgAs(app, owner, 'Alerts A');
  orgB = await createOrgAs(app, other, 'Alerts B');
  await addMember(app, owner, orgA.id, editor, 'editor');
  await addMember(app, owner, orgA.id, viewer, 'viewer');
  inA['x-org-id'] = orgA.id;
  const a = await seedResources(tdb.db, orgA.id, [
    { name: 'pve-1' },
    { name: 'pve-2' },
    { name: 'db-1', type: 'vm' },
    { name: 'pve-3' },
  ]);
  hostsA = a.resources;
  agentA = a.agentId;
  hostsB = (await seedResources(tdb.db, orgB.id, [{ name: 'pve-1' }])).resources;
});

afterAll(async () => {
  for (const name of [ALERT_NOTIFICATION_QUEUE]) await queues?.get(name)?.obliterate({ force: true });
  await queues?.close();
  redis?.disconnect();
  await app?.close();
  await tdb?.drop();
});

describe('alert rules over REST', () => {
  it('lets an editor create a rule, which every member lists with its condition in words', async () => {
    const res = await createRule(editor, orgA.id, {
      name: 'Hosts hot',
      metric: 'cpu',
      comparison: 'gt',
      threshold: 0.9,
      durationSeconds: 300,
      resourceTypes: ['host'],
      namePattern: 'pve-*',
      recipients: ['ops@example.com', 'OPS@example.com'],
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'Hosts hot',
      condition: 'CPU above 90% for 5 min',
      recipients: ['ops@example.com'],
      enabled: true,
    });
    const list = await http(app, 'GET', '/api/alert-rules', { cookie: viewer.cookie, headers: inA });
    expect(list.status).toBe(200);
    expect(list.body.rules.map((r: { id: string }) => r.id)).toContain(res.body.id);
    const entries = await auditActions(orgA.id, 'alert_rule.created');
    expect(entries[0]).toMatchObject({ actorType: 'user', actorId: editor.id, targetId: res.body.id });
  });

  it('refuses rules that cannot evaluate with 400 and what to change', async () => {
    const bodies: [Record<string, unknown>, RegExp][] = [
      [{ name: 'x', metric: 'cpu', comparison: 'gt' }, /threshold between 0 and 1/],
      [{ name: 'x', metric: 'status', comparison: 'gt', statusValue: 'offline' }, /"eq".*"neq"/],
      [{ name: 'x', metric: 'status', comparison: 'eq' }, /needs statusValue/],
      [{ name: 'x', metric: 'memory', comparison: 'lt', threshold: 0.2, statusValue: 'offline' }, /no statusValue/],
    ];
    for (const [body, message] of bodies) {
      const res = await createRule(owner, orgA.id, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.message).toMatch(message);
    }
    const malformed: Record<string, unknown>[] = [
      { name: 'x', metric: 'load', comparison: 'gt', threshold: 0.5 },
      { name: 'x', metric: 'cpu', comparison: 'gt', threshold: 1.5 },
      { name: '', metric: 'cpu', comparison: 'gt', threshold: 0.5 },
      { name: 'x'.repeat(101), metric: 'cpu', comparison: 'gt', threshold: 0.5 },
      { name: 'x', metric: 'cpu', comparison: 'gt', threshold: 0.5, recipients: ['not an email'] },
      { name: 'x', metric: 'cpu', comparison: 'gt', threshold: 0.5, recipients: Array(21).fill('a@example.com') },
      { name: 'x', metric: 'cpu', comparison: 'gt', threshold: 0.5, resourceIds: ['nope'] },
      { name: 'x', metric: 'cpu', comparison: 'gt', threshold: 0.5, namePattern: 'p'.repeat(201) },
      { name: 'x', metric: 'cpu', comparison: 'gt', threshold: 0.5, durationSeconds: 604_801 },
      { name: 'x', metric: 'cpu', comparison: 'gt', threshold: 0.5, orgId: orgB.id },
    ];
    for (const body of malformed) {
      const res = await createRule(owner, orgA.id, body);
      expect(res.status, JSON.stringify(body).slice(0, 120)).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    }
  });

  it("refuses a rule on another org's resources, also one shared with this org", async () => {
    await shareResource(tdb.db, orgB.id, orgA.id, hostsB[0]!);
    for (const ids of [[hostsB[0]!.id], [hostsA[0]!.id, randomUUID()]]) {
      const res = await createRule(owner, orgA.id, {
        name: 'Foreign',
        metric: 'cpu',
        comparison: 'gt',
        threshold: 0.5,
        resourceIds: ids,
      });
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/not resources of this organization/);
    }
  });

  it('refuses viewers, other orgs and a disabled module with their codes', async () => {
    const rule = await createRule(owner, orgA.id, { name: 'Mine', metric: 'disk', comparison: 'gte', threshold: 0.8 });
    const ruleOfB = await createRule(other, orgB.id, {
      name: 'Theirs',
      metric: 'disk',
      comparison: 'gte',
      threshold: 0.8,
    });
    expect([rule.status, ruleOfB.status]).toEqual([201, 201]);
    const asViewer = await createRule(viewer, orgA.id, { name: 'v', metric: 'cpu', comparison: 'gt', threshold: 0.5 });
    expect([asViewer.status, asViewer.body.code]).toEqual([403, 'PERMISSION_DENIED']);
    const patchAsViewer = await http(app, 'PATCH', `/api/alert-rules/${rule.body.id}`, {
      cookie: viewer.cookie,
      headers: inA,
      body: { enabled: false },
    });
    expect(patchAsViewer.body.code).toBe('PERMISSION_DENIED');
    for (const [method, body] of [
      ['PATCH', { name: 'Pwned' }],
      ['DELETE', undefined],
    ] as const) {
      const res = await http(app, method, `/api/alert-rules/${ruleOfB.body.id}`, {
        cookie: owner.cookie,
        headers: inA,
        body,
      });
      expect([res.status, res.body.code]).toEqual([404, 'ALERT_RULE_NOT_FOUND']);
    }
    const outsider = await http(app, 'GET', '/api/alert-rules', {
      cookie: owner.cookie,
      headers: { 'x-org-id': orgB.id },
    });
    expect([outsider.status, outsider.body.code]).toEqual([403, 'ORG_ACCESS_DENIED']);
    const rulesOfB = await http(app, 'GET', '/api/alert-rules', {
      cookie: other.cookie,
      headers: { 'x-org-id': orgB.id },
    });
    expect(rulesOfB.body.rules.map((r: { name: string }) => r.name)).toEqual(['Theirs']);

    await tdb.db.platform({}, (em) => updateOrg(em, orgA.id, { featureOverrides: { alerts: false } }));
    try {
      for (const [method, url] of [
        ['GET', '/api/alert-rules'],
        ['GET', '/api/alerts'],
        ['GET', '/api/alerts/summary'],
      ] as const) {
        const res = await http(app, method, url, { cookie: owner.cookie, headers: inA });
        expect([res.status, res.body.code]).toEqual([403, 'FEATURE_DISABLED']);
      }
    } finally {
      await tdb.db.platform({}, (em) => updateOrg(em, orgA.id, { featureOverrides: {} }));
    }
    await http(app, 'DELETE', `/api/alert-rules/${rule.body.id}`, { cookie: owner.cookie, headers: inA });
  });

  it('turns a usage rule into a status rule without a leftover threshold', async () => {
    const rule = await createRule(owner, orgA.id, { name: 'Flip', metric: 'cpu', comparison: 'gt', threshold: 0.5 });
    const res = await http(app, 'PATCH', `/api/alert-rules/${rule.body.id}`, {
      cookie: owner.cookie,
      headers: inA,
      body: { metric: 'status', comparison: 'eq', statusValue: 'offline' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ threshold: null, statusValue: 'offline', condition: 'Status is offline' });
    await http(app, 'DELETE', `/api/alert-rules/${rule.body.id}`, { cookie: owner.cookie, headers: inA });
  });
});

describe('evaluation on agent reports', () => {
  let ruleId: string;

  beforeAll(async () => {
    const res = await createRule(owner, orgA.id, {
      name: 'pve-1 hot',
      metric: 'cpu',
      comparison: 'gt',
      threshold: 0.9,
      resourceIds: [hostsA[0]!.id],
      recipients: ['oncall@example.com'],
    });
    expect(res.status).toBe(201);
    ruleId = res.body.id;
  });

  it('fires once per episode under repeated reports, resolves once, and fires again in the next episode', async () => {
    const host = hostsA[0]!;
    const results = [];
    for (const cpu of [0.95, 0.97, 0.99, 0.93]) results.push(await evaluate(orgA.id, [report(host, { cpu })]));
    expect(results.map((r) => r.fired.length)).toEqual([1, 0, 0, 0]);
    const alert = results[0]!.fired[0]!;
    expect(alert).toMatchObject({ ruleId, resourceId: host.id, resourceName: 'pve-1', firedValue: 0.95 });

    const recovering = [];
    for (const cpu of [0.5, 0.4, 0.2]) recovering.push(await evaluate(orgA.id, [report(host, { cpu })]));
    expect(recovering.map((r) => r.resolved.length)).toEqual([1, 0, 0]);
    expect(recovering[0]!.resolved[0]).toMatchObject({ id: alert.id, resolvedValue: 0.5, resolution: 'recovered' });

    const again = await evaluate(orgA.id, [report(host, { cpu: 0.96 })]);
    expect(again.fired).toHaveLength(1);
    expect(again.fired[0]!.id).not.toBe(alert.id);
    await evaluate(orgA.id, [report(host, { cpu: 0.1 })]);

    const fired = await auditActions(orgA.id, 'alert.fired');
    const resolved = await auditActions(orgA.id, 'alert.resolved');
    expect(fired.filter((e) => e.details.ruleId === ruleId)).toHaveLength(2);
    expect(resolved.filter((e) => e.details.ruleId === ruleId)).toHaveLength(2);
    expect(fired[0]).toMatchObject({ actorType: 'agent', actorId: agentA, actorLabel: 'agent-a', ip: '192.0.2.10' });
  });

  it('enqueues one mail job per alert and event, carrying the org id, under a deterministic id', async () => {
    const host = hostsA[0]!;
    const { fired } = await evaluate(orgA.id, [report(host, { cpu: 0.99 })]);
    const { resolved } = await evaluate(orgA.id, [report(host, { cpu: 0.1 })]);
    const queue = queues.get(ALERT_NOTIFICATION_QUEUE)!;
    const firedJob = await queue.getJob(`alert-${fired[0]!.id}-fired`);
    const resolvedJob = await queue.getJob(`alert-${resolved[0]!.id}-resolved`);
    expect(firedJob?.data).toEqual({ orgId: orgA.id, alertId: fired[0]!.id, event: 'fired' });
    expect(resolvedJob?.data).toEqual({ orgId: orgA.id, alertId: fired[0]!.id, event: 'resolved' });
  });

  it('enqueues the mail jobs only after the report commits when given afterCommit', async () => {
    const host = hostsA[0]!;
    const queue = queues.get(ALERT_NOTIFICATION_QUEUE)!;
    const tasks: (() => Promise<void>)[] = [];
    const { fired } = await evaluate(orgA.id, [report(host, { cpu: 0.99 })], { afterCommit: (t) => tasks.push(t) });
    const jobId = `alert-${fired[0]!.id}-fired`;
    expect(await queue.getJob(jobId)).toBeUndefined();
    expect(tasks).toHaveLength(1);
    for (const task of tasks) await task();
    expect((await queue.getJob(jobId))?.data).toEqual({ orgId: orgA.id, alertId: fired[0]!.id, event: 'fired' });
    await evaluate(orgA.id, [report(host, { cpu: 0.1 })]);
  });

  it('fires once when reports of one breach arrive concurrently', async () => {
    const host = hostsA[0]!;
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => evaluate(orgA.id, [report(host, { cpu: 0.91 + i / 1000 })])),
    );
    expect(results.flatMap((r) => r.fired)).toHaveLength(1);
    const resolving = await Promise.all(
      Array.from({ length: 12 }, () => evaluate(orgA.id, [report(host, { cpu: 0 })])),
    );
    expect(resolving.flatMap((r) => r.resolved)).toHaveLength(1);
  });

  it('waits for the duration of the breach before firing, and starts over when it breaks', async () => {
    const rule = await createRule(owner, orgA.id, {
      name: 'db-1 memory',
      metric: 'memory',
      comparison: 'gte',
      threshold: 0.8,
      durationSeconds: 60,
      resourceTypes: ['vm'],
    });
    const vm = hostsA[2]!;
    const t0 = Date.now();
    const at = (s: number) => new Date(t0 + s * 1000);
    const outcomes = [];
    for (const [s, memory] of [
      [0, 0.85],
      [30, 0.9],
      [45, 0.5],
      [50, 0.85],
      [100, 0.85],
      [110, 0.88],
    ] as const) {
      const r = await evaluate(orgA.id, [report(vm, { memory })], { now: at(s) });
      outcomes.push(r.fired.length > 0 ? 'fire' : r.pending > 0 ? 'pending' : 'none');
    }
    expect(outcomes).toEqual(['pending', 'pending', 'none', 'pending', 'pending', 'fire']);
    const alerts = await http(app, 'GET', '/api/alerts?status=firing', { cookie: viewer.cookie, headers: inA });
    const mine = alerts.body.alerts.find((a: { ruleId: string }) => a.ruleId === rule.body.id);
    expect(mine).toMatchObject({ breachingSince: at(50).toISOString(), firedAt: at(110).toISOString() });
    await http(app, 'DELETE', `/api/alert-rules/${rule.body.id}`, { cookie: owner.cookie, headers: inA });
  });

  it('fires a status rule when a resource goes offline', async () => {
    const rule = await createRule(owner, orgA.id, {
      name: 'pve-3 offline',
      metric: 'status',
      comparison: 'eq',
      statusValue: 'offline',
      namePattern: 'pve-3',
    });
    const host = hostsA[3]!;
    expect((await evaluate(orgA.id, [report(host, { status: 'online' })])).fired).toHaveLength(0);
    const { fired } = await evaluate(orgA.id, [report(host, { status: 'offline' })]);
    expect(fired).toMatchObject([{ ruleId: rule.body.id, firedValue: 'offline', condition: 'Status is offline' }]);
    // A rule without recipients sends no mail.
    expect(await queues.get(ALERT_NOTIFICATION_QUEUE)!.getJob(`alert-${fired[0]!.id}-fired`)).toBeUndefined();
    await http(app, 'DELETE', `/api/alert-rules/${rule.body.id}`, { cookie: owner.cookie, headers: inA });
  });

  it('never fires in an org a resource is shared with: alerts belong to the resource’s own org', async () => {
    const everything = await createRule(other, orgB.id, {
      name: 'Everything',
      metric: 'cpu',
      comparison: 'gt',
      threshold: 0,
    });
    const byId = await createRule(other, orgB.id, {
      name: 'By name',
      metric: 'cpu',
      comparison: 'gt',
      threshold: 0,
      namePattern: 'pve-2',
    });
    expect([everything.status, byId.status]).toEqual([201, 201]);
    const shared = hostsA[1]!;
    await shareResource(tdb.db, orgA.id, orgB.id, shared);
    // The resource is readable in B's scope (the share), but it is not B's.
    const seenByB = await tdb.db.tenant({ orgId: orgB.id }, (em) =>
      em.execute('select id from resources where id = ?', [shared.id]),
    );
    expect(seenByB).toHaveLength(1);
    expect((await evaluate(orgA.id, [report(shared, { cpu: 0.99 })])).fired).toEqual([]);
    expect((await evaluate(orgB.id, [report(shared, { cpu: 0.99 })])).fired).toEqual([]);
    const { orgId: _own, ...anonymous } = report(shared, { cpu: 0.99 });
    expect((await evaluate(orgB.id, [anonymous])).fired).toEqual([]);
    const inB = await http(app, 'GET', '/api/alerts', { cookie: other.cookie, headers: { 'x-org-id': orgB.id } });
    expect(inB.body.alerts).toEqual([]);
    // B's own resource does fire B's rules.
    expect((await evaluate(orgB.id, [report(hostsB[0]!, { cpu: 0.5 })])).fired).toHaveLength(1);
  });

  it('resolves firing alerts when their rule changes, is disabled or removed, and says why', async () => {
    const host = hostsA[0]!;
    const patch = (body: Record<string, unknown>) =>
      http(app, 'PATCH', `/api/alert-rules/${ruleId}`, { cookie: editor.cookie, headers: inA, body });
    const firing = async () => (await evaluate(orgA.id, [report(host, { cpu: 0.999 })])).fired[0]!;

    const a1 = await firing();
    expect((await patch({ recipients: ['x@example.com'] })).status).toBe(200);
    expect(await evaluate(orgA.id, [report(host, { cpu: 0.999 })])).toMatchObject({ fired: [], resolved: [] });
    expect((await patch({ threshold: 0.95 })).status).toBe(200);
    const a2 = await firing();
    expect((await patch({ enabled: false })).status).toBe(200);
    expect((await evaluate(orgA.id, [report(host, { cpu: 0.999 })])).fired).toEqual([]);
    expect((await patch({ enabled: true })).status).toBe(200);
    const a3 = await firing();
    expect(
      (await http(app, 'DELETE', `/api/alert-rules/${ruleId}`, { cookie: editor.cookie, headers: inA })).status,
    ).toBe(200);

    const list = await http(app, 'GET', '/api/alerts?status=resolved&limit=200', {
      cookie: viewer.cookie,
      headers: inA,
    });
    const byId = new Map(list.body.alerts.map((a: { id: string }) => [a.id, a]));
    expect(byId.get(a1.id)).toMatchObject({ resolution: 'rule_changed' });
    expect(byId.get(a2.id)).toMatchObject({ resolution: 'rule_disabled' });
    expect(byId.get(a3.id)).toMatchObject({ resolution: 'rule_removed', ruleId: null, ruleName: 'pve-1 hot' });
  });
});

describe('GET /api/alerts and /api/alerts/summary', () => {
  it('page newest first by cursor, filter by status, and count the firing ones', async () => {
    const rule = await createRule(owner, orgA.id, { name: 'Many', metric: 'disk', comparison: 'gt', threshold: 0.5 });
    const host = hostsA[3]!;
    const base = Date.now() + 3_600_000;
    for (let i = 0; i < 5; i++) {
      await evaluate(orgA.id, [report(host, { disk: 0.9 })], { now: new Date(base + i * 10_000) });
      await evaluate(orgA.id, [report(host, { disk: 0.1 })], { now: new Date(base + i * 10_000 + 5000) });
    }
    await evaluate(orgA.id, [report(host, { disk: 0.9 })], { now: new Date(base + 60_000) });

    const seen: { id: string; ruleId: string; firedAt: string }[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/api/alerts?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await http(app, 'GET', url, { cookie: viewer.cookie, headers: inA });
      expect(page.status).toBe(200);
      seen.push(...page.body.alerts);
      cursor = page.body.nextCursor;
    } while (cursor);
    const many = seen.filter((a) => a.ruleId === rule.body.id);
    expect(many).toHaveLength(6);
    expect(new Set(seen.map((a) => a.id)).size).toBe(seen.length);
    const times = seen.map((a) => a.firedAt);
    expect([...times].sort().reverse()).toEqual(times);

    const firing = await http(app, 'GET', '/api/alerts?status=firing', { cookie: viewer.cookie, headers: inA });
    expect(firing.body.alerts.every((a: { status: string }) => a.status === 'firing')).toBe(true);
    const summary = await http(app, 'GET', '/api/alerts/summary', { cookie: viewer.cookie, headers: inA });
    expect(summary.body).toEqual({ firing: firing.body.alerts.length });
    expect(summary.body.firing).toBeGreaterThan(0);

    for (const bad of ['nope', Buffer.from('123.not-a-uuid').toString('base64url'), 'x'.repeat(201)]) {
      const res = await http(app, 'GET', `/api/alerts?cursor=${bad}`, { cookie: viewer.cookie, headers: inA });
      expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    }
    const badStatus = await http(app, 'GET', '/api/alerts?status=burning', { cookie: viewer.cookie, headers: inA });
    expect(badStatus.status).toBe(400);
  });
});
