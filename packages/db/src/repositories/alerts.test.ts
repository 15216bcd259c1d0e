import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db, EntityManager } from '../db.js';
import { createTestDatabase, type TestDatabase } from '../testing.js';
import {
  type AlertRuleFields,
  createAlertRule,
  deleteAlertRule,
  findOwnResourceIds,
  listAlertRules,
} from './alert-rules.js';
import {
  type AlertCursor,
  clearAlertBreaches,
  countFiringAlerts,
  type FireAlertInput,
  findAlert,
  fireAlerts,
  forgetAlertsOfResources,
  listAlerts,
  loadAlertPairStates,
  markAlertNotified,
  recordAlertBreaches,
  resolveAlerts,
  resolveAlertsOfRule,
} from './alerts.js';
import { createOrg } from './orgs.js';
import { createUser } from './users.js';

vi.setConfig({ hookTimeout: 60_000, testTimeout: 30_000 });

const rule = (over: Partial<AlertRuleFields> = {}): AlertRuleFields => ({
  name: 'CPU high',
  metric: 'cpu',
  comparison: 'gt',
  threshold: 0.9,
  statusValue: null,
  durationSeconds: 0,
  resourceTypes: ['host', 'vm'],
  namePattern: 'pve-*',
  resourceIds: [],
  recipients: ['ops@example.com', "o'brien@example.com"],
  enabled: true,
  ...over,
});

/** An agent and `n` resources of the org, written through SQL in its scope. */
async function seedResources(em: EntityManager, orgId: string, n: number): Promise<string[]> {
  const agentId = randomUUID();
  await em.execute(`insert into agents (org_id, id, name, token_hash) values (?, ?, ?, 'x')`, [
    orgId,
    agentId,
    `agent-${agentId.slice(0, 8)}`,
  ]);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = randomUUID();
    ids.push(id);
    await em.execute(
      `insert into resources (org_id, id, agent_id, type, name, status, cpu) values (?, ?, ?, 'host', ?, 'online', 0.5)`,
      [orgId, id, agentId, `pve-${i}`],
    );
  }
  return ids;
}

const fireInput = (ruleId: string, resourceId: string, over: Partial<FireAlertInput> = {}): FireAlertInput => ({
  ruleId,
  resourceId,
  ruleName: 'CPU high',
  condition: 'CPU above 90%',
  metric: 'cpu',
  resourceName: 'pve-0',
  resourceType: 'host',
  firedValue: 0.97,
  recipients: ['ops@example.com'],
  breachingSince: new Date('2026-01-01T00:00:00Z'),
  ...over,
});

