import {
  appendAuditEvent,
  incrementDeliveryAttempts,
  invitationSendState,
  markInvitationDeliveryFailed,
} from '@tenantry/db';
import { type Job, UnrecoverableError } from 'bullmq';
import { escapeHtml, sendMail } from '../mail.js';
import type { ProcessorContext } from '../queue-registration.js';
import { type InvitationEmailJob, invitationMessageId } from '../queues/invitation-email.js';
import { deliveryRecorderFor } from './invitation-delivery-recorder.js';

export function invitationMail(data: InvitationEmailJob) {
  const subject = `${data.inviterName} invited you to ${data.orgName} on Tenantry`;
  const text = [
    `${data.inviterName} invited you to join ${data.orgName} on Tenantry as ${data.role}.`,
    '',
    `Accept the invitation: ${data.link}`,
    '',
    'If you did not expect this invitation, you can ignore this email.',
  ].join('\n');
  const html = `<p>${escapeHtml(data.inviterName)} invited you to join <strong>${escapeHtml(data.orgName)}</strong> on Tenantry as ${escapeHtml(data.role)}.</p>
<p><a href="${escapeHtml(data.link)}">Accept the invitation</a></p>
<p>If you did not expect this invitation, you can ignore this email.</p>`;
  return { subject, text, html };
}

/** What a mail job did. */
export type InvitationEmailOutcome = { sent: true } | { sent: false; skipped: 'sent' | 'superseded' };

/**
 * Sends one invitation mail, at least once and as close to exactly once as SMTP allows: a job
 * that runs again (a retry, or a worker killed mid-job) first checks that its send is still
 * due, `sent` is recorded right after the SMTP server accepts the message, and every attempt
 * carries the same Message-ID, so the rare copy a crash between the two leaves is one message
 * to the receiver. After the last failed attempt the invitation shows "delivery failed".
 */
export async function processInvitationEmail(
  job: Job<InvitationEmailJob>,
  ctx: ProcessorContext,
): Promise<InvitationEmailOutcome> {
  const data = job.data;
  if (!data?.orgId || !data.invitationId || !data.email || !data.link || !Number.isInteger(data.sendCount)) {
    throw new UnrecoverableError('invitation mail job without orgId, invitationId, sendCount, email or link');
  }
  const { orgId, invitationId, sendCount } = data;
  // The first start of a job cannot follow a delivery of its own send (job ids are per send);
  // every later start may: a retry after a failure, or a re-run after the worker died.
  if ((job.attemptsStarted ?? 1) > 1 || job.attemptsMade > 0) {
    const state = await ctx.db.tenant({ orgId }, (em) => invitationSendState(em, orgId, invitationId, sendCount));
    if (state !== 'due') {
      ctx.logger.info({ orgId, invitationId, sendCount, state }, 'invitation mail not sent again');
      return { sent: false, skipped: state };
    }
  }
  const attempt = job.attemptsMade + 1;
  try {
    await sendMail(
      ctx.env,
      { to: data.email, messageId: invitationMessageId(invitationId, sendCount, data.link), ...invitationMail(data) },
      'invitation mails',
    );
  } catch (error) {
    await recordFailedAttempt(job, ctx, attempt, error);
    throw error;
  }
  await deliveryRecorderFor(ctx.db).record({
    orgId,
    id: invitationId,
    sendCount,
    email: data.email,
    attempts: attempt,
  });
  ctx.logger.info({ orgId, invitationId, sendCount }, 'invitation mail sent');
  return { sent: true };
}

/** Counts a failed attempt with its error; after the last one, "delivery failed" and its audit entry. */
async function recordFailedAttempt(
  job: Job<InvitationEmailJob>,
  ctx: ProcessorContext,
  attempt: number,
  error: unknown,
): Promise<void> {
  const { orgId, invitationId, sendCount, email } = job.data;
  const message = error instanceof Error ? error.message : String(error);
  const last = attempt >= (job.opts.attempts ?? 1);
  await ctx.db.tenant({ orgId }, async (em) => {
    if ((await incrementDeliveryAttempts(em, orgId, invitationId, sendCount, message)) === null) return;
    if (!last) return;
    if (await markInvitationDeliveryFailed(em, orgId, invitationId, sendCount, message)) {
      await appendAuditEvent(em, orgId, {
        actorType: 'system',
        action: 'invitation.delivery_failed',
        targetType: 'invitation',
        targetId: invitationId,
        details: { email, sendCount, attempts: attempt, error: message.slice(0, 500) },
      });
    }
  });
}
