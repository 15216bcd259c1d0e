import { formatMetricValue, isUuid } from '@tenantry/core';
import { type AlertRow, appendAuditEvent, findAlert, findOrgById, markAlertNotified } from '@tenantry/db';
import { type Job, UnrecoverableError } from 'bullmq';
import { escapeHtml, sendMail } from '../mail.js';
import type { ProcessorContext } from '../queue-registration.js';
import type { AlertNotificationEvent, AlertNotificationJob } from '../queues/alert-notification.js';

const EVENTS: readonly AlertNotificationEvent[] = ['fired', 'resolved'];

/** What the mail needs beside the alert. */
export interface AlertMailContext {
  orgName: string;
  /** `${PUBLIC_URL}/alerts`, when the worker knows PUBLIC_URL. */
  link: string | null;
}

/** The mail of an alert event: names the org, the rule, its condition and the resource. */
export function alertMail(alert: AlertRow, event: AlertNotificationEvent, ctx: AlertMailContext) {
  const state = event === 'fired' ? 'FIRING' : 'RESOLVED';
  const subject = `[${ctx.orgName}] ${state}: ${alert.ruleName} on ${alert.resourceName}`;
  const value =
    event === 'fired'
      ? `Value: ${formatMetricValue(alert.metric, alert.firedValue)} (breaching since ${alert.breachingSince.toISOString()})`
      : `Resolved at ${alert.resolvedAt?.toISOString() ?? 'now'}${
          alert.resolvedValue === null ? '' : `, value ${formatMetricValue(alert.metric, alert.resolvedValue)}`
        } (fired at ${alert.firedAt.toISOString()})`;
  const lines = [
    `Organization: ${ctx.orgName}`,
    `Rule: ${alert.ruleName} (${alert.condition})`,
    `Resource: ${alert.resourceName} (${alert.resourceType})`,
    value,
  ];
  const text = [
    event === 'fired' ? `An alert is firing in ${ctx.orgName}.` : `An alert was resolved in ${ctx.orgName}.`,
    '',
    ...lines,
    ...(ctx.link ? ['', `See the alerts: ${ctx.link}`] : []),
  ].join('\n');
  const html = `<p>${escapeHtml(event === 'fired' ? `An alert is firing in ${ctx.orgName}.` : `An alert was resolved in ${ctx.orgName}.`)}</p>
<ul>${lines.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>${
    ctx.link ? `\n<p><a href="${escapeHtml(ctx.link)}">See the alerts</a></p>` : ''
  }`;
  return { subject, text, html };
}

function assertJob(data: Partial<AlertNotificationJob> | undefined): asserts data is AlertNotificationJob {
  if (!data?.orgId || !isUuid(data.orgId) || !data.alertId || !isUuid(data.alertId) || !EVENTS.includes(data.event!)) {
    throw new UnrecoverableError('alert notification job without a valid orgId, alertId or event');
  }
}

/**
 * Mails the alert's recipients that it fired or resolved, records the notification on the
 * alert and in the org's audit log, all in the job's org. A job is sent once: a second run
 * of the same (alert, event) finds it recorded and sends nothing.
 */
export async function processAlertNotification(
  job: Job<AlertNotificationJob>,
  ctx: ProcessorContext,
): Promise<{ sent: number } | { skipped: string }> {
  const data = job.data;
  assertJob(data);
  const { orgId, alertId, event } = data;
  const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  const found = await ctx.db.tenant({ orgId }, async (em) => ({
    alert: await findAlert(em, orgId, alertId),
    org: await findOrgById(em, orgId),
  }));
  if (!found.alert || !found.org) {
    // Written by a report whose transaction may still be open: retried, until the last attempt.
    const message = `alert ${alertId} does not exist in organization ${orgId}`;
    if (lastAttempt) throw new UnrecoverableError(message);
    throw new Error(`${message} (yet)`);
  }
  const alert = found.alert;
  if ((event === 'fired' ? alert.firedNotifiedAt : alert.resolvedNotifiedAt) !== null) {
    return { skipped: 'already sent' };
  }
  if (event === 'resolved' && alert.status !== 'resolved') throw new Error(`alert ${alertId} is not resolved (yet)`);
  if (alert.recipients.length === 0) return { skipped: 'no recipients' };

  const link = ctx.env?.PUBLIC_URL ? `${ctx.env.PUBLIC_URL.replace(/\/+$/, '')}/alerts` : null;
  try {
    await sendMail(
      ctx.env,
      { to: alert.recipients, ...alertMail(alert, event, { orgName: found.org.name, link }) },
      'alert mails',
    );
  } catch (error) {
    if (lastAttempt) {
      const message = error instanceof Error ? error.message : String(error);
      await ctx.db.tenant({ orgId }, (em) =>
        appendAuditEvent(em, orgId, {
          actorType: 'system',
          action: 'alert.notification_failed',
          targetType: 'alert',
          targetId: alertId,
          details: { event, recipients: alert.recipients.length, error: message.slice(0, 500) },
        }),
      );
    }
    throw error;
  }
  await ctx.db.tenant({ orgId }, async (em) => {
    if (await markAlertNotified(em, orgId, alertId, event)) {
      await appendAuditEvent(em, orgId, {
        actorType: 'system',
        action: 'alert.notified',
        targetType: 'alert',
        targetId: alertId,
        details: { event, recipients: alert.recipients.length, rule: alert.ruleName, resource: alert.resourceName },
      });
    }
  });
  ctx.logger.info({ orgId, alertId, event }, 'alert mail sent');
  return { sent: alert.recipients.length };
}
