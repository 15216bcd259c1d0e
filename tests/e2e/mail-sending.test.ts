import type { AddressInfo } from 'node:net';
import { closeMailTransports, MailError, sendMail } from '@tenantry/worker';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The worker's mail thread against a real SMTP server: messages arrive whole, refusals come back
// as errors a job can retry and record, and closing the pooled connections does not stop the
// next send.

let smtp: SMTPServer;
let smtpUrl = '';
const received: { to: string[]; raw: string }[] = [];
let refuse: ((to: string) => string | null) | null = null;

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const reason = refuse?.(address.address);
      if (reason) {
        const error = Object.assign(new Error(reason), { responseCode: 550 });
        callback(error);
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString() });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpUrl = `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  closeMailTransports();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

const env = () => ({ SMTP_URL: smtpUrl, SMTP_FROM: 'Tenantry <no-reply@tenantry.test>' });

describe('sending mail from the worker', () => {
  it('delivers concurrent messages whole, each with its own headers and both bodies', async () => {
    received.length = 0;
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        sendMail(
          env(),
          {
            to: `person-${i}@example.com`,
            messageId: `<m-${i}@tenantry.test>`,
            subject: `Mail ${i} — café`,
            text: `Text body ${i}`,
            html: `<p>HTML body ${i}</p>`,
          },
          'test mails',
        ),
      ),
    );
    expect(received).toHaveLength(30);
    const parsed = await Promise.all(received.map((r) => simpleParser(r.raw)));
    const byId = new Map(parsed.map((p) => [p.messageId, p]));
    for (let i = 0; i < 30; i += 1) {
      const mail = byId.get(`<m-${i}@tenantry.test>`);
      expect(mail?.subject).toBe(`Mail ${i} — café`);
      expect(mail?.text?.trim()).toBe(`Text body ${i}`);
      expect(mail?.html).toContain(`<p>HTML body ${i}</p>`);
      expect(mail?.from?.value).toEqual([{ name: 'Tenantry', address: 'no-reply@tenantry.test' }]);
    }
  });

  it("answers the SMTP server's refusal as a MailError with its code, and the next send still works", async () => {
    refuse = (to) => (to.startsWith('nobody') ? 'no such user here' : null);
    try {
      const failure = await sendMail(
        env(),
        { to: 'nobody@example.com', subject: 's', text: 't', html: '<p>h</p>' },
        'test mails',
      ).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(MailError);
      expect((failure as MailError).message).toContain('no such user here');
      expect((failure as MailError).responseCode).toBe(550);
      expect((failure as MailError).command).toBe('RCPT TO');
    } finally {
      refuse = null;
    }
    received.length = 0;
    await sendMail(env(), { to: 'somebody@example.com', subject: 's', text: 't', html: '<p>h</p>' }, 'test mails');
    expect(received.map((r) => r.to)).toEqual([['somebody@example.com']]);
  });

  it('opens new connections after the pooled ones were closed', async () => {
    closeMailTransports();
    received.length = 0;
    await sendMail(env(), { to: 'after@example.com', subject: 's', text: 't', html: '<p>h</p>' }, 'test mails');
    expect(received.map((r) => r.to)).toEqual([['after@example.com']]);
  });

  it('refuses to send without SMTP_URL, naming the kind of mail', async () => {
    await expect(
      sendMail({ SMTP_URL: undefined }, { to: 'x@example.com', subject: 's', text: 't', html: '' }, 'test mails'),
    ).rejects.toThrow('SMTP_URL is unset: test mails cannot be sent');
  });

  it('fails a send, instead of hanging, when the server is gone', async () => {
    const failure = await sendMail(
      { SMTP_URL: 'smtp://127.0.0.1:1' },
      { to: 'x@example.com', subject: 's', text: 't', html: '' },
      'test mails',
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MailError);
    expect((failure as MailError).code).toBe('ESOCKET');
    expect((failure as MailError).message).toContain('ECONNREFUSED');
  });
});
