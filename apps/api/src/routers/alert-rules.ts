import {
  ALERT_COMPARISONS,
  ALERT_LIMITS,
  ALERT_METRICS,
  ALERT_RESOURCE_TYPES,
  ALERT_STATUS_VALUES,
  checkAlertRule,
  checkAlertRuleLimit,
  DomainError,
  describeCondition,
} from '@tenantry/core';
import {
  type AlertRuleFields,
  type AlertRuleRow,
  countAlertRules,
  createAlertRule,
  deleteAlertRule,
  type EntityManager,
  findAlertRule,
  findOwnResourceIds,
  listAlertRules,
  resolveAlertsOfRule,
  updateAlertRule,
} from '@tenantry/db';
import { z } from 'zod';
import { emailInput, okOutput } from '../schemas.js';
import { requireModule, requirePermission, router, tenantProcedure } from '../trpc.js';

// Alert rules of the active org (SPEC §8): module `alerts`; reading needs `alerts.read`,
// changing `alerts.write` (editor+). The rule checks are core's `checkAlertRule`.

const alertsRead = tenantProcedure.use(requireModule('alerts')).use(requirePermission('alerts.read'));
const alertsWrite = tenantProcedure.use(requireModule('alerts')).use(requirePermission('alerts.write'));

const fields = {
  name: z.string().trim().min(1).max(100),
  metric: z.enum(ALERT_METRICS),
  comparison: z.enum(ALERT_COMPARISONS),
  /** A fraction 0–1 (0.9 is 90%), for cpu, memory and disk. */
  threshold: z.number().min(0).max(1).nullable(),
  /** For `status`: the status compared with. */
  statusValue: z.enum(ALERT_STATUS_VALUES).nullable(),
  durationSeconds: z.number().int().min(0).max(ALERT_LIMITS.durationSeconds),
  resourceTypes: z.array(z.enum(ALERT_RESOURCE_TYPES)).max(ALERT_RESOURCE_TYPES.length),
  namePattern: z.string().trim().min(1).max(ALERT_LIMITS.namePattern).nullable(),
  resourceIds: z.array(z.uuid()).max(ALERT_LIMITS.resourceIds),
  recipients: z.array(emailInput).max(ALERT_LIMITS.recipients),
  enabled: z.boolean(),
};

const createInput = z.strictObject({
  name: fields.name,
  metric: fields.metric,
  comparison: fields.comparison,
  threshold: fields.threshold.optional(),
  statusValue: fields.statusValue.optional(),
  durationSeconds: fields.durationSeconds.optional(),
  resourceTypes: fields.resourceTypes.optional(),
  namePattern: fields.namePattern.optional(),
  resourceIds: fields.resourceIds.optional(),
  recipients: fields.recipients.optional(),
  enabled: fields.enabled.optional(),
});

const updateInput = z.strictObject({
  ruleId: z.uuid(),
  name: fields.name.optional(),
  metric: fields.metric.optional(),
  comparison: fields.comparison.optional(),
  threshold: fields.threshold.optional(),
  statusValue: fields.statusValue.optional(),
  durationSeconds: fields.durationSeconds.optional(),
  resourceTypes: fields.resourceTypes.optional(),
  namePattern: fields.namePattern.optional(),
  resourceIds: fields.resourceIds.optional(),
  recipients: fields.recipients.optional(),
  enabled: fields.enabled.optional(),
});

