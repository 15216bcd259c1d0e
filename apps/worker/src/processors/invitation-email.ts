import { appendAuditEvent, markInvitationDeliveryFailed, markInvitationSent } from '@tenantry/db';
import { type Job, UnrecoverableError } from 'bullmq';
import nodemailer, { type Transporter } from 'nodemailer';
import type { ProcessorContext } from '../queue-registration.js';
import type { InvitationEmailJob } from '../queues/invitation-email.js';

const transports = new Map<string, Transporter>();

/** One pooled transport per SMTP URL, kept for the life of the process. */
function transportFor(smtpUrl: string): Transporter {
  let transport = transports.get(smtpUrl);
  if (!transport) {
    const url = new URL(smtpUrl);
    url.searchParams.set('pool', 'true');
    transport = nodemailer.createTransport(url.toString());
    transports.set(smtpUrl, transport);
  }
  return transport;
}

/** Closes the pooled transports (tests, shutdown). */
export function closeInvitationTransports(): void {
  for (const transport of transports.values()) transport.close();
  transports.clear();
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

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
  const smtpUrl = ctx.env?.SMTP_URL;
  try {
    if (!smtpUrl) throw new Error('SMTP_URL is unset: invitation mails cannot be sent');
    const mail = invitationMail(data);
    await transportFor(smtpUrl).sendMail({
      from: ctx.env?.SMTP_FROM ?? 'Tenantry <no-reply@tenantry.local>',
      to: data.email,
      ...mail,
    });
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
