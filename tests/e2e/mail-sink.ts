import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** A real SMTP server in the test process that keeps every mail it receives, parsed. */
export interface MailSink {
  url: string;
  mails: ParsedMail[];
  /** Waits until `count` mails in total have arrived (or fails after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<ParsedMail[]>;
  /** Recipients of a mail (To), lowercased. */
  recipientsOf(mail: ParsedMail): string[];
  close(): Promise<void>;
}

export interface MailSinkOptions {
  /** Refuses a recipient (RCPT TO) with a 550 and this reason; null accepts it. */
  refuse?: (recipient: string) => string | null;
}

export async function startMailSink({ refuse }: MailSinkOptions = {}): Promise<MailSink> {
  const mails: ParsedMail[] = [];
  const waiters: (() => void)[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const reason = refuse?.(address.address);
      callback(reason ? Object.assign(new Error(reason), { responseCode: 550 }) : undefined);
    },
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          mails.push(mail);
          for (const w of waiters.splice(0)) w();
          callback();
        })
        .catch(callback);
    },
  });
  // A client that drops its connection is the client's problem, not the sink's.
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    waitFor(count, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`expected ${count} mails, ${mails.length} arrived`)),
          timeoutMs,
        );
        const check = () => {
          if (mails.length >= count) {
            clearTimeout(timer);
            resolve(mails.slice(0, count));
          } else waiters.push(check);
        };
        check();
      });
    },
    recipientsOf(mail) {
      const to = Array.isArray(mail.to) ? mail.to : mail.to ? [mail.to] : [];
      return to.flatMap((a) => a.value.map((v) => (v.address ?? '').toLowerCase()));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
