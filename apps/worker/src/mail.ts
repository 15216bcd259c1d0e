import nodemailer, { type Transporter } from 'nodemailer';
import type { WorkerEnv } from './env.js';

// The worker's one way to send mail: a pooled nodemailer transport per SMTP URL, shared by
// every processor (invitations, alert notifications), kept for the life of the process.

const transports = new Map<string, Transporter>();

/** The From header when SMTP_FROM is unset. */
export const DEFAULT_MAIL_FROM = 'Tenantry <no-reply@tenantry.local>';

/** SMTP connections of one worker process's pooled transport. */
export const SMTP_POOL_SIZE = 5;

/**
 * One pooled transport per SMTP URL. Connections are reused for any number of messages
 * (nodemailer's default closes them after 100).
 */
export function mailTransport(smtpUrl: string): Transporter {
  let transport = transports.get(smtpUrl);
  if (!transport) {
    transport = nodemailer.createTransport({
      url: smtpUrl,
      pool: true,
      maxConnections: SMTP_POOL_SIZE,
      maxMessages: Number.POSITIVE_INFINITY,
    } as Parameters<typeof nodemailer.createTransport>[0]);
    transports.set(smtpUrl, transport);
  }
  return transport;
}

/** Closes the pooled transports (tests, shutdown). */
export function closeMailTransports(): void {
  for (const transport of transports.values()) transport.close();
  transports.clear();
}

/** A message as processors compose it. */
export interface MailMessage {
  to: string | string[];
  /** A fixed Message-ID, so every attempt of one mail is the same message to the receiver. */
  messageId?: string;
  subject: string;
  text: string;
  html: string;
}

/**
 * Sends one message through SMTP_URL, from SMTP_FROM. Throws when SMTP_URL is unset (`what`
 * names the kind of mail in the error) or the server refuses, so the job retries.
 */
export async function sendMail(
  env: Pick<WorkerEnv, 'SMTP_URL' | 'SMTP_FROM'> | undefined,
  message: MailMessage,
  what: string,
): Promise<void> {
  const smtpUrl = env?.SMTP_URL;
  if (!smtpUrl) throw new Error(`SMTP_URL is unset: ${what} cannot be sent`);
  await mailTransport(smtpUrl).sendMail({ from: env?.SMTP_FROM ?? DEFAULT_MAIL_FROM, ...message });
}

/** Text for an HTML body. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
