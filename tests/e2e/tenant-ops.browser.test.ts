import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApp, loadApiEnv } from '@tenantry/api';
import { generateLicenseKeyPair, issueLicense } from '@tenantry/core';
import { createTestDatabase, type TestDatabase } from '@tenantry/db/testing';
import {
  createLogger,
  loadWorkerEnv,
  ORG_DELETION_QUEUE,
  REGISTRY,
  type RunningWorker,
  startWorker,
} from '@tenantry/worker';
import { Redis } from 'ioredis';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium.js';
import { ensureWebBuilt, WEB_DIST } from './web-build.js';

/**
 * Operating tenants in a real browser: the platform admin adds a tenant inline in Admin →
 * Tenants, trims its features and suspends it while its customer watches the app change, then
 * deletes it by typing its slug and follows the progress bar to the report. The real API,
 * deletion worker, PostgreSQL and Redis run underneath; Debian's Chromium drives the pages.
 */

const SHOTS = '/tmp';
const PASSWORD = 'correct horse battery';
const REDIS_URL = 'redis://127.0.0.1:6379';
const ADMIN = { name: 'Olga Operator', email: 'olga@msp.example.com' };
const CUSTOMER = { name: 'Carl Customer', email: 'carl@acme.example.com' };

let testDb: TestDatabase;
let redis: Redis;
let app: ReturnType<typeof createApp>;
let worker: RunningWorker;
let dataDir: string;
let port = 0;
let browser: Browser;
let adminContext: BrowserContext;
let customerContext: BrowserContext;
let admin: Page;
let customer: Page;
let tenantId = '';

const url = (p: string) => `http://127.0.0.1:${port}${p}`;