export const alertRuleOutput = z.object({
  id: z.string(),
  name: z.string(),
  metric: z.enum(ALERT_METRICS),
  comparison: z.enum(ALERT_COMPARISONS),
  threshold: z.number().nullable(),
  statusValue: z.enum(ALERT_STATUS_VALUES).nullable(),
  durationSeconds: z.number(),
  resourceTypes: z.array(z.string()),
  namePattern: z.string().nullable(),
  resourceIds: z.array(z.string()),
  recipients: z.array(z.string()),
  enabled: z.boolean(),
  /** The condition in words ("CPU above 90% for 5 min"). */
  condition: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

function toRuleOutput(rule: AlertRuleRow): z.infer<typeof alertRuleOutput> {
  return {
    id: rule.id,
    name: rule.name,
    metric: rule.metric,
    comparison: rule.comparison,
    threshold: rule.threshold,
    statusValue: rule.statusValue,
    durationSeconds: rule.durationSeconds,
    resourceTypes: rule.resourceTypes,
    namePattern: rule.namePattern,
    resourceIds: rule.resourceIds,
    recipients: rule.recipients,
    enabled: rule.enabled,
    condition: describeCondition(rule),
    createdAt: rule.createdAt.toISOString(),
    updatedAt: rule.updatedAt.toISOString(),
  };
}

const unique = <T>(values: readonly T[]): T[] => [...new Set(values)];

/** Checks the rule with core and that every named resource is the org's own. */
async function checkedFields(em: EntityManager, orgId: string, rule: AlertRuleFields): Promise<AlertRuleFields> {
  const normalised = {
    ...rule,
    resourceTypes: unique(rule.resourceTypes),
    resourceIds: unique(rule.resourceIds.map((id) => id.toLowerCase())),
    recipients: unique(rule.recipients),
  };
  checkAlertRule(normalised);
  const own = new Set(await findOwnResourceIds(em, orgId, normalised.resourceIds));
  const foreign = normalised.resourceIds.filter((id) => !own.has(id));
  if (foreign.length > 0) {
    throw new DomainError(
      'VALIDATION_FAILED',
      `These resource ids are not resources of this organization: ${foreign.slice(0, 5).join(', ')}${
        foreign.length > 5 ? ` and ${foreign.length - 5} more` : ''
      }. A rule watches its own organization's resources only.`,
    );
  }
  return normalised;
}

const CONDITION_FIELDS = [
  'metric',
  'comparison',
  'threshold',
  'statusValue',
  'durationSeconds',
  'resourceTypes',
  'namePattern',
  'resourceIds',
] as const satisfies readonly (keyof AlertRuleFields)[];

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

async function ruleOrNotFound(em: EntityManager, orgId: string, ruleId: string): Promise<AlertRuleRow> {
  const rule = await findAlertRule(em, orgId, ruleId);
  if (!rule) throw new DomainError('ALERT_RULE_NOT_FOUND');
  return rule;
}

export const alertRulesRouter = router({
  /** The active org's alert rules, by name. */
  list: alertsRead
    .meta({ openapi: { method: 'GET', path: '/alert-rules', tags: ['alerts'], summary: 'List alert rules' } })
    .input(z.void())
    .output(z.object({ rules: z.array(alertRuleOutput) }))
    .query(async ({ ctx }) => ({ rules: (await listAlertRules(ctx.em, ctx.org.id)).map(toRuleOutput) })),

  /** Adds a rule; it is evaluated from the next report on. */
  create: alertsWrite
    .meta({
      openapi: { method: 'POST', path: '/alert-rules', tags: ['alerts'], summary: 'Create an alert rule' },
      audit: false,
    })
    .input(createInput)
    .output(alertRuleOutput)
    .mutation(async ({ ctx, input }) => {
      checkAlertRuleLimit(await countAlertRules(ctx.em, ctx.org.id));
      const rule = await checkedFields(ctx.em, ctx.org.id, {
        name: input.name,
        metric: input.metric,
        comparison: input.comparison,
        threshold: input.threshold ?? null,
        statusValue: input.statusValue ?? null,
        durationSeconds: input.durationSeconds ?? 0,
        resourceTypes: input.resourceTypes ?? [],
        namePattern: input.namePattern ?? null,
        resourceIds: input.resourceIds ?? [],
        recipients: input.recipients ?? [],
        enabled: input.enabled ?? true,
      });
      const created = await createAlertRule(ctx.em, { ...rule, orgId: ctx.org.id, createdById: ctx.user.id });
      await ctx.audit({
        action: 'alert_rule.created',
        targetType: 'alert_rule',
        targetId: created.id,
        details: {
          name: created.name,
          condition: describeCondition(created),
          enabled: created.enabled,
          recipients: created.recipients.length,
        },
      });
      return toRuleOutput(created);
    }),

  /**
   * Changes a rule. Changing its condition or filter, or disabling it, resolves its firing
   * alerts (`rule_changed`, `rule_disabled`) and starts its evaluation over.
   */
  update: alertsWrite
    .meta({
      openapi: { method: 'PATCH', path: '/alert-rules/{ruleId}', tags: ['alerts'], summary: 'Update an alert rule' },
      audit: false,
    })
    .input(updateInput)
    .output(alertRuleOutput)
    .mutation(async ({ ctx, input }) => {
      const current = await ruleOrNotFound(ctx.em, ctx.org.id, input.ruleId);
      const { ruleId: _ruleId, ...patch } = input;
      const metric = patch.metric ?? current.metric;
      // Switching between a usage and a status rule drops the field the other kind has.
      const merged: AlertRuleFields = {
        name: patch.name ?? current.name,
        metric,
        comparison: patch.comparison ?? current.comparison,
        threshold: patch.threshold !== undefined ? patch.threshold : metric === 'status' ? null : current.threshold,
        statusValue:
          patch.statusValue !== undefined ? patch.statusValue : metric === 'status' ? current.statusValue : null,
        durationSeconds: patch.durationSeconds ?? current.durationSeconds,
        resourceTypes: patch.resourceTypes ?? current.resourceTypes,
        namePattern: patch.namePattern !== undefined ? patch.namePattern : current.namePattern,
        resourceIds: patch.resourceIds ?? current.resourceIds,
        recipients: patch.recipients ?? current.recipients,
        enabled: patch.enabled ?? current.enabled,
      };
      const rule = await checkedFields(ctx.em, ctx.org.id, merged);
      const changed = (Object.keys(rule) as (keyof AlertRuleFields)[]).filter((k) => !same(rule[k], current[k]));
      let resolvedAlerts = 0;
      if (current.enabled && !rule.enabled) {
        resolvedAlerts = (await resolveAlertsOfRule(ctx.em, ctx.org.id, current.id, 'rule_disabled', new Date()))
          .length;
      } else if (changed.some((k) => (CONDITION_FIELDS as readonly string[]).includes(k))) {
        resolvedAlerts = (await resolveAlertsOfRule(ctx.em, ctx.org.id, current.id, 'rule_changed', new Date())).length;
      }
      const updated = await updateAlertRule(ctx.em, ctx.org.id, current.id, rule);
      if (!updated) throw new DomainError('ALERT_RULE_NOT_FOUND');
      await ctx.audit({
        action: 'alert_rule.updated',
        targetType: 'alert_rule',
        targetId: updated.id,
        details: { name: updated.name, changed, condition: describeCondition(updated), resolvedAlerts },
      });
      return toRuleOutput(updated);
    }),

  /** Removes a rule. Its firing alerts are resolved (`rule_removed`); its alert history stays. */
  remove: alertsWrite
    .meta({
      openapi: { method: 'DELETE', path: '/alert-rules/{ruleId}', tags: ['alerts'], summary: 'Remove an alert rule' },
      audit: false,
    })
    .input(z.strictObject({ ruleId: z.uuid() }))
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      const rule = await ruleOrNotFound(ctx.em, ctx.org.id, input.ruleId);
      const resolved = await resolveAlertsOfRule(ctx.em, ctx.org.id, rule.id, 'rule_removed', new Date());
      await deleteAlertRule(ctx.em, ctx.org.id, rule.id);
      await ctx.audit({
        action: 'alert_rule.removed',
        targetType: 'alert_rule',
        targetId: rule.id,
        details: { name: rule.name, condition: describeCondition(rule), resolvedAlerts: resolved.length },
      });
      return { ok: true as const };
    }),
});
