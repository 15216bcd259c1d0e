import { randomUUID } from 'node:crypto';
import type { AlertComparison, AlertMetric, AlertStatusValue } from '@tenantry/core';
import type { EntityManager } from '../db.js';
import { ARRAY_OF, date, json, type Raw, UUID_SET } from './alert-sql.js';

// Alert rules of an org (migration 0005). Every function takes the org id and filters by it,
// and runs in that org's unit of work so that RLS agrees.

/** A row of `alert_rules`. */
export interface AlertRuleRow {
  orgId: string;
  id: string;
  name: string;
  metric: AlertMetric;
  comparison: AlertComparison;
  threshold: number | null;
  statusValue: AlertStatusValue | null;
  durationSeconds: number;
  resourceTypes: string[];
  namePattern: string | null;
  resourceIds: string[];
  recipients: string[];
  enabled: boolean;
  createdById: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const RULE_COLUMNS = `r.org_id as "orgId", r.id, r.name, r.metric, r.comparison, r.threshold,
  r.status_value as "statusValue", r.duration_seconds as "durationSeconds",
  array_to_json(r.resource_types)::text as "resourceTypes", r.name_pattern as "namePattern",
  array_to_json(r.resource_ids)::text as "resourceIds", array_to_json(r.recipients)::text as "recipients",
  r.enabled, r.created_by_id as "createdById", r.created_at as "createdAt", r.updated_at as "updatedAt"`;

function mapRule(r: Raw): AlertRuleRow {
  return {
    orgId: r.orgId as string,
    id: r.id as string,
    name: r.name as string,
    metric: r.metric as AlertMetric,
    comparison: r.comparison as AlertComparison,
    threshold: r.threshold === null || r.threshold === undefined ? null : Number(r.threshold),
    statusValue: (r.statusValue as AlertStatusValue | null) ?? null,
    durationSeconds: Number(r.durationSeconds),
    resourceTypes: json<string[]>(r.resourceTypes) ?? [],
    namePattern: (r.namePattern as string | null) ?? null,
    resourceIds: json<string[]>(r.resourceIds) ?? [],
    recipients: json<string[]>(r.recipients) ?? [],
    enabled: r.enabled as boolean,
    createdById: (r.createdById as string | null) ?? null,
    createdAt: date(r.createdAt),
    updatedAt: date(r.updatedAt),
  };
}

/** The org's rules, by name. */
export async function listAlertRules(em: EntityManager, orgId: string): Promise<AlertRuleRow[]> {
  const rows = await em.execute(`select ${RULE_COLUMNS} from alert_rules r where r.org_id = ? order by r.name, r.id`, [
    orgId,
  ]);
  return rows.map(mapRule);
}

/** The org's enabled rules (what a report is evaluated against). */
export async function listEnabledAlertRules(em: EntityManager, orgId: string): Promise<AlertRuleRow[]> {
  const rows = await em.execute(
    `select ${RULE_COLUMNS} from alert_rules r where r.org_id = ? and r.enabled order by r.id`,
    [orgId],
  );
  return rows.map(mapRule);
}

/** How many rules the org holds (core's `checkAlertRuleLimit`). */
export async function countAlertRules(em: EntityManager, orgId: string): Promise<number> {
  const [row] = await em.execute<{ n: number }[]>('select count(*)::int as n from alert_rules where org_id = ?', [
    orgId,
  ]);
  return row?.n ?? 0;
}

/** The org's rule with this id, or null (a rule of another org is not found). */
export async function findAlertRule(em: EntityManager, orgId: string, id: string): Promise<AlertRuleRow | null> {
  const [row] = await em.execute(`select ${RULE_COLUMNS} from alert_rules r where r.org_id = ? and r.id = ?`, [
    orgId,
    id,
  ]);
  return row ? mapRule(row) : null;
}

/** The fields of a rule a person sets. */
export interface AlertRuleFields {
  name: string;
  metric: AlertMetric;
  comparison: AlertComparison;
  threshold: number | null;
  statusValue: AlertStatusValue | null;
  durationSeconds: number;
  resourceTypes: string[];
  namePattern: string | null;
  resourceIds: string[];
  recipients: string[];
  enabled: boolean;
}

/** Inserts a rule (checked by core's `checkAlertRule` first). */
export async function createAlertRule(
  em: EntityManager,
  input: AlertRuleFields & { orgId: string; createdById?: string | null },
): Promise<AlertRuleRow> {
  const [row] = await em.execute(
    `insert into alert_rules as r (org_id, id, name, metric, comparison, threshold, status_value, duration_seconds,
       resource_types, name_pattern, resource_ids, recipients, enabled, created_by_id)
     values (?, ?, ?, ?, ?, ?, ?, ?, ${ARRAY_OF('text')}, ?, ${ARRAY_OF('uuid')}, ${ARRAY_OF('text')}, ?, ?)
     returning ${RULE_COLUMNS}`,
    [
      input.orgId,
      randomUUID(),
      input.name,
      input.metric,
      input.comparison,
      input.threshold,
      input.statusValue,
      input.durationSeconds,
      JSON.stringify(input.resourceTypes),
      input.namePattern,
      JSON.stringify(input.resourceIds),
      JSON.stringify(input.recipients),
      input.enabled,
      input.createdById ?? null,
    ],
  );
  if (!row) throw new Error('insert into alert_rules returned no row');
  return mapRule(row);
}

/** Replaces the fields of the org's rule; null if it has none with this id. */
export async function updateAlertRule(
  em: EntityManager,
  orgId: string,
  id: string,
  fields: AlertRuleFields,
): Promise<AlertRuleRow | null> {
  const [row] = await em.execute(
    `update alert_rules r set name = ?, metric = ?, comparison = ?, threshold = ?, status_value = ?,
       duration_seconds = ?, resource_types = ${ARRAY_OF('text')}, name_pattern = ?,
       resource_ids = ${ARRAY_OF('uuid')}, recipients = ${ARRAY_OF('text')}, enabled = ?, updated_at = now()
     where r.org_id = ? and r.id = ?
     returning ${RULE_COLUMNS}`,
    [
      fields.name,
      fields.metric,
      fields.comparison,
      fields.threshold,
      fields.statusValue,
      fields.durationSeconds,
      JSON.stringify(fields.resourceTypes),
      fields.namePattern,
      JSON.stringify(fields.resourceIds),
      JSON.stringify(fields.recipients),
      fields.enabled,
      orgId,
      id,
    ],
  );
  return row ? mapRule(row) : null;
}

/** Removes the org's rule and its breach states; its alerts stay, without a rule. */
export async function deleteAlertRule(em: EntityManager, orgId: string, id: string): Promise<boolean> {
  const rows = await em.execute('delete from alert_rules where org_id = ? and id = ? returning id', [orgId, id]);
  return rows.length > 0;
}

/** Which of `ids` are resources the org owns (shared resources of other orgs are not). */
export async function findOwnResourceIds(em: EntityManager, orgId: string, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await em.execute<{ id: string }[]>(`select id from resources where org_id = ? and id in ${UUID_SET}`, [
    orgId,
    JSON.stringify(ids),
  ]);
  return rows.map((r) => r.id);
}
