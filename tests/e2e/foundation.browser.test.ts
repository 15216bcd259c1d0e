import type { AddressInfo } from 'node:net';
import { createApp, loadApiEnv } from '@tenantry/api';
import { generateLicenseKeyPair, issueLicense } from '@tenantry/core';
import { createTestDatabase, type TestDatabase } from '@tenantry/db/testing';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium.js';
import { ensureWebBuilt, WEB_DIST } from './web-build.js';

/**
 * The foundation slice in a real browser: the built web app served by the real API over a
 * fresh PostgreSQL database, driven through Debian's Chromium.
 */

const SHOTS = '/tmp';
const PASSWORD = 'correct horse battery';
const ADMIN = { name: 'Ada Admin', email: 'ada@example.com' };
const MEMBER = { name: 'Bob Builder', email: 'bob@example.com' };

let testDb: TestDatabase;
let app: ReturnType<typeof createApp> | null = null;
let port = 0;
let browser: Browser;
let page: Page;
let licenseKey = '';
let tamperedKey = '';
let publicKeyPem = '';

const url = (path: string) => `http://127.0.0.1:${port}${path}`;

/** Starts the API (and the built web app) on `port` (0 = any) with the given flag. */
async function startApi(multiTenant: boolean): Promise<void> {
  const env = loadApiEnv({
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'error',
    MULTI_TENANT_ENABLED: String(multiTenant),
    LICENSE_PUBLIC_KEY: publicKeyPem,
    WEB_DIST,
  });
  app = createApp({ env, db: testDb.db });
  await app.listen({ host: '127.0.0.1', port });
  port = (app.server.address() as AddressInfo).port;
}

async function stopApi(): Promise<void> {
  await app?.close();
  app = null;
}

/** Waits until the locator's text matches (playwright-core has no auto-retrying assertions). */
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

async function signUpOverApi(user: { name: string; email: string }): Promise<void> {
  const res = await fetch(url('/api/auth/signup'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...user, password: PASSWORD }),
  });
  expect(res.status).toBe(201);
}