async function waitForText(locator: Locator, expected: string | RegExp, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string | null = null;
  for (;;) {
    last = await locator.textContent({ timeout: Math.max(1, deadline - Date.now()) }).catch(() => null);
    const text = last?.trim() ?? '';
    if (typeof expected === 'string' ? text === expected : expected.test(text)) return;
    if (Date.now() > deadline)
      throw new Error(`expected ${locator} to read ${expected}, last read ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function moduleChips(page: Page): Promise<string[]> {
  await page.getByTestId('home').waitFor();
  return (await page.locator('.chips .chip').allTextContents()).map((t) => t.trim());
}

/** A REST call with the admin's browser session (the cookie jar of their context). */
async function asAdmin(method: string, p: string, body?: unknown): Promise<Response> {
  const cookies = await adminContext.cookies(url('/'));
  return fetch(url(p), {
    method,
    headers: {
      cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; '),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
}

beforeAll(async () => {
  const [, keys, db] = await Promise.all([
    ensureWebBuilt(),
    generateLicenseKeyPair(),
    createTestDatabase({ kind: 'postgresql', poolMax: 6 }),
  ]);
  testDb = db;
  const license = await issueLicense(
    {
      licensee: 'Browser MSP',
      tier: 'enterprise',
      features: ['multi_tenant', 'sharing'],
      expiresAt: new Date(Date.now() + 365 * 86_400_000),
    },
    keys.privateKeyPem,
  );
  dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-ops-browser-'));
  const prefix = `tt-browser-${randomUUID().slice(0, 8)}`;
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  worker = await startWorker({
    env: loadWorkerEnv({ REDIS_URL, DATA_DIR: dataDir, DELETION_BATCH_ROWS: '200' }),
    db: testDb.db,
    prefix,
    logger: createLogger('silent'),
    queues: REGISTRY.filter((q) => q.name === ORG_DELETION_QUEUE),
  });
  const env = loadApiEnv({
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'error',
    MULTI_TENANT_ENABLED: 'true',
    LICENSE_PUBLIC_KEY: keys.publicKeyPem,
    LICENSE_KEY: license,
    WEB_DIST,
    DATA_DIR: dataDir,
  });
  app = createApp({ env, db: testDb.db, redis, queuePrefix: prefix });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;

  browser = await launchChromium();
  adminContext = await browser.newContext({ viewport: { width: 1360, height: 860 } });
  customerContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  admin = await adminContext.newPage();
  customer = await customerContext.newPage();
  for (const page of [admin, customer]) {
    page.on('pageerror', (error) => console.error(`[browser] uncaught: ${error.stack ?? error.message}`));
    page.setDefaultTimeout(10_000);
  }
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await worker?.close();
  redis?.disconnect();
  await testDb?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('Admin → Tenants in the browser', () => {
  it('shows every tenant to the platform admin, with YOU ARE HERE on the org they are in', async () => {
    await admin.goto(url('/signup'));
    await admin.getByLabel('Name').fill(ADMIN.name);
    await admin.getByLabel('Email').fill(ADMIN.email);
    await admin.getByLabel('Password').fill(PASSWORD);
    await admin.getByRole('button', { name: 'Create account' }).click();
    await waitForText(admin.getByTestId('home-org-name'), 'Default');

    await admin.getByRole('link', { name: 'Admin' }).click();
    await admin.waitForURL(/\/admin\/tenants$/);
    await waitForText(admin.getByTestId('tenants-in-use'), 'Tenants in use: 0 / ∞');
    await waitForText(admin.getByTestId('tenant-default').locator('td').first(), /Default\s*YOU ARE HERE/);
  });

  it('creates a tenant from the inline row, deriving its slug from the name', async () => {
    await admin.getByLabel('Tenant name').fill('Acme Ltd');
    expect(await admin.getByLabel('Slug').inputValue()).toBe('acme-ltd');
    await admin.getByRole('button', { name: 'Add tenant' }).click();
    const row = admin.getByTestId('tenant-acme-ltd');
    await row.waitFor();
    await waitForText(admin.getByTestId('tenant-status-acme-ltd'), 'Active');
    await waitForText(admin.getByTestId('tenants-in-use'), 'Tenants in use: 1 / ∞');
    await admin.getByRole('status').filter({ hasText: 'Acme Ltd was added' }).waitFor();
    await admin.screenshot({ path: `${SHOTS}/tenantry-admin-tenants.png`, fullPage: true });

    const list = (await (await asAdmin('GET', '/api/admin/tenants')).json()) as {
      tenants: { id: string; slug: string }[];
    };
    tenantId = list.tenants.find((t) => t.slug === 'acme-ltd')!.id;
  });

  it("trims a feature, and the module vanishes for that org's user", async () => {
    // The customer: an account of their own, added to the new tenant, where they land.
    const signup = await fetch(url('/api/auth/signup'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...CUSTOMER, password: PASSWORD }),
    });
    const { user } = (await signup.json()) as { user: { id: string } };
    expect((await asAdmin('POST', `/api/orgs/${tenantId}/members`, { userId: user.id, role: 'admin' })).status).toBe(
      201,
    );
    await customer.goto(url('/signin'));
    await customer.getByLabel('Email').fill(CUSTOMER.email);
    await customer.getByLabel('Password').fill(PASSWORD);
    await customer.getByRole('button', { name: 'Sign in' }).click();
    await waitForText(customer.getByTestId('home-org-name'), 'Acme Ltd');
    expect(await moduleChips(customer)).toContain('alerts');

    await admin.getByRole('button', { name: 'Features of Acme Ltd' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Features of Acme Ltd' });
    await dialog.getByLabel('Alerts').uncheck();
    await admin.screenshot({ path: `${SHOTS}/tenantry-tenant-features.png` });
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await admin.getByRole('status').filter({ hasText: 'Features of Acme Ltd saved.' }).waitFor();

    await customer.reload();
    await waitForText(customer.getByTestId('home-org-name'), 'Acme Ltd');
    const chips = await moduleChips(customer);
    expect(chips).not.toContain('alerts');
    expect(chips).toContain('agents');
  });

  it('suspends the tenant: its user sees it suspended with every module hidden, until it is resumed', async () => {
    await admin.getByRole('button', { name: 'Suspend Acme Ltd' }).click();
    await waitForText(admin.getByTestId('tenant-status-acme-ltd'), 'Suspended');

    await customer.reload();
    await waitForText(customer.getByTestId('org-status-banner'), /This organization is suspended\./);
    expect(await moduleChips(customer)).toEqual([]);
    await customer.screenshot({ path: `${SHOTS}/tenantry-suspended.png`, fullPage: true });

    await admin.getByRole('button', { name: 'Resume Acme Ltd' }).click();
    await waitForText(admin.getByTestId('tenant-status-acme-ltd'), 'Active');
    await customer.reload();
    await waitForText(customer.getByTestId('home-org-name'), 'Acme Ltd');
    expect(await customer.getByTestId('org-status-banner').count()).toBe(0);
    expect(await moduleChips(customer)).toContain('agents');
  });

  it('deletes the tenant once its slug is typed, with a progress bar that reaches the report', async () => {
    await admin.getByRole('button', { name: 'Delete Acme Ltd' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Delete Acme Ltd' });
    const confirm = dialog.getByRole('button', { name: 'Delete tenant' });
    await dialog.getByLabel(/Type acme-ltd to confirm/).fill('acme');
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel(/Type acme-ltd to confirm/).fill('acme-ltd');
    await confirm.click();

    const bar = dialog.getByRole('progressbar', { name: 'Deleting Acme Ltd' });
    await bar.waitFor();
    const report = dialog.getByTestId('deletion-report');
    await report.waitFor({ timeout: 30_000 });
    expect(await bar.getAttribute('aria-valuenow')).toBe('100');
    expect(Number((await dialog.getByTestId('report-rows').textContent())?.replace(/\D/g, ''))).toBeGreaterThan(0);
    // The customer belonged to this tenant only: their account goes with it.
    await waitForText(dialog.getByTestId('report-users-deleted'), '1');
    await admin.screenshot({ path: `${SHOTS}/tenantry-tenant-deleted.png` });

    await dialog.getByRole('button', { name: 'Close' }).click();
    await admin.getByTestId('tenant-acme-ltd').waitFor({ state: 'detached' });
    await waitForText(admin.getByTestId('tenants-in-use'), 'Tenants in use: 0 / ∞');
  });

  it('shows the plan and usage of an org in Settings → Organization → Billing & Plan', async () => {
    await admin.getByRole('link', { name: 'Settings' }).click();
    await admin.getByRole('link', { name: 'Billing & Plan' }).click();
    await waitForText(admin.getByTestId('billing-tier'), 'Enterprise');
    await waitForText(admin.getByTestId('usage-members').locator('.usage-count'), '1 / unlimited');
    await admin.screenshot({ path: `${SHOTS}/tenantry-billing.png`, fullPage: true });
  });
});