describe.each(['postgresql', 'pglite'] as const)('alert repositories on %s', (kind) => {
  let t: TestDatabase;
  let db: Db;
  let user: string;
  let orgA: string;
  let orgB: string;
  let resourcesA: string[];
  let resourcesB: string[];
  const inA = <T>(fn: (em: EntityManager) => Promise<T>) => db.tenant({ orgId: orgA }, fn);

  beforeAll(async () => {
    t = await createTestDatabase({ kind, poolMax: 6 });
    db = t.db;
    await db.platform({}, async (em) => {
      user = (await createUser(em, { email: 'rules@alerts.test', name: 'R', passwordHash: 'x' })).id;
      orgA = (await createOrg(em, { slug: 'alerts-a', name: 'A', ownerId: user })).id;
      orgB = (await createOrg(em, { slug: 'alerts-b', name: 'B', ownerId: user })).id;
    });
    resourcesA = await inA((em) => seedResources(em, orgA, 3));
    resourcesB = await db.tenant({ orgId: orgB }, (em) => seedResources(em, orgB, 1));
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('stores a rule with its lists intact and lists it only in its org', async () => {
    const created = await inA((em) => createAlertRule(em, { ...rule(), orgId: orgA, createdById: user }));
    expect(created).toMatchObject({
      orgId: orgA,
      threshold: 0.9,
      resourceTypes: ['host', 'vm'],
      recipients: ['ops@example.com', "o'brien@example.com"],
      resourceIds: [],
      createdById: user,
    });
    expect((await inA((em) => listAlertRules(em, orgA))).map((r) => r.id)).toContain(created.id);
    expect(await db.tenant({ orgId: orgB }, (em) => listAlertRules(em, orgA))).toEqual([]);
  });

  it('refuses a rule whose condition cannot evaluate, in the database too', async () => {
    await expect(
      inA((em) => createAlertRule(em, { ...rule({ metric: 'status', threshold: 0.5 }), orgId: orgA })),
    ).rejects.toThrow(/alert_rules_condition_check/);
  });

  it('tells own resources from others', async () => {
    const ids = await inA((em) => findOwnResourceIds(em, orgA, [resourcesA[0]!, resourcesB[0]!, randomUUID()]));
    expect(ids).toEqual([resourcesA[0]]);
  });

  it('fires an episode once, even under concurrent fires, and resolves it once', async () => {
    const r = await inA((em) => createAlertRule(em, { ...rule(), orgId: orgA }));
    const resource = resourcesA[0]!;
    const fired = await Promise.all(
      Array.from({ length: 8 }, () => inA((em) => fireAlerts(em, orgA, [fireInput(r.id, resource)], new Date()))),
    );
    expect(fired.flat()).toHaveLength(1);
    const alert = fired.flat()[0]!;
    expect(alert).toMatchObject({ status: 'firing', firedValue: 0.97, recipients: ['ops@example.com'] });
    expect(await inA((em) => countFiringAlerts(em, orgA))).toBe(1);

    const states = await inA((em) => loadAlertPairStates(em, orgA, [resource]));
    expect(states).toEqual([{ ruleId: r.id, resourceId: resource, breachingSince: null, firingAlertId: alert.id }]);

    const resolved = await Promise.all(
      Array.from({ length: 8 }, () =>
        inA((em) =>
          resolveAlerts(em, orgA, [{ ruleId: r.id, resourceId: resource, value: 0.4 }], 'recovered', new Date()),
        ),
      ),
    );
    expect(resolved.flat()).toHaveLength(1);
    expect(resolved.flat()[0]).toMatchObject({
      id: alert.id,
      status: 'resolved',
      resolvedValue: 0.4,
      resolution: 'recovered',
    });
    // The next episode is a new alert.
    const next = await inA((em) => fireAlerts(em, orgA, [fireInput(r.id, resource)], new Date()));
    expect(next).toHaveLength(1);
    expect(next[0]!.id).not.toBe(alert.id);
  });

  it('keeps the earliest start of a breach and forgets it on clearing', async () => {
    const r = await inA((em) => createAlertRule(em, { ...rule({ durationSeconds: 60 }), orgId: orgA }));
    const resource = resourcesA[1]!;
    const early = new Date('2026-02-01T00:00:00Z');
    await inA((em) => recordAlertBreaches(em, orgA, [{ ruleId: r.id, resourceId: resource, breachingSince: early }]));
    await inA((em) =>
      recordAlertBreaches(em, orgA, [{ ruleId: r.id, resourceId: resource, breachingSince: new Date() }]),
    );
    const [state] = await inA((em) => loadAlertPairStates(em, orgA, [resource]));
    expect(state).toMatchObject({ ruleId: r.id, breachingSince: early, firingAlertId: null });
    await inA((em) => clearAlertBreaches(em, orgA, [{ ruleId: r.id, resourceId: resource }]));
    expect(await inA((em) => loadAlertPairStates(em, orgA, [resource]))).toEqual([]);
  });

  it('resolves the alerts of a rule before it goes, and keeps the history without the rule', async () => {
    const r = await inA((em) => createAlertRule(em, { ...rule({ name: 'Doomed' }), orgId: orgA }));
    const [alert] = await inA((em) => fireAlerts(em, orgA, [fireInput(r.id, resourcesA[2]!)], new Date()));
    const resolved = await inA(async (em) => {
      const out = await resolveAlertsOfRule(em, orgA, r.id, 'rule_removed', new Date());
      await deleteAlertRule(em, orgA, r.id);
      return out;
    });
    expect(resolved.map((a) => a.id)).toEqual([alert!.id]);
    expect(await inA((em) => findAlert(em, orgA, alert!.id))).toMatchObject({
      ruleId: null,
      ruleName: 'CPU high',
      status: 'resolved',
      resolution: 'rule_removed',
    });
  });

  it('resolves the alerts of removed resources', async () => {
    const r = await inA((em) => createAlertRule(em, { ...rule(), orgId: orgA }));
    const resource = resourcesA[2]!;
    await inA((em) => fireAlerts(em, orgA, [fireInput(r.id, resource)], new Date()));
    await inA((em) =>
      recordAlertBreaches(em, orgA, [{ ruleId: r.id, resourceId: resource, breachingSince: new Date() }]),
    );
    const gone = await inA((em) => forgetAlertsOfResources(em, orgA, [resource]));
    expect(gone).toHaveLength(1);
    expect(gone[0]).toMatchObject({ resolution: 'resource_removed' });
    expect(await inA((em) => loadAlertPairStates(em, orgA, [resource]))).toEqual([]);
  });

  it('records each notification once', async () => {
    const r = await inA((em) => createAlertRule(em, { ...rule(), orgId: orgA }));
    const [alert] = await inA((em) =>
      fireAlerts(em, orgA, [fireInput(r.id, resourcesA[0]!, { resourceName: 'n' })], new Date()),
    );
    expect(await inA((em) => markAlertNotified(em, orgA, alert!.id, 'fired'))).toBe(true);
    expect(await inA((em) => markAlertNotified(em, orgA, alert!.id, 'fired'))).toBe(false);
    expect(await db.tenant({ orgId: orgB }, (em) => markAlertNotified(em, orgA, alert!.id, 'resolved'))).toBe(false);
  });

  it('pages alerts newest first by cursor, per status, and only within the org', async () => {
    const r = await inA((em) => createAlertRule(em, { ...rule({ name: 'Paged' }), orgId: orgA }));
    const base = Date.UTC(2030, 0, 1);
    for (let i = 0; i < 7; i++) {
      // One episode per resource at a time: resolve before firing the next.
      await inA(async (em) => {
        await fireAlerts(em, orgA, [fireInput(r.id, resourcesA[1]!)], new Date(base + i * 1000));
        if (i < 6) {
          await resolveAlerts(
            em,
            orgA,
            [{ ruleId: r.id, resourceId: resourcesA[1]!, value: 0.1 }],
            'recovered',
            new Date(base + i * 1000 + 500),
          );
        }
      });
    }
    const all: string[] = [];
    let cursor: AlertCursor | undefined;
    for (;;) {
      const page = await inA((em) => listAlerts(em, orgA, { limit: 3, cursor }));
      all.push(...page.alerts.filter((a) => a.ruleName === 'CPU high' && a.firedAt.getTime() >= base).map((a) => a.id));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(all).toHaveLength(7);
    expect(new Set(all).size).toBe(7);
    const firing = await inA((em) => listAlerts(em, orgA, { status: 'firing', limit: 200 }));
    expect(firing.alerts.every((a) => a.status === 'firing')).toBe(true);
    expect(firing.alerts[0]!.firedAt.getTime()).toBe(base + 6000);
    expect((await db.tenant({ orgId: orgB }, (em) => listAlerts(em, orgA))).alerts).toEqual([]);
    expect(await db.tenant({ orgId: orgB }, (em) => countFiringAlerts(em, orgB))).toBe(0);
  });
});