beforeAll(async () => {
  const [, keys, db] = await Promise.all([
    ensureWebBuilt(),
    generateLicenseKeyPair(),
    createTestDatabase({ kind: 'postgresql', poolMax: 4 }),
  ]);
  testDb = db;
  publicKeyPem = keys.publicKeyPem;
  licenseKey = await issueLicense(
    {
      licensee: 'Browser Test MSP',
      tier: 'enterprise',
      features: ['multi_tenant', 'sharing'],
      expiresAt: new Date(Date.now() + 365 * 86_400_000),
    },
    keys.privateKeyPem,
  );
  const [h, p, sig] = licenseKey.split('.') as [string, string, string];
  tamperedKey = `${h}.${p}.${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`;

  await startApi(true);
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  // Surface what went wrong inside the page in the test output.
  page.on('pageerror', (error) => console.error(`[browser] uncaught: ${error.stack ?? error.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') console.error(`[browser] ${msg.text()}`);
  });
  page.setDefaultTimeout(10_000);
});

afterAll(async () => {
  await browser?.close();
  await stopApi();
  await testDb?.drop();
});

describe('the web app with multi-tenant mode on', () => {
  it('sends a visitor to sign in, and signs the first user up as the default org owner', async () => {
    await page.goto(url('/'));
    await page.waitForURL(/\/signin/);
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByLabel('Name').fill(ADMIN.name);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();

    await waitForText(page.getByTestId('home-org-name'), 'Default');
    await waitForText(page.getByTestId('home-role'), 'Owner');
    await waitForText(page.getByTestId('home-member-count'), '1');
    await waitForText(page.getByTestId('active-org'), 'Default');
    // One org only: the name is shown, not the switcher.
    expect(await page.getByTestId('org-switcher').count()).toBe(0);
  });

  it('edits the default org description but never its name', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.waitForURL(/\/settings\/organization$/);
    await waitForText(page.getByTestId('overview-name'), 'Default');
    expect(await page.getByLabel('Name').isDisabled()).toBe(true);
    await page.getByLabel('Description').fill('Home lab cluster');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  });

  it('refuses a tampered license with the server message, then activates a valid one', async () => {
    await page.getByRole('link', { name: 'Plans & Activation', exact: true }).click();
    await waitForText(page.getByTestId('license-status').locator('.status'), 'No license');

    await page.getByLabel('License key').fill(tamperedKey);
    await page.getByRole('button', { name: 'Activate' }).click();
    // The server's own words (LICENSE_INVALID), not a generic failure.
    await waitForText(page.getByRole('alert'), /license key .*(altered|not valid)/i);

    await page.getByLabel('License key').fill(licenseKey);
    await page.getByRole('button', { name: 'Activate' }).click();
    await page.getByRole('status').filter({ hasText: 'License activated' }).waitFor();
    await waitForText(page.getByTestId('license-licensee'), 'Browser Test MSP');
    await waitForText(page.getByTestId('license-status').locator('.status'), 'Active');
    await page.screenshot({ path: `${SHOTS}/tenantry-plans.png`, fullPage: true });
  });

  it('creates a second organization and lands in it, with nothing of the first left on screen', async () => {
    await page.getByRole('link', { name: 'Organization', exact: true }).click();
    await page.getByRole('button', { name: 'Create organization' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create organization' });
    await dialog.getByLabel('Name').fill('Acme Production');
    expect(await dialog.getByLabel('Slug').inputValue()).toBe('acme-production');
    await dialog.getByLabel('Description').fill('EU production infrastructure');
    await page.screenshot({ path: `${SHOTS}/tenantry-create-org.png` });
    await dialog.getByRole('button', { name: 'Create organization' }).click();
    await dialog.waitFor({ state: 'detached' });

    await waitForText(page.getByTestId('active-org'), 'Acme Production');
    await waitForText(page.getByTestId('overview-name'), 'Acme Production');
    expect(await page.locator('main').textContent()).not.toContain('Home lab cluster');
    // Two orgs now: the header shows the switcher.
    expect(await page.getByTestId('org-switcher').count()).toBe(1);
  });

  it('switches between organizations with the header switcher', async () => {
    await page.getByTestId('org-switcher').click();
    const menu = page.getByRole('menu', { name: 'Organizations' });
    expect(await menu.getByRole('menuitemradio', { name: /Acme Production/ }).getAttribute('aria-checked')).toBe(
      'true',
    );
    await menu.getByRole('menuitemradio', { name: /Default/ }).click();
    await waitForText(page.getByTestId('active-org'), 'Default');
    await waitForText(page.getByTestId('overview-name'), 'Default');
    expect(await page.getByLabel('Description').inputValue()).toBe('Home lab cluster');

    await page.getByTestId('org-switcher').click();
    await page.getByRole('menuitemradio', { name: /Acme Production/ }).click();
    await waitForText(page.getByTestId('active-org'), 'Acme Production');
    await waitForText(page.getByTestId('overview-name'), 'Acme Production');
    expect(await page.locator('main').textContent()).not.toContain('Home lab cluster');
  });

  it('adds an existing user in Access, changes their role and removes them', async () => {
    await signUpOverApi(MEMBER);
    await page.getByRole('link', { name: 'Access' }).click();
    await page.getByLabel('Email').fill(MEMBER.email);
    await page.getByLabel('Role', { exact: true }).selectOption('editor');
    await page.getByRole('button', { name: 'Add member' }).click();

    const row = page.getByTestId(`member-${MEMBER.email}`);
    await waitForText(row.locator('td').first(), MEMBER.name);
    const roleSelect = page.getByLabel(`Role of ${MEMBER.name}`);
    expect(await roleSelect.inputValue()).toBe('editor');
    await page
      .getByRole('status')
      .filter({ hasText: `${MEMBER.name} was added as editor.` })
      .waitFor();

    await page.getByTestId('org-switcher').click();
    await page.screenshot({ path: `${SHOTS}/tenantry-access.png`, fullPage: true });
    await page.keyboard.press('Escape');

    await roleSelect.selectOption('viewer');
    await page
      .getByRole('status')
      .filter({ hasText: `${MEMBER.name} is now viewer.` })
      .waitFor();
    expect(await page.getByLabel(`Role of ${MEMBER.name}`).inputValue()).toBe('viewer');

    await page.getByRole('button', { name: `Remove ${MEMBER.name}` }).click();
    const confirm = page.getByRole('dialog', { name: 'Remove member' });
    await confirm.getByRole('button', { name: 'Remove member' }).click();
    await row.waitFor({ state: 'detached' });

    // Add them back for good: the home page counts two members.
    await page.getByLabel('Email').fill(MEMBER.email);
    await page.getByLabel('Role', { exact: true }).selectOption('viewer');
    await page.getByRole('button', { name: 'Add member' }).click();
    await row.waitFor();
    expect(await page.getByLabel(`Role of ${MEMBER.name}`).inputValue()).toBe('viewer');
    await page.getByRole('link', { name: 'Home' }).click();
    await waitForText(page.getByTestId('home-org-name'), 'Acme Production');
    await waitForText(page.getByTestId('home-member-count'), '2');
    await page.screenshot({ path: `${SHOTS}/tenantry-home.png`, fullPage: true });
  });
});

describe('the web app after a restart with multi-tenant mode off', () => {
  beforeAll(async () => {
    await stopApi();
    await startApi(false);
  });

  it('hides the switcher and keeps the default org working', async () => {
    await page.goto(url('/'));
    await waitForText(page.getByTestId('home-org-name'), 'Default');
    await waitForText(page.getByTestId('active-org'), 'Default');
    await waitForText(page.getByTestId('home-member-count'), '1');
    expect(await page.getByTestId('org-switcher').count()).toBe(0);
  });

  it('replaces Settings → Organization with "This feature is not available."', async () => {
    // A deep link, served by the API's SPA fallback.
    await page.goto(url('/settings/organization/access'));
    await waitForText(page.getByTestId('feature-unavailable'), 'This feature is not available.');
    expect(await page.getByRole('link', { name: 'Access' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Create organization' }).count()).toBe(0);
    expect(await page.getByTestId('members-table').count()).toBe(0);
    await page.screenshot({ path: `${SHOTS}/tenantry-flag-off.png`, fullPage: true });
  });
});
