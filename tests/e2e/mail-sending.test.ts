import { closeMailTransports, MailError, sendMail } from '@tenantry/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MailSink, startMailSink } from './mail-sink.js';

// The worker's mail thread against a real SMTP server: messages arrive whole, refusals come back
// as errors a job can retry and record, and closing the pooled connections does not stop the
// next send.

let sink: MailSink;
let refuse: ((to: string) => string | null) | null = null;

beforeAll(async () => {
  sink = await startMailSink({ refuse: (to) => refuse?.(to) ?? null });
});

afterAll(async () => {
  closeMailTransports();
  await sink.close();
});

const env = () => ({ SMTP_URL: sink.url, SMTP_FROM: 'Tenantry <no-reply@tenantry.test>' });

describe('sending mail from the worker', () => {
  it('delivers concurrent messages whole, each with its own headers and both bodies', async () => {
    sink.mails.length = 0;
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
    expect(sink.mails).toHaveLength(30);
    const byId = new Map(sink.mails.map((p) => [p.messageId, p]));
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
    sink.mails.length = 0;
    await sendMail(env(), { to: 'somebody@example.com', subject: 's', text: 't', html: '<p>h</p>' }, 'test mails');
    expect(sink.mails.map((m) => sink.recipientsOf(m))).toEqual([['somebody@example.com']]);
  });

  it('opens new connections after the pooled ones were closed', async () => {
    closeMailTransports();
    sink.mails.length = 0;
    await sendMail(env(), { to: 'after@example.com', subject: 's', text: 't', html: '<p>h</p>' }, 'test mails');
    expect(sink.mails.map((m) => sink.recipientsOf(m))).toEqual([['after@example.com']]);
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
