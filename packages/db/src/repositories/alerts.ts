import { randomUUID } from 'node:crypto';
import type { AlertMetric } from '@tenantry/core';
import type { EntityManager } from '../db.js';
import { date, dateOrNull, json, type Raw, UUID_SET } from './alert-sql.js';

// Breach states and alerts (migration 0005). Every function takes the org id and filters by
// it, and runs in that org's unit of work so that RLS agrees.

/** Why an alert stopped firing. */
export type AlertResolution = 'recovered' | 'rule_disabled' | 'rule_changed' | 'rule_removed' | 'resource_removed';

/** A row of `alerts`: one episode of a (rule, resource) pair. */
export interface AlertRow {
  orgId: string;
  id: string;
  /** Null once the rule was removed; `ruleName` and `condition` keep what it said. */
  ruleId: string | null;
  resourceId: string;
  ruleName: string;
  condition: string;
  metric: AlertMetric;
  resourceName: string;
  resourceType: string;
  status: 'firing' | 'resolved';
  firedValue: number | string;
  resolvedValue: number | string | null;
  recipients: string[];
  breachingSince: Date;
  firedAt: Date;
  resolvedAt: Date | null;
  resolution: AlertResolution | null;
  firedNotifiedAt: Date | null;
  resolvedNotifiedAt: Date | null;
}

const ALERT_COLUMNS = `a.org_id as "orgId", a.id, a.rule_id as "ruleId", a.resource_id as "resourceId",
  a.rule_name as "ruleName", a.condition, a.metric, a.resource_name as "resourceName",
  a.resource_type as "resourceType", a.status, a.fired_value::text as "firedValue",
  a.resolved_value::text as "resolvedValue", array_to_json(a.recipients)::text as "recipients",
  a.breaching_since as "breachingSince", a.fired_at as "firedAt", a.resolved_at as "resolvedAt",
  a.resolution, a.fired_notified_at as "firedNotifiedAt", a.resolved_notified_at as "resolvedNotifiedAt"`;

function mapAlert(r: Raw): AlertRow {
  return {
    orgId: r.orgId as string,
    id: r.id as string,
    ruleId: (r.ruleId as string | null) ?? null,
    resourceId: r.resourceId as string,
    ruleName: r.ruleName as string,
    condition: r.condition as string,
    metric: r.metric as AlertMetric,
    resourceName: r.resourceName as string,
    resourceType: r.resourceType as string,
    status: r.status as AlertRow['status'],
    firedValue: json<number | string>(r.firedValue),
    resolvedValue: r.resolvedValue === null || r.resolvedValue === undefined ? null : json(r.resolvedValue),
    recipients: json<string[]>(r.recipients) ?? [],
    breachingSince: date(r.breachingSince),
    firedAt: date(r.firedAt),
    resolvedAt: dateOrNull(r.resolvedAt),
    resolution: (r.resolution as AlertResolution | null) ?? null,
    firedNotifiedAt: dateOrNull(r.firedNotifiedAt),
    resolvedNotifiedAt: dateOrNull(r.resolvedNotifiedAt),
  };
}

// --- breach states ---------------------------------------------------------------------------

/** Identifies a (rule, resource) pair. */
export interface AlertPairKey {
  ruleId: string;
  resourceId: string;
}

/** Where the pairs of these resources stand: breaching since, and the firing alert if any. */
export interface AlertPairState {
  ruleId: string;
  resourceId: string;
  breachingSince: Date | null;
  firingAlertId: string | null;
}

/** The breach states and firing alerts of the org's pairs for these resources. */
export async function loadAlertPairStates(
  em: EntityManager,
  orgId: string,
  resourceIds: readonly string[],
): Promise<AlertPairState[]> {
  if (resourceIds.length === 0) return [];
  const ids = JSON.stringify(resourceIds);
  const rows = await em.execute<Raw[]>(
    `select coalesce(s.rule_id, a.rule_id) as "ruleId", coalesce(s.resource_id, a.resource_id) as "resourceId",
            s.breaching_since as "breachingSince", a.id as "firingAlertId"
     from (select * from alert_states where org_id = ? and resource_id in ${UUID_SET}) s
     full join (select id, rule_id, resource_id from alerts
                where org_id = ? and status = 'firing' and resource_id in ${UUID_SET}) a
       on a.rule_id = s.rule_id and a.resource_id = s.resource_id`,
    [orgId, ids, orgId, ids],
  );
  return rows.map((r) => ({
    ruleId: r.ruleId as string,
    resourceId: r.resourceId as string,
    breachingSince: dateOrNull(r.breachingSince),
    firingAlertId: (r.firingAlertId as string | null) ?? null,
  }));
}

const byPair = <T extends AlertPairKey>(a: T, b: T) =>
  a.ruleId === b.ruleId ? (a.resourceId < b.resourceId ? -1 : 1) : a.ruleId < b.ruleId ? -1 : 1;

