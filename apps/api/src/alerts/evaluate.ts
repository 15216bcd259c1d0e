import { type AlertOutcome, describeCondition, evaluateAlert, type ResourceSample } from '@tenantry/core';
import {
  type AlertPairKey,
  type AlertRow,
  type AuditActorType,
  appendAuditEvents,
  clearAlertBreaches,
  type EntityManager,
  type FireAlertInput,
  findOwnResourceIds,
  fireAlerts,
  listEnabledAlertRules,
  loadAlertPairStates,
  recordAlertBreaches,
  resolveAlerts,
} from '@tenantry/db';
import {
  ALERT_NOTIFICATION_JOB_OPTIONS,
  ALERT_NOTIFICATION_QUEUE,
  type AlertNotificationEvent,
  type AlertNotificationJob,
  alertNotificationJobId,
} from '@tenantry/worker/queues/alert-notification';
import type { JobQueues } from '../jobs.js';

/** A resource as a report left it. `orgId`, when given, must be the org being evaluated. */
export interface ReportedResource extends ResourceSample {
  orgId?: string;
}

/** Who the audit log names for what an evaluation fired and resolved. */
export interface EvaluationActor {
  type: Extract<AuditActorType, 'agent' | 'system'>;
  id?: string | null;
  label?: string | null;
  ip?: string | null;
}

/** Options of `evaluateAlertsOnReport`. */
export interface EvaluateOptions {
  /** Producers of the worker's queues; null (or no Redis) records alerts without mail. */
  queues: Pick<JobQueues, 'get'> | null;
  /** The report's time (default: now). */
  now?: Date;
  /** Default: `system`. The report endpoint passes its agent. */
  actor?: EvaluationActor;
  /**
   * Runs a task once the report's transaction has committed (a tenant context's
   * `afterCommit`). Given, the mail jobs are enqueued then; without it they are enqueued at
   * once, and a job that finds its alert not yet committed is retried with backoff.
   */
  afterCommit?: (task: () => Promise<void>) => void;
}

/** What one evaluation changed. */
export interface EvaluationResult {
  fired: AlertRow[];
  resolved: AlertRow[];
  /** Pairs breaching but not yet for their rule's duration. */
  pending: number;
}

const pairKey = (ruleId: string, resourceId: string) => `${ruleId}|${resourceId}`;

/**
 * Evaluates the org's enabled alert rules against the resources of one report, inside the
 * report's unit of work (`db.tenant({ orgId })`): records breach starts, fires an alert once
 * per episode, resolves it once when the metric recovers, appends `alert.fired` /
 * `alert.resolved` to the org's audit log and enqueues one notification mail per event.
 *
 * Alerts belong to the resource's own org: resources that are not the org's own (another
 * org's, e.g. shared with it) are skipped, whatever the caller passes.
 */
