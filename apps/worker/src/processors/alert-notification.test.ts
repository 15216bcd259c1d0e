import type { AlertRow } from '@tenantry/db';
import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ProcessorContext } from '../queue-registration.js';
import type { AlertNotificationJob } from '../queues/alert-notification.js';
import { alertMail, processAlertNotification } from './alert-notification.js';

const ctx = {
  logger: pino({ level: 'silent' }),
  get db(): never {
    throw new Error('the processor must refuse before touching the database');
  },
} as ProcessorContext;

const job = (data: unknown) =>
  ({ data, opts: { attempts: 6 }, attemptsMade: 0 }) as unknown as Job<AlertNotificationJob>;

const alert: AlertRow = {
  orgId: '11111111-1111-4111-8111-111111111111',
  id: '22222222-2222-4222-8222-222222222222',
  ruleId: null,
  resourceId: '33333333-3333-4333-8333-333333333333',
  ruleName: 'CPU <high>',
  condition: 'CPU above 90% for 5 min',
  metric: 'cpu',
  resourceName: 'pve-1',
  resourceType: 'host',
  status: 'resolved',
  firedValue: 0.975,
  resolvedValue: 0.41,
  recipients: ['ops@example.com'],
  breachingSince: new Date('2026-01-01T00:00:00Z'),
  firedAt: new Date('2026-01-01T00:05:00Z'),
  resolvedAt: new Date('2026-01-01T01:00:00Z'),
  resolution: 'recovered',
  firedNotifiedAt: null,
  resolvedNotifiedAt: null,
};

describe('alert notification processor', () => {
  it('refuses a job without a valid org id, alert id or event as unrecoverable', async () => {
    const valid = { orgId: alert.orgId, alertId: alert.id, event: 'fired' };
    for (const data of [
      undefined,
      { alertId: alert.id, event: 'fired' },
      { ...valid, orgId: 'default' },
      { ...valid, alertId: 'x' },
      { ...valid, event: 'exploded' },
    ]) {
      await expect(processAlertNotification(job(data), ctx), JSON.stringify(data)).rejects.toBeInstanceOf(
        UnrecoverableError,
      );
    }
  });

  it('names the org, the rule with its condition and the resource, and escapes HTML', () => {
    const fired = alertMail(alert, 'fired', { orgName: 'Acme & Co', link: 'https://tenantry.example.com/alerts' });
    expect(fired.subject).toBe('[Acme & Co] FIRING: CPU <high> on pve-1');
    expect(fired.text).toContain('Organization: Acme & Co');
    expect(fired.text).toContain('Rule: CPU <high> (CPU above 90% for 5 min)');
    expect(fired.text).toContain('Resource: pve-1 (host)');
    expect(fired.text).toContain('Value: 97.5%');
    expect(fired.text).toContain('https://tenantry.example.com/alerts');
    expect(fired.html).toContain('CPU &lt;high&gt;');
    expect(fired.html).toContain('Acme &amp; Co');
    const resolved = alertMail(alert, 'resolved', { orgName: 'Acme', link: null });
    expect(resolved.subject).toBe('[Acme] RESOLVED: CPU <high> on pve-1');
    expect(resolved.text).toContain('value 41%');
    expect(resolved.text).not.toContain('See the alerts');
  });
});
