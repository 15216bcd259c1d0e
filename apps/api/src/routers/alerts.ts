import { ALERT_METRICS, DomainError } from '@tenantry/core';
import { type AlertCursor, type AlertRow, countFiringAlerts, listAlerts } from '@tenantry/db';
import { z } from 'zod';
import { requireModule, requirePermission, router, tenantProcedure } from '../trpc.js';

// Alerts of the active org: firing and resolved episodes of its rules (module `alerts`,
// permission `alerts.read`). They are written by the evaluation of agent reports.

const alertsRead = tenantProcedure.use(requireModule('alerts')).use(requirePermission('alerts.read'));

const RESOLUTIONS = ['recovered', 'rule_disabled', 'rule_changed', 'rule_removed', 'resource_removed'] as const;

export const alertOutput = z.object({
  id: z.string(),
  status: z.enum(['firing', 'resolved']),
  /** Null once the rule was removed. */
  ruleId: z.string().nullable(),
  ruleName: z.string(),
  condition: z.string(),
  metric: z.enum(ALERT_METRICS),
  resourceId: z.string(),
  resourceName: z.string(),
  resourceType: z.string(),
  firedValue: z.union([z.number(), z.string()]),
  resolvedValue: z.union([z.number(), z.string()]).nullable(),
  breachingSince: z.string(),
  firedAt: z.string(),
  resolvedAt: z.string().nullable(),
  resolution: z.enum(RESOLUTIONS).nullable(),
  firedNotifiedAt: z.string().nullable(),
  resolvedNotifiedAt: z.string().nullable(),
});

function toAlertOutput(a: AlertRow): z.infer<typeof alertOutput> {
  return {
    id: a.id,
    status: a.status,
    ruleId: a.ruleId,
    ruleName: a.ruleName,
    condition: a.condition,
    metric: a.metric,
    resourceId: a.resourceId,
    resourceName: a.resourceName,
    resourceType: a.resourceType,
    firedValue: a.firedValue,
    resolvedValue: a.resolvedValue,
    breachingSince: a.breachingSince.toISOString(),
    firedAt: a.firedAt.toISOString(),
    resolvedAt: a.resolvedAt?.toISOString() ?? null,
    resolution: a.resolution,
    firedNotifiedAt: a.firedNotifiedAt?.toISOString() ?? null,
    resolvedNotifiedAt: a.resolvedNotifiedAt?.toISOString() ?? null,
  };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Opaque page cursor: the last alert's fire time (ms) and id. */
export function encodeAlertCursor(cursor: AlertCursor): string {
  return Buffer.from(`${cursor.firedAt.getTime()}.${cursor.id}`).toString('base64url');
}

/** The cursor, or VALIDATION_FAILED when it is not one this API handed out. */
export function decodeAlertCursor(raw: string): AlertCursor {
  const [ms, id, extra] = Buffer.from(raw, 'base64url').toString('utf8').split('.');
  const time = Number(ms);
  if (extra !== undefined || !id || !UUID_RE.test(id) || !Number.isSafeInteger(time) || time < 0) {
    throw new DomainError('VALIDATION_FAILED', 'The cursor is not valid: pass the nextCursor of the previous page.');
  }
  return { firedAt: new Date(time), id };
}

export const alertsRouter = router({
  /** The active org's alerts, newest first; `status` keeps the firing or the resolved ones. */
  list: alertsRead
    .meta({ openapi: { method: 'GET', path: '/alerts', tags: ['alerts'], summary: 'List alerts' } })
    .input(
      z.strictObject({
        status: z.enum(['firing', 'resolved']).optional(),
        cursor: z.string().trim().min(1).max(200).optional(),
        limit: z.coerce.number().int().min(1).max(200).optional(),
      }),
    )
    .output(z.object({ alerts: z.array(alertOutput), nextCursor: z.string().nullable() }))
    .query(async ({ ctx, input }) => {
      const page = await listAlerts(ctx.em, ctx.org.id, {
        status: input.status,
        cursor: input.cursor ? decodeAlertCursor(input.cursor) : undefined,
        limit: input.limit ?? 50,
      });
      return {
        alerts: page.alerts.map(toAlertOutput),
        nextCursor: page.nextCursor ? encodeAlertCursor(page.nextCursor) : null,
      };
    }),

  /** How many alerts are firing in the active org (the navigation badge). */
  summary: alertsRead
    .meta({ openapi: { method: 'GET', path: '/alerts/summary', tags: ['alerts'], summary: 'Firing alert count' } })
    .input(z.void())
    .output(z.object({ firing: z.number() }))
    .query(async ({ ctx }) => ({ firing: await countFiringAlerts(ctx.em, ctx.org.id) })),
});