/**
 * Records that the pairs breach since the given times; an earlier start already recorded is
 * kept. Written in (rule, resource) order, so concurrent reports lock rows in the same order.
 */
export async function recordAlertBreaches(
  em: EntityManager,
  orgId: string,
  breaches: readonly (AlertPairKey & { breachingSince: Date })[],
): Promise<void> {
  if (breaches.length === 0) return;
  const rows = [...breaches].sort(byPair).map((b) => ({
    rule_id: b.ruleId,
    resource_id: b.resourceId,
    breaching_since: b.breachingSince.toISOString(),
  }));
  await em.execute(
    `insert into alert_states as s (org_id, rule_id, resource_id, breaching_since)
     select ?::uuid, x.rule_id, x.resource_id, x.breaching_since
     from jsonb_to_recordset(?::jsonb) as x(rule_id uuid, resource_id uuid, breaching_since timestamptz)
     order by x.rule_id, x.resource_id
     on conflict (org_id, rule_id, resource_id) do update
       set breaching_since = least(s.breaching_since, excluded.breaching_since), updated_at = now()`,
    [orgId, JSON.stringify(rows)],
  );
}

/** Forgets the breach of these pairs (their condition no longer holds). */
export async function clearAlertBreaches(
  em: EntityManager,
  orgId: string,
  pairs: readonly AlertPairKey[],
): Promise<void> {
  if (pairs.length === 0) return;
  const rows = [...pairs].sort(byPair).map((p) => ({ rule_id: p.ruleId, resource_id: p.resourceId }));
  await em.execute(
    `delete from alert_states s using jsonb_to_recordset(?::jsonb) as x(rule_id uuid, resource_id uuid)
     where s.org_id = ? and s.rule_id = x.rule_id and s.resource_id = x.resource_id`,
    [JSON.stringify(rows), orgId],
  );
}

// --- alerts ----------------------------------------------------------------------------------

/** A new episode of a pair. */
export interface FireAlertInput extends AlertPairKey {
  ruleName: string;
  condition: string;
  metric: AlertMetric;
  resourceName: string;
  resourceType: string;
  firedValue: number | string;
  recipients: readonly string[];
  breachingSince: Date;
}

/**
 * Fires an alert for each pair that has none firing, and returns the alerts it fired. A pair
 * with a firing alert — also one fired by a concurrent transaction, which this waits for —
 * is skipped by the unique index on firing alerts: an episode fires once.
 */
export async function fireAlerts(
  em: EntityManager,
  orgId: string,
  inputs: readonly FireAlertInput[],
  now: Date,
): Promise<AlertRow[]> {
  if (inputs.length === 0) return [];
  const rows = [...inputs].sort(byPair).map((i) => ({
    id: randomUUID(),
    rule_id: i.ruleId,
    resource_id: i.resourceId,
    rule_name: i.ruleName,
    condition: i.condition,
    metric: i.metric,
    resource_name: i.resourceName,
    resource_type: i.resourceType,
    fired_value: i.firedValue,
    recipients: i.recipients,
    breaching_since: i.breachingSince.toISOString(),
  }));
  const inserted = await em.execute(
    `insert into alerts as a (org_id, id, rule_id, resource_id, rule_name, condition, metric, resource_name,
       resource_type, status, fired_value, recipients, breaching_since, fired_at)
     select ?::uuid, x.id, x.rule_id, x.resource_id, x.rule_name, x.condition, x.metric, x.resource_name,
       x.resource_type, 'firing', x.fired_value, array(select jsonb_array_elements_text(x.recipients)),
       x.breaching_since, ?::timestamptz
     from jsonb_to_recordset(?::jsonb) as x(id uuid, rule_id uuid, resource_id uuid, rule_name text, condition text,
       metric text, resource_name text, resource_type text, fired_value jsonb, recipients jsonb,
       breaching_since timestamptz)
     order by x.rule_id, x.resource_id
     on conflict (org_id, rule_id, resource_id) where status = 'firing' do nothing
     returning ${ALERT_COLUMNS}`,
    [orgId, now.toISOString(), JSON.stringify(rows)],
  );
  return inserted.map(mapAlert);
}

/**
 * Resolves the firing alert of each pair and returns those it resolved. A pair whose alert a
 * concurrent transaction resolved first is skipped: an episode resolves once.
 */
export async function resolveAlerts(
  em: EntityManager,
  orgId: string,
  pairs: readonly (AlertPairKey & { value: number | string | null })[],
  resolution: AlertResolution,
  now: Date,
): Promise<AlertRow[]> {
  if (pairs.length === 0) return [];
  const rows = [...pairs].sort(byPair).map((p) => ({ rule_id: p.ruleId, resource_id: p.resourceId, value: p.value }));
  const updated = await em.execute(
    `update alerts a set status = 'resolved', resolved_at = ?::timestamptz, resolution = ?, resolved_value = x.value
     from jsonb_to_recordset(?::jsonb) as x(rule_id uuid, resource_id uuid, value jsonb)
     where a.org_id = ? and a.rule_id = x.rule_id and a.resource_id = x.resource_id and a.status = 'firing'
     returning ${ALERT_COLUMNS}`,
    [now.toISOString(), resolution, JSON.stringify(rows), orgId],
  );
  return updated.map(mapAlert);
}