export async function evaluateAlertsOnReport(
  em: EntityManager,
  orgId: string,
  resources: readonly ReportedResource[],
  opts: EvaluateOptions,
): Promise<EvaluationResult> {
  const none: EvaluationResult = { fired: [], resolved: [], pending: 0 };
  const now = opts.now ?? new Date();
  const claimed = resources.filter((r) => r.orgId === undefined || r.orgId === orgId);
  if (claimed.length === 0) return none;
  const rules = await listEnabledAlertRules(em, orgId);
  if (rules.length === 0) return none;
  const own = new Set(await findOwnResourceIds(em, orgId, [...new Set(claimed.map((r) => r.id))]));
  const samples = new Map(claimed.filter((r) => own.has(r.id)).map((r) => [r.id, r]));
  if (samples.size === 0) return none;

  const states = new Map(
    (await loadAlertPairStates(em, orgId, [...samples.keys()])).map((s) => [pairKey(s.ruleId, s.resourceId), s]),
  );
  const breaches: (AlertPairKey & { breachingSince: Date })[] = [];
  const cleared: AlertPairKey[] = [];
  const toFire: FireAlertInput[] = [];
  const toResolve: (AlertPairKey & { value: number | string | null })[] = [];
  let pending = 0;

  for (const rule of rules) {
    for (const sample of samples.values()) {
      const key = { ruleId: rule.id, resourceId: sample.id };
      const state = states.get(pairKey(rule.id, sample.id));
      const before = state?.breachingSince ?? null;
      const outcome: AlertOutcome = evaluateAlert(
        rule,
        { breachingSince: before, firing: Boolean(state?.firingAlertId) },
        sample,
        now,
      );
      switch (outcome.kind) {
        case 'none':
          if (outcome.breachingSince === null && before !== null) cleared.push(key);
          else if (outcome.breachingSince !== null && before === null)
            breaches.push({ ...key, breachingSince: outcome.breachingSince });
          break;
        case 'pending':
          pending++;
          if (before === null) breaches.push({ ...key, breachingSince: outcome.breachingSince });
          break;
        case 'fire':
          if (before === null) breaches.push({ ...key, breachingSince: outcome.breachingSince });
          toFire.push({
            ...key,
            ruleName: rule.name,
            condition: describeCondition(rule),
            metric: rule.metric,
            resourceName: sample.name,
            resourceType: sample.type,
            firedValue: outcome.value,
            recipients: rule.recipients,
            breachingSince: outcome.breachingSince,
          });
          break;
        case 'resolve':
          toResolve.push({ ...key, value: outcome.value });
          if (before !== null) cleared.push(key);
          break;
      }
    }
  }

  await recordAlertBreaches(em, orgId, breaches);
  await clearAlertBreaches(em, orgId, cleared);
  const fired = await fireAlerts(em, orgId, toFire, now);
  const resolved = await resolveAlerts(em, orgId, toResolve, 'recovered', now);

  const actor = opts.actor ?? { type: 'system' as const };
  const entry = (alert: AlertRow, event: AlertNotificationEvent) => ({
    actorType: actor.type,
    actorId: actor.id ?? null,
    actorLabel: actor.label ?? null,
    ip: actor.ip ?? null,
    action: event === 'fired' ? 'alert.fired' : 'alert.resolved',
    targetType: 'alert',
    targetId: alert.id,
    details: {
      ruleId: alert.ruleId,
      rule: alert.ruleName,
      condition: alert.condition,
      resourceId: alert.resourceId,
      resource: alert.resourceName,
      value: event === 'fired' ? alert.firedValue : alert.resolvedValue,
    },
  });
  await appendAuditEvents(em, orgId, [
    ...fired.map((a) => entry(a, 'fired')),
    ...resolved.map((a) => entry(a, 'resolved')),
  ]);
  const events = [...fired.map((a) => [a, 'fired'] as const), ...resolved.map((a) => [a, 'resolved'] as const)];
  const enqueue = () => enqueueNotifications(opts.queues, orgId, events);
  if (events.length > 0) {
    if (opts.afterCommit) opts.afterCommit(enqueue);
    else await enqueue();
  }
  return { fired, resolved, pending };
}

/** One mail job per (alert, event) with recipients; the job id makes a repeat a no-op. */
async function enqueueNotifications(
  queues: EvaluateOptions['queues'],
  orgId: string,
  events: readonly (readonly [AlertRow, AlertNotificationEvent])[],
): Promise<void> {
  const jobs = events.filter(([alert]) => alert.recipients.length > 0);
  const queue = jobs.length > 0 ? queues?.get<AlertNotificationJob>(ALERT_NOTIFICATION_QUEUE) : null;
  if (!queue) return;
  await queue.addBulk(
    jobs.map(([alert, event]) => ({
      name: event,
      data: { orgId, alertId: alert.id, event },
      opts: { jobId: alertNotificationJobId(alert.id, event), ...ALERT_NOTIFICATION_JOB_OPTIONS },
    })),
  );
}
