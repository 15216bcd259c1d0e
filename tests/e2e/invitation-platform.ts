import { randomUUID } from 'node:crypto';
import { createApp, DevInbox, loadApiEnv } from '@tenantry/api';
import { generateLicenseKeyPair, issueLicense } from '@tenantry/core';
import { createTestDatabase, type TestDatabase } from '@tenantry/db/testing';
import {
  closeInvitationTransports,
  INVITATION_EMAIL_QUEUE,
  loadWorkerEnv,
  openInvitationEmailQueue,
  processInvitationEmail,
  registerQueue,
  startWorker,
} from '@tenantry/worker';
import { Redis } from 'ioredis';
import type { Browser, Locator } from 'playwright-core';
import { freePort } from '../ops/helpers.js';
import { launchChromium } from './chromium.js';
import { ensureWebBuilt, WEB_DIST } from './web-build.js';

const REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * The platform the invitation browser tests drive: the API serving the built web app over a
 * fresh PostgreSQL database (multi-tenant mode licensed), the dev inbox, the invitation worker
 * mailing the inbox's SMTP sink, and a headless Chromium.
 */
export interface InvitationPlatform {
  browser: Browser;
  db: TestDatabase;
  /** The dev inbox the worker mails (its SMTP sink). */
  inbox: DevInbox;
  /** An address of the platform: `url('/signin')`. */
  url(path: string): string;
  close(): Promise<void>;
}

export async function startInvitationPlatform(opts: { licensee: string; prefix: string }): Promise<InvitationPlatform> {
  const prefix = `${opts.prefix}-${randomUUID()}`;
  const [, keys, db, port] = await Promise.all([
    ensureWebBuilt(),
    generateLicenseKeyPair(),
    createTestDatabase({ kind: 'postgresql', poolMax: 4 }),
    freePort(),
  ]);
  const url = (path: string) => `http://127.0.0.1:${port}${path}`;
  const license = await issueLicense(
    {
      licensee: opts.licensee,
      tier: 'enterprise',
      features: ['multi_tenant'],
      expiresAt: new Date(Date.now() + 86_400_000),
    },
    keys.privateKeyPem,
  );
  const inbox = await DevInbox.start();
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  const app = createApp({
    env: loadApiEnv({
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: url(''),
      LOG_LEVEL: 'error',
      MULTI_TENANT_ENABLED: 'true',
      LICENSE_PUBLIC_KEY: keys.publicKeyPem,
      LICENSE_KEY: license,
      WEB_DIST,
    }),
    db: db.db,
    redis,
    queuePrefix: prefix,
    devInbox: inbox,
  });
  await app.listen({ host: '127.0.0.1', port });
  const worker = await startWorker({
    env: loadWorkerEnv({ REDIS_URL, SMTP_URL: inbox.url, LOG_LEVEL: 'silent' }),
    db: db.db,
    queues: [registerQueue(INVITATION_EMAIL_QUEUE, processInvitationEmail, { concurrency: 2 })],
    prefix,
  });
  const browser = await launchChromium();
  return {
    browser,
    db,
    inbox,
    url,
    async close() {
      await browser.close();
      await worker.close();
      closeInvitationTransports();
      const queue = openInvitationEmailQueue(REDIS_URL, { prefix });
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
      await app.close();
      redis.disconnect();
      await inbox.close();
      await db.drop();
    },
  };
}

/** Waits until the locator's text (spaces collapsed) matches: playwright-core has no auto-retrying assertions. */
export async function waitForText(locator: Locator, expected: string | RegExp, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string | null = null;
  for (;;) {
    last = await locator.textContent({ timeout: Math.max(1, deadline - Date.now()) }).catch(() => null);
    const text = last?.replace(/\s+/g, ' ').trim() ?? '';
    if (typeof expected === 'string' ? text === expected : expected.test(text)) return;
    if (Date.now() > deadline)
      throw new Error(`expected ${locator} to read ${expected}, last read ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
