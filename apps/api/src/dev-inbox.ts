import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type AddressObject, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** A mail in the development inbox, as its list shows it. */
export interface DevMailSummary {
  id: string;
  receivedAt: string;
  from: string;
  to: string[];
  subject: string;
  messageId: string | null;
}

/** A mail in the development inbox with its bodies. */
export interface DevMail extends DevMailSummary {
  text: string;
  /** The HTML body as sent (render it sandboxed), or null for a plain-text mail. */
  html: string | null;
  /** The http(s) links of the text body, in order (the invitation link among them). */
  links: string[];
}

/** What the API reads from the development inbox. */
export interface DevInboxReader {
  /** Newest first. */
  list(): DevMailSummary[];
  get(id: string): DevMail | null;
}

/** Options of `DevInbox.start`. */
export interface DevInboxOptions {
  /** Default 127.0.0.1: the sink is for this machine only. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** Mails kept; the oldest go first. Default 200. */
  capacity?: number;
  /** Larger messages are refused (552). Default 2 MiB. */
  maxMessageBytes?: number;
}

const MAX_FIELD = 2000;
const MAX_BODY = 512 * 1024;

function addresses(value: AddressObject | AddressObject[] | undefined): string[] {
  const list = Array.isArray(value) ? value : value ? [value] : [];
  return list.flatMap((a) => a.value.map((v) => v.address ?? v.name ?? '')).filter(Boolean);
}

/**
 * The development inbox of the zero-setup start (`pnpm start` without SMTP_URL): an SMTP sink
 * on a local port that keeps the mails it receives in memory (bounded, newest first) so a
 * person can read them in the web app. Nothing is delivered anywhere.
 */
export class DevInbox implements DevInboxReader {
  private readonly mails: DevMail[] = [];

  private constructor(
    private readonly server: SMTPServer,
    private readonly capacity: number,
    /** `smtp://host:port` to give the worker as SMTP_URL. */
    readonly url: string,
  ) {}

  /** Starts the sink and resolves once it listens. */
  static async start(opts: DevInboxOptions = {}): Promise<DevInbox> {
    const host = opts.host ?? '127.0.0.1';
    const maxBytes = opts.maxMessageBytes ?? 2 * 1024 * 1024;
    let inbox: DevInbox | undefined;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      size: maxBytes,
      // Closing waits this long for clients (an idle pooled transport) before cutting them off.
      closeTimeout: 1000,
      onData(stream, _session, callback) {
        simpleParser(stream, { skipImageLinks: true })
          .then((mail) => {
            if ((stream as { sizeExceeded?: boolean }).sizeExceeded) {
              callback(Object.assign(new Error(`Message larger than ${maxBytes} bytes`), { responseCode: 552 }));
              return;
            }
            inbox?.keep({
              id: randomUUID(),
              receivedAt: new Date().toISOString(),
              from: addresses(mail.from).join(', ').slice(0, MAX_FIELD),
              to: addresses(mail.to).slice(0, 50),
              subject: (mail.subject ?? '').slice(0, MAX_FIELD),
              messageId: mail.messageId?.slice(0, MAX_FIELD) ?? null,
              text: (mail.text ?? '').slice(0, MAX_BODY),
              html: typeof mail.html === 'string' ? mail.html.slice(0, MAX_BODY) : null,
              links: [...new Set((mail.text ?? '').match(/https?:\/\/[^\s<>"')]+/g) ?? [])].slice(0, 50),
            });
            callback();
          })
          .catch((error: Error) => callback(error));
      },
    });
    server.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.server.address() as AddressInfo;
    inbox = new DevInbox(server, opts.capacity ?? 200, `smtp://${host.includes(':') ? `[${host}]` : host}:${port}`);
    return inbox;
  }

  private keep(mail: DevMail): void {
    this.mails.unshift(mail);
    if (this.mails.length > this.capacity) this.mails.length = this.capacity;
  }

  list(): DevMailSummary[] {
    return this.mails.map(({ id, receivedAt, from, to, subject, messageId }) => ({
      id,
      receivedAt,
      from,
      to,
      subject,
      messageId,
    }));
  }

  get(id: string): DevMail | null {
    return this.mails.find((m) => m.id === id) ?? null;
  }

  /** Stops accepting mail; the kept mails stay readable. */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
