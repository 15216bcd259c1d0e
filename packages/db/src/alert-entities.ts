import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { ALERT_COMPARISONS, ALERT_METRICS, ALERT_STATUS_VALUES } from '@tenantry/core';

// Mirrors of the tables of migration 0005, for the ORM. The repository functions in
// repositories/alerts.ts write these tables with raw SQL; keep both in step with the migration.

const timestamp = () =>
  p
    .datetime()
    .columnType('timestamptz')
    .onCreate(() => new Date());

/** Tenant table: an alert rule of an org. Primary key `(org_id, id)`. */
export const AlertRule = defineEntity({
  name: 'AlertRule',
  tableName: 'alert_rules',
  properties: {
    orgId: p.uuid().primary(),
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    name: p.text(),
    metric: p.enum([...ALERT_METRICS]),
    comparison: p.enum([...ALERT_COMPARISONS]),
    threshold: p.double().nullable(),
    statusValue: p.enum([...ALERT_STATUS_VALUES]).nullable(),
    durationSeconds: p.integer().default(0),
    resourceTypes: p.array().default([]),
    namePattern: p.text().nullable(),
    resourceIds: p.array().columnType('uuid[]').default([]),
    recipients: p.array().default([]),
    enabled: p.boolean().default(true),
    createdById: p.uuid().nullable(),
    createdAt: timestamp(),
    updatedAt: timestamp(),
  },
  primaryKeys: ['orgId', 'id'],
});

/** Tenant table: since when a rule's condition holds for a resource. Primary key `(org_id, rule_id, resource_id)`. */
export const AlertState = defineEntity({
  name: 'AlertState',
  tableName: 'alert_states',
  properties: {
    orgId: p.uuid().primary(),
    ruleId: p.uuid().primary(),
    resourceId: p.uuid().primary(),
    breachingSince: p.datetime().columnType('timestamptz'),
    updatedAt: timestamp(),
  },
  primaryKeys: ['orgId', 'ruleId', 'resourceId'],
});

/** Tenant table: one alert episode of a (rule, resource) pair. Primary key `(org_id, id)`. */
export const Alert = defineEntity({
  name: 'Alert',
  tableName: 'alerts',
  properties: {
    orgId: p.uuid().primary(),
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    ruleId: p.uuid().nullable(),
    resourceId: p.uuid(),
    ruleName: p.text(),
    condition: p.text(),
    metric: p.enum([...ALERT_METRICS]),
    resourceName: p.text(),
    resourceType: p.text(),
    status: p.enum(['firing', 'resolved'] as const).default('firing'),
    firedValue: p.json<number | string>().columnType('jsonb'),
    resolvedValue: p.json<number | string>().columnType('jsonb').nullable(),
    recipients: p.array().default([]),
    breachingSince: p.datetime().columnType('timestamptz'),
    firedAt: timestamp(),
    resolvedAt: p.datetime().columnType('timestamptz').nullable(),
    resolution: p.text().nullable(),
    firedNotifiedAt: p.datetime().columnType('timestamptz').nullable(),
    resolvedNotifiedAt: p.datetime().columnType('timestamptz').nullable(),
  },
  primaryKeys: ['orgId', 'id'],
});
