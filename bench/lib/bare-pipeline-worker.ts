/**
 * The ceiling of the invitation benchmark, run as its own process: a bare BullMQ worker that
 * sends one fixed mail per job through a pooled nodemailer transport, with the same
 * concurrency and pool as the invitation worker and no database. Configured by environment:
 * REDIS_URL, QUEUE_PREFIX, QUEUE_NAME, SMTP_URL, CONCURRENCY, POOL_SIZE. Prints `ready` when
 * it consumes, and closes on SIGTERM.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import nodemailer from 'nodemailer';

const env = process.env;
const connection = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const transport = nodemailer.createTransport({
  url: env.SMTP_URL,
  pool: true,
  maxConnections: Number(env.POOL_SIZE ?? 5),
  maxMessages: Number.POSITIVE_INFINITY,
} as Parameters<typeof nodemailer.createTransport>[0]);

// The same shape and size as an invitation mail: subject, a text and an HTML body, a link.
const link = `https://tenantry.example.com/invite/${'x'.repeat(43)}.${'y'.repeat(43)}`;
const text = `Olivia Owner invited you to join Acme Monitoring on Tenantry as editor.\n\nAccept the invitation: ${link}\n\nIf you did not expect this invitation, you can ignore this email.`;
const html = `<p>Olivia Owner invited you to join <strong>Acme Monitoring</strong> on Tenantry as editor.</p>\n<p><a href="${link}">Accept the invitation</a></p>\n<p>If you did not expect this invitation, you can ignore this email.</p>`;

const worker = new Worker(
  env.QUEUE_NAME ?? 'bare-mail',
  async (job) => {
    await transport.sendMail({
      from: 'Tenantry <no-reply@tenantry.local>',
      to: `person-${job.id}@example.com`,
      messageId: `<bare-${job.id}@tenantry.example.com>`,
      subject: 'Olivia Owner invited you to Acme Monitoring on Tenantry',
      text,
      html,
    });
  },
  { connection, concurrency: Number(env.CONCURRENCY ?? 10), prefix: env.QUEUE_PREFIX },
);
worker.on('error', (error) => process.stderr.write(`worker error: ${error.message}\n`));
await worker.waitUntilReady();
process.stdout.write('ready\n');

process.once('SIGTERM', async () => {
  await worker.close();
  transport.close();
  connection.disconnect();
  process.exit(0);
});
