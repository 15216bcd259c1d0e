import { Worker } from 'node:worker_threads';
import type { WorkerEnv } from './env.js';

// The worker's one way to send mail, shared by every processor (invitations, alert
// notifications): the messages are composed and sent on a mail thread (mail-thread.mjs), over
// a pooled nodemailer transport per SMTP URL kept for the life of the process, while the main
// thread goes on taking jobs and recording them. A mail job spends most of its time in MIME
// composition and socket writes; on one thread those capped a worker process at one core.

/** The From header when SMTP_FROM is unset. */
export const DEFAULT_MAIL_FROM = 'Tenantry <no-reply@tenantry.local>';

/** SMTP connections of one worker process's pooled transport. */
export const SMTP_POOL_SIZE = 5;

interface ThreadError {
  name: string;
  message: string;
  code?: unknown;
  responseCode?: unknown;
  response?: unknown;
  command?: unknown;
}

type ThreadReply = { id: number; ok: true } | { id: number; ok: false; error: ThreadError };

/** The SMTP server's refusal or the connection's failure, as nodemailer reported it. */
export class MailError extends Error {
  readonly code: unknown;
  readonly responseCode: unknown;
  readonly response: unknown;
  readonly command: unknown;
  constructor(error: ThreadError) {
    super(error.message);
    this.name = error.name;
    this.code = error.code;
    this.responseCode = error.responseCode;
    this.response = error.response;
    this.command = error.command;
  }
}

/**
 * The mail thread and the sends waiting for its answer. The thread keeps the process alive only
 * while a send is waiting; if it dies, the waiting sends fail (their jobs retry) and the next
 * send starts a new one.
 */
class MailThread {
  private readonly thread = new Worker(new URL('./mail-thread.mjs', import.meta.url));
  private readonly waiting = new Map<number, { resolve(): void; reject(error: Error): void }>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly onGone: (thread: MailThread) => void) {
    this.thread.unref();
    this.thread.on('message', (reply: ThreadReply) => {
      const waiter = this.waiting.get(reply.id);
      if (!waiter) return;
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) this.thread.unref();
      if (reply.ok) waiter.resolve();
      else waiter.reject(new MailError(reply.error));
    });
    this.thread.on('error', (error) => this.gone(error));
    this.thread.on('exit', (code) => this.gone(new Error(`the mail thread exited (${code})`)));
  }

  send(smtpUrl: string, mail: MailMessage & { from: string }): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the mail thread is closed'));
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      if (this.waiting.size === 0) this.thread.ref();
      this.waiting.set(id, { resolve, reject });
      this.thread.postMessage({ type: 'send', id, smtpUrl, poolSize: SMTP_POOL_SIZE, message: mail });
    });
  }

  /** Closes the pooled connections; the thread ends once they are gone. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.thread.postMessage({ type: 'close' });
    this.onGone(this);
  }

  private gone(error: Error): void {
    this.closed = true;
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
    this.onGone(this);
  }
}

let mailThread: MailThread | undefined;

function thread(): MailThread {
  mailThread ??= new MailThread((gone) => {
    if (mailThread === gone) mailThread = undefined;
  });
  return mailThread;
}

/** Closes the pooled SMTP connections (tests, shutdown); the next send opens new ones. */
export function closeMailTransports(): void {
  mailThread?.close();
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
  await thread().send(smtpUrl, { from: env?.SMTP_FROM ?? DEFAULT_MAIL_FROM, ...message });
}

/** Text for an HTML body. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
