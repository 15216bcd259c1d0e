import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createApp, loadApiEnv } from '@tenantry/api';
import { createTestDatabase, type TestDatabase } from '@tenantry/db/testing';
import { INVITATION_EMAIL_QUEUE } from '@tenantry/worker';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium.js';
import { ensureWebBuilt, WEB_DIST } from './web-build.js';

/**
 * The job dashboard in a real browser: linked from the user menu of a superadmin, showing the
 * worker's queues and retrying a failed job; refused to an org owner and to visitors.
 */

const REDIS_URL = 'redis://127.0.0.1:6379';
const PASSWORD = 'correct horse battery';
const prefix = `e2e-jobs-${randomUUID()}`;

let tdb: TestDatabase;
let redis: Redis;
let app: ReturnType<typeof createApp>;
let queue: Queue;
let browser: Browser;
let base = '';

async function signUp(name: string, email: string): Promise<void> {
  const res = await fetch(`${base}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, email, password: PASSWORD }),
  });
  expect(res.status).toBe(201);
}

async function signIn(context: BrowserContext, email: string, next = '/'): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => console.error(`[browser] uncaught: ${error.message}`));
  await page.goto(`${base}/signin?next=${encodeURIComponent(next)}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  return page;
}

beforeAll(async () => {
  const [, db] = await Promise.all([ensureWebBuilt(), createTestDatabase({ kind: 'postgresql', poolMax: 4 })]);
  tdb = db;
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  app = createApp({
    env: loadApiEnv({ LOG_LEVEL: 'error', WEB_DIST, PUBLIC_URL: 'http://127.0.0.1:0' }),
    db: tdb.db,
    redis,
    queuePrefix: prefix,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  queue = new Queue(INVITATION_EMAIL_QUEUE, { connection: { url: REDIS_URL }, prefix });
  browser = await launchChromium();
  await signUp('Ada Admin', 'ada@example.com');
  await signUp('Olga Owner', 'olga@example.com');
});

afterAll(async () => {
  await browser?.close();
  await queue?.obliterate({ force: true });
  await queue?.close();
  await app?.close();
  redis?.disconnect();
  await tdb?.drop();
});

describe('the job dashboard', () => {
  it('is linked from a superadmin’s user menu and shows the failed job of a queue, which it retries', async () => {
    const job = await queue.add('send', { orgId: randomUUID(), invitationId: randomUUID() });
    const worker = new Worker(
      INVITATION_EMAIL_QUEUE,
      async () => {
        throw new UnrecoverableError('SMTP refused the recipient');
      },
      { connection: { url: REDIS_URL }, prefix },
    );
    await expect.poll(() => job.getState(), { timeout: 10_000 }).toBe('failed');
    await worker.close();

    const context = await browser.newContext();
    const page = await signIn(context, 'ada@example.com');
    await page.getByTestId('user-menu').click();
    await page.getByTestId('job-dashboard-link').click();
    await page.waitForURL(/\/admin\/jobs/);
    await page.getByText(INVITATION_EMAIL_QUEUE).first().waitFor();

    await page.goto(`${base}/admin/jobs/queue/${INVITATION_EMAIL_QUEUE}?status=failed`);
    await page.getByText('SMTP refused the recipient').first().waitFor();
    await page.getByRole('button', { name: 'Retry all' }).click();
    // The dashboard asks before it acts on every failed job of the queue.
    await page.getByRole('alertdialog').getByRole('button', { name: 'Confirm' }).click();
    await expect.poll(() => job.getState(), { timeout: 10_000 }).toBe('waiting');
    await page.screenshot({ path: '/tmp/tenantry-job-dashboard.png' });
    await context.close();
  });

  it('is refused to an organization owner, with no link in their menu', async () => {
    const context = await browser.newContext();
    const page = await signIn(context, 'olga@example.com');
    await page.getByTestId('user-menu').click();
    await page.getByRole('menuitem', { name: 'Sign out' }).waitFor();
    expect(await page.getByTestId('job-dashboard-link').count()).toBe(0);
    const answer = await page.goto(`${base}/admin/jobs`);
    expect(answer?.status()).toBe(403);
    await page.getByText('The job dashboard is for platform administrators').waitFor();
    await context.close();
  });

  it('sends a visitor to sign in, and back to the dashboard after', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const answer = await page.goto(`${base}/admin/jobs`);
    expect(answer?.status()).toBe(401);
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.waitForURL(/\/signin\?next=/);
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText(INVITATION_EMAIL_QUEUE).first().waitFor({ timeout: 15_000 });
    expect(new URL(page.url()).pathname).toMatch(/^\/admin\/jobs/);
    await context.close();
  });
});
