import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ProcessorContext } from '../queue-registration.js';
import type { InvitationEmailJob } from '../queues/invitation-email.js';
import { invitationMail, processInvitationEmail } from './invitation-email.js';

const ctx = {
  logger: pino({ level: 'silent' }),
  get db(): never {
    throw new Error('no database in this test');
  },
} as ProcessorContext;

describe('invitation mail processor', () => {
  it('refuses a job without orgId as unrecoverable', async () => {
    const job = { data: { invitationId: 'x', email: 'a@example.com', link: 'https://x/invite/t' }, opts: {} };
    await expect(processInvitationEmail(job as unknown as Job<InvitationEmailJob>, ctx)).rejects.toBeInstanceOf(
      UnrecoverableError,
    );
  });

  it('names the org and the inviter in both bodies, and escapes HTML', () => {
    const mail = invitationMail({
      orgId: 'o',
      invitationId: 'i',
      sendCount: 1,
      token: 't',
      email: 'a@example.com',
      orgName: 'Acme <Ops>',
      inviterName: 'Olivia',
      role: 'editor',
      link: 'https://tenantry.example.com/invite/t',
    });
    expect(mail.text).toContain('Acme <Ops>');
    expect(mail.text).toContain('Olivia');
    expect(mail.text).toContain('https://tenantry.example.com/invite/t');
    expect(mail.html).toContain('Acme &lt;Ops&gt;');
    expect(mail.html).toContain('href="https://tenantry.example.com/invite/t"');
  });
});
