import { appendAuditEvent, markInvitationDeliveryFailed, markInvitationSent } from '@tenantry/db';
import { type Job, UnrecoverableError } from 'bullmq';
import { escapeHtml, sendMail } from '../mail.js';
import type { ProcessorContext } from '../queue-registration.js';
import type { InvitationEmailJob } from '../queues/invitation-email.js';

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

/** Sends one invitation mail; records `sent`, or `failed` after the last attempt. */
export async function processInvitationEmail(job: Job<InvitationEmailJob>, ctx: ProcessorContext): Promise<void> {
  const data = job.data;
  if (!data?.orgId || !data.invitationId || !data.email || !data.link) {
    throw new UnrecoverableError('invitation mail job without orgId, invitationId, email or link');
  }
  try {
    await sendMail(ctx.env, { to: data.email, ...invitationMail(data) }, 'invitation mails');
  } catch (error) {
    const attempts = job.opts.attempts ?? 1;
    if (job.attemptsMade + 1 >= attempts) {
      const message = error instanceof Error ? error.message : String(error);
      await ctx.db.tenant({ orgId: data.orgId }, async (em) => {
        if (await markInvitationDeliveryFailed(em, data.orgId, data.invitationId, data.sendCount, message)) {
          await appendAuditEvent(em, data.orgId, {
            actorType: 'system',
            action: 'invitation.delivery_failed',
            targetType: 'invitation',
            targetId: data.invitationId,
            details: { email: data.email, sendCount: data.sendCount, error: message.slice(0, 500) },
          });
        }
      });
    }
    throw error;
  }
  await ctx.db.tenant({ orgId: data.orgId }, async (em) => {
    if (await markInvitationSent(em, data.orgId, data.invitationId, data.sendCount)) {
      await appendAuditEvent(em, data.orgId, {
        actorType: 'system',
        action: 'invitation.sent',
        targetType: 'invitation',
        targetId: data.invitationId,
        details: { email: data.email, sendCount: data.sendCount },
      });
    }
  });
  ctx.logger.info({ orgId: data.orgId, invitationId: data.invitationId }, 'invitation mail sent');
}