/** Resolves every firing alert of a rule (disabled, changed or about to be removed) and clears its breaches. */
export async function resolveAlertsOfRule(
  em: EntityManager,
  orgId: string,
  ruleId: string,
  resolution: AlertResolution,
  now: Date,
): Promise<AlertRow[]> {
  await em.execute('delete from alert_states where org_id = ? and rule_id = ?', [orgId, ruleId]);
  const rows = await em.execute(
    `update alerts a set status = 'resolved', resolved_at = ?::timestamptz, resolution = ?
     where a.org_id = ? and a.rule_id = ? and a.status = 'firing'
     returning ${ALERT_COLUMNS}`,
    [now.toISOString(), resolution, orgId, ruleId],
  );
  return rows.map(mapAlert);
}

/**
 * For the code that removes resources: clears their breach states and resolves their firing
 * alerts (`resource_removed`). Alerts point at resources without a foreign key, so nothing
 * else does this. Returns the alerts it resolved.
 */
export async function forgetAlertsOfResources(
  em: EntityManager,
  orgId: string,
  resourceIds: readonly string[],
  now: Date = new Date(),
): Promise<AlertRow[]> {
  if (resourceIds.length === 0) return [];
  const ids = JSON.stringify(resourceIds);
  await em.execute(`delete from alert_states where org_id = ? and resource_id in ${UUID_SET}`, [orgId, ids]);
  const rows = await em.execute(
    `update alerts a set status = 'resolved', resolved_at = ?::timestamptz, resolution = 'resource_removed'
     where a.org_id = ? and a.status = 'firing' and a.resource_id in ${UUID_SET}
     returning ${ALERT_COLUMNS}`,
    [now.toISOString(), orgId, ids],
  );
  return rows.map(mapAlert);
}

/** The org's alert with this id, or null. */
export async function findAlert(em: EntityManager, orgId: string, id: string): Promise<AlertRow | null> {
  const [row] = await em.execute(`select ${ALERT_COLUMNS} from alerts a where a.org_id = ? and a.id = ?`, [orgId, id]);
  return row ? mapAlert(row) : null;
}

/** Records that the mail of an alert's event went out; false if it was recorded already. */
export async function markAlertNotified(
  em: EntityManager,
  orgId: string,
  id: string,
  event: 'fired' | 'resolved',
  at: Date = new Date(),
): Promise<boolean> {
  const column = event === 'fired' ? 'fired_notified_at' : 'resolved_notified_at';
  const rows = await em.execute(
    `update alerts set ${column} = ?::timestamptz where org_id = ? and id = ? and ${column} is null returning id`,
    [at.toISOString(), orgId, id],
  );
  return rows.length > 0;
}

/** Filters and page of `listAlerts`. */
export interface ListAlertsOptions {
  status?: 'firing' | 'resolved';
  /** `nextCursor` of the previous page. */
  cursor?: AlertCursor;
  /** 1–200, default 50. */
  limit?: number;
}

/** Where a page of alerts ends: the last alert's fire time and id. */
export interface AlertCursor {
  firedAt: Date;
  id: string;
}

/** A page of alerts, newest first. */
export interface AlertPage {
  alerts: AlertRow[];
  nextCursor: AlertCursor | null;
}

/** The org's alerts, newest first, optionally firing or resolved only. */
export async function listAlerts(em: EntityManager, orgId: string, opts: ListAlertsOptions = {}): Promise<AlertPage> {
  const where = ['a.org_id = ?'];
  const params: unknown[] = [orgId];
  if (opts.status) {
    where.push('a.status = ?');
    params.push(opts.status);
  }
  if (opts.cursor) {
    where.push('(a.fired_at, a.id) < (?::timestamptz, ?::uuid)');
    params.push(opts.cursor.firedAt.toISOString(), opts.cursor.id);
  }
  const limit = Math.min(Math.max(Math.trunc(opts.limit ?? 50), 1), 200);
  const rows = await em.execute(
    `select ${ALERT_COLUMNS} from alerts a where ${where.join(' and ')}
     order by a.fired_at desc, a.id desc limit ?`,
    [...params, limit + 1],
  );
  const alerts = rows.slice(0, limit).map(mapAlert);
  const last = alerts[alerts.length - 1];
  return { alerts, nextCursor: rows.length > limit && last ? { firedAt: last.firedAt, id: last.id } : null };
}

/** How many of the org's alerts are firing (the dashboard badge). */
export async function countFiringAlerts(em: EntityManager, orgId: string): Promise<number> {
  const [row] = await em.execute<{ n: number }[]>(
    `select count(*)::int as n from alerts where org_id = ? and status = 'firing'`,
    [orgId],
  );
  return row?.n ?? 0;
}
