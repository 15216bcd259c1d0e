import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createApp, loadApiEnv } from '@tenantry/api';
import { generateLicenseKeyPair, issueLicense } from '@tenantry/core';
import { createTestDatabase, type TestDatabase } from '@tenantry/db/testing';
import { Redis } from 'ioredis';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium.js';
import { ensureWebBuilt, WEB_DIST } from './web-build.js';

/**
 * Agents, resources and sharing in a real browser: two organizations, each with an agent
 * reporting over `POST /api/agent/report`, watched side by side by their owners in Debian's
 * Chromium. Each page shows its own org's resources only and follows reports live; a share
 * from one org to the other appears on the receiving page and disappears again, without a
 * reload. The real API, PostgreSQL and Redis run underneath.
 */

const SHOTS = '/tmp';
const PASSWORD = 'correct horse battery';
const REDIS_URL = 'redis://127.0.0.1:6379';
const run = randomUUID().slice(0, 8);
const ALICE = { name: 'Alice Acme', email: `alice-${run}@acme.example.com` };
const BOB = { name: 'Bob Globex', email: `bob-${run}@globex.example.com` };

let testDb: TestDatabase;
let redis: Redis;
let app: ReturnType<typeof createApp>;
let port = 0;
let browser: Browser;
let aliceContext: BrowserContext;
let bobContext: BrowserContext;
let alice: Page;
let bob: Page;
let acme: { id: string; cookie: string; token: string };
let globex: { id: string; cookie: string; token: string };

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

async function api(
  method: string,
  p: string,
  init: { body?: unknown; cookie?: string; token?: string; org?: string } = {},
): Promise<{ status: number; body: Record<string, unknown> | null; cookie: string | null }> {
  const res = await fetch(url(p), {
    method,
    headers: {
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(init.cookie ? { cookie: init.cookie } : {}),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.org ? { 'x-org-id': init.org } : {}),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
  return { status: res.status, body, cookie: res.headers.get('set-cookie')?.split(';')[0] ?? null };
}

interface Reported {
  type: 'host' | 'vm' | 'container' | 'storage';
  name: string;
  status: string;
  cpu?: number;
  memory?: number;
  disk?: number;
}

/** One agent report, as the agent sends it. */
async function report(token: string, resources: Reported[]): Promise<void> {
  const res = await api('POST', '/api/agent/report', { token, body: { resources } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

/** A signed-up user who owns a new org and works in it. */
async function ownerOfNewOrg(user: { name: string; email: string }, org: { name: string; slug: string }) {
  const signup = await api('POST', '/api/auth/signup', { body: { ...user, password: PASSWORD } });
  expect(signup.status).toBe(201);
  const cookie = signup.cookie!;
  const created = await api('POST', '/api/orgs', { cookie, body: org });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body!.id as string;
  expect((await api('POST', `/api/orgs/${id}/switch`, { cookie })).status).toBe(200);
  return { id, cookie };
}

async function signIn(page: Page, user: { email: string }, orgId: string) {
  await page.goto(url('/signin'));
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('home-org-name').waitFor();
  // Work in the user's own org, whatever their landing org is.
  const status = await page.evaluate(
    async (id) => (await fetch(`/api/orgs/${id}/switch`, { method: 'POST' })).status,
    orgId,
  );
  expect(status).toBe(200);
}

const rowOf = (page: Page, name: string) => page.locator(`[data-testid="resource-row"][data-resource-name="${name}"]`);

/** The names of the resources the page's table shows, sorted. */
async function shownNames(page: Page): Promise<string[]> {
  const names = await page
    .locator('[data-testid="resource-row"]')
    .evaluateAll((rows) =>
      rows.map((r) => (r as unknown as { dataset: Record<string, string> }).dataset.resourceName ?? ''),
    );
  return names.sort();
}

/** Opens the resources page and waits until it follows live updates. */
async function openResources(page: Page): Promise<void> {
  await page.goto(url('/resources'));
  await waitForText(page.getByTestId('live-indicator'), 'Live');
}

/** Marks the document, so a later check can tell that the page was not reloaded meanwhile. */
async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => {
    (globalThis as unknown as { __unreloaded: boolean }).__unreloaded = true;
  });
}

async function wasNotReloaded(page: Page): Promise<boolean> {
  return page.evaluate(() => (globalThis as unknown as { __unreloaded?: boolean }).__unreloaded === true);
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
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const env = loadApiEnv({
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'error',
    MULTI_TENANT_ENABLED: 'true',
    LICENSE_PUBLIC_KEY: keys.publicKeyPem,
    LICENSE_KEY: license,
    WEB_DIST,
  });
  app = createApp({ env, db: testDb.db, redis, queuePrefix: `tt-resources-${run}` });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;

  // Alice (the install's first user) owns Acme; Bob owns Globex and nothing else.
  acme = { ...(await ownerOfNewOrg(ALICE, { name: 'Acme', slug: `acme-${run}` })), token: '' };
  globex = { ...(await ownerOfNewOrg(BOB, { name: 'Globex', slug: `globex-${run}` })), token: '' };

  // Globex's agent is registered over the API; Acme's in the browser, below.
  const agent = await api('POST', '/api/agents', {
    cookie: globex.cookie,
    org: globex.id,
    body: { name: 'globex-rack' },
  });
  expect(agent.status, JSON.stringify(agent.body)).toBe(201);
  globex.token = agent.body!.token as string;

  browser = await launchChromium();
  aliceContext = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  bobContext = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  await aliceContext.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url('') });
  alice = await aliceContext.newPage();
  bob = await bobContext.newPage();
  for (const page of [alice, bob]) {
    page.on('pageerror', (error) => console.error(`[browser] uncaught: ${error.stack ?? error.message}`));
    page.setDefaultTimeout(20_000);
  }
  await signIn(alice, ALICE, acme.id);
  await signIn(bob, BOB, globex.id);
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  redis?.disconnect();
  await testDb?.drop();
});

describe('the agents page', () => {
  it('registers an agent and shows its token once, with a copy button and a report example', async () => {
    await alice.goto(url('/'));
    await alice.getByRole('link', { name: 'Agents' }).click();
    await alice.waitForURL(/\/agents$/);
    await waitForText(alice.getByTestId('agents-empty'), /^No agents yet/);

    await alice.getByLabel('Name', { exact: true }).fill('acme-rack');
    await alice.getByRole('button', { name: 'Register agent' }).click();
    const token = await alice.getByTestId('agent-token').inputValue({ timeout: 10_000 });
    expect(token).toMatch(/^tna_/);
    const example = (await alice.getByTestId('agent-curl').textContent()) ?? '';
    expect(example).toContain(`curl -X POST ${url('/api/agent/report')}`);
    expect(example).toContain(`Authorization: Bearer ${token}`);
    await alice.getByRole('button', { name: 'Copy' }).click();
    await alice.getByRole('button', { name: 'Copied' }).waitFor();
    const copied = await alice.evaluate(() =>
      (
        globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }
      ).navigator.clipboard.readText(),
    );
    expect(copied).toBe(token);
    await alice.screenshot({ path: `${SHOTS}/tenantry-agent-registered.png`, fullPage: true });
    acme.token = token;

    // The token works, and is never shown again.
    await report(token, [{ type: 'host', name: 'pve-a1', status: 'online', cpu: 0.2, memory: 0.4, disk: 0.5 }]);
    await alice.getByRole('button', { name: 'Done' }).click();
    expect(await alice.getByTestId('agent-token-card').count()).toBe(0);
    const row = alice.getByTestId('agent-acme-rack');
    await waitForText(row.getByTestId('agent-state'), 'Online');
    await waitForText(row.getByTestId('agent-resources'), '1');
    await alice.reload();
    await row.waitFor();
    expect(await alice.locator('main').textContent()).not.toContain(token);
  });

  it('is not offered to a viewer, who reads the list only', async () => {
    const viewer = { name: 'Vera Viewer', email: `vera-${run}@acme.example.com` };
    const signup = await api('POST', '/api/auth/signup', { body: { ...viewer, password: PASSWORD } });
    const userId = (signup.body!.user as { id: string }).id;
    expect(
      (await api('POST', `/api/orgs/${acme.id}/members`, { cookie: acme.cookie, body: { userId, role: 'viewer' } }))
        .status,
    ).toBe(201);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await signIn(page, viewer, acme.id);
      await page.goto(url('/agents'));
      await page.getByTestId('agent-acme-rack').waitFor();
      expect(await page.getByRole('button', { name: 'Register agent' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Remove acme-rack' }).count()).toBe(0);
    } finally {
      await context.close();
    }
  });
});

describe('the resources dashboard', () => {
  it('shows each org its own resources only', async () => {
    await report(acme.token, [
      { type: 'host', name: 'pve-a1', status: 'online', cpu: 0.2, memory: 0.4, disk: 0.5 },
      { type: 'vm', name: 'web-a', status: 'running', cpu: 0.1 },
    ]);
    await report(globex.token, [
      { type: 'host', name: 'pve-b1', status: 'online', cpu: 0.3 },
      { type: 'container', name: 'db-b', status: 'running', memory: 0.7 },
    ]);
    await alice.getByRole('link', { name: 'Resources' }).click();
    await alice.waitForURL(/\/resources$/);
    await waitForText(alice.getByTestId('live-indicator'), 'Live');
    await openResources(bob);

    await expect.poll(() => shownNames(alice)).toEqual(['pve-a1', 'web-a']);
    await expect.poll(() => shownNames(bob)).toEqual(['db-b', 'pve-b1']);
    const host = rowOf(alice, 'pve-a1');
    await waitForText(host.getByTestId('resource-status'), 'Online');
    await waitForText(host.locator('td').nth(3), '20%');
    expect(await host.getByTestId('shared-badge').count()).toBe(0);

    // Filters and search narrow the list.
    await alice.getByLabel('Type').selectOption('vm');
    await expect.poll(() => shownNames(alice)).toEqual(['web-a']);
    await alice.getByLabel('Type').selectOption('');
    await alice.getByLabel('Search').fill('pve');
    await expect.poll(() => shownNames(alice)).toEqual(['pve-a1']);
    await alice.getByLabel('Search').fill('nothing-like-this');
    await waitForText(alice.getByTestId('resources-empty'), 'No resources match these filters.');
    await alice.getByLabel('Search').fill('');
    await expect.poll(() => shownNames(alice)).toEqual(['pve-a1', 'web-a']);
  });

  it("changes a status live on the reporting org's page, and never shows it on the other's", async () => {
    await markDocument(alice);
    await markDocument(bob);
    await report(acme.token, [
      { type: 'host', name: 'pve-a1', status: 'degraded', cpu: 0.93, memory: 0.4, disk: 0.5 },
      { type: 'container', name: 'new-a', status: 'running' },
    ]);
    const host = rowOf(alice, 'pve-a1');
    await waitForText(host.getByTestId('resource-status'), 'Degraded');
    await waitForText(host.locator('td').nth(3), '93%');
    await expect.poll(() => shownNames(alice)).toEqual(['new-a', 'pve-a1', 'web-a']);
    await alice.screenshot({ path: `${SHOTS}/tenantry-resources-live.png`, fullPage: true });

    // Globex's own next report arrives on its page: Acme's earlier one would have come first.
    await report(globex.token, [{ type: 'host', name: 'pve-b1', status: 'offline', cpu: 0.3 }]);
    await waitForText(rowOf(bob, 'pve-b1').getByTestId('resource-status'), 'Offline');
    expect(await shownNames(bob)).toEqual(['db-b', 'pve-b1']);
    expect(await bob.locator('main').textContent()).not.toMatch(/pve-a1|new-a|web-a/);
    expect(await wasNotReloaded(alice)).toBe(true);
    expect(await wasNotReloaded(bob)).toBe(true);
  });
});

describe('sharing a resource', () => {
  let resourceId = '';

  it("appears live on the receiving org's page with the Shared badge, and follows its reports", async () => {
    await markDocument(bob);
    await alice.getByRole('link', { name: 'Settings' }).click();
    await alice.getByRole('link', { name: 'Sharing' }).click();
    await alice.waitForURL(/\/settings\/organization\/sharing$/);
    await waitForText(alice.getByTestId('outgoing-empty'), 'This organization shares no resources.');
    await alice.getByLabel('Resource').selectOption({ label: 'pve-a1 (Host)' });
    await alice.getByLabel('Share with').selectOption({ label: 'Another organization (by id)…' });
    await alice.getByLabel('Organization id').fill(globex.id);
    await alice.getByLabel('Role').selectOption('viewer');
    await alice.getByRole('button', { name: 'Share resource' }).click();
    await alice.getByRole('status').filter({ hasText: 'pve-a1 is now shared with Globex as viewer.' }).waitFor();
    const share = alice.getByTestId('outgoing-share').filter({ hasText: 'pve-a1' });
    await waitForText(share.locator('td').nth(1), 'Globex');
    await alice.screenshot({ path: `${SHOTS}/tenantry-sharing.png`, fullPage: true });

    const shared = rowOf(bob, 'pve-a1');
    await waitForText(shared.getByTestId('shared-badge'), 'Shared · Acme');
    await waitForText(shared.getByTestId('resource-status'), 'Degraded');
    expect(await shownNames(bob)).toEqual(['db-b', 'pve-a1', 'pve-b1']);
    resourceId = (await shared.getAttribute('data-resource-id')) ?? '';

    await report(acme.token, [{ type: 'host', name: 'pve-a1', status: 'online', cpu: 0.35, memory: 0.4, disk: 0.5 }]);
    await waitForText(shared.getByTestId('resource-status'), 'Online');
    await waitForText(shared.locator('td').nth(3), '35%');
    // Only the shared resource crosses over.
    expect(await bob.locator('main').textContent()).not.toMatch(/new-a|web-a/);
    expect(await wasNotReloaded(bob)).toBe(true);
    await bob.screenshot({ path: `${SHOTS}/tenantry-resources-shared.png`, fullPage: true });
  });

  it('shows the receiving org the share, read-only for a viewer share', async () => {
    const detail = await bobContext.newPage();
    try {
      await detail.goto(url(`/resources/${resourceId}`));
      await waitForText(detail.getByTestId('resource-owner'), 'Shared by Acme as Viewer');
      await waitForText(detail.getByTestId('resource-readonly'), /only editor and admin shares can change it/);
      expect(await detail.getByRole('button', { name: 'Save' }).count()).toBe(0);
      await detail.goto(url('/settings/organization/sharing'));
      const incoming = detail.getByTestId('incoming-share').filter({ hasText: 'pve-a1' });
      await waitForText(incoming.locator('td').nth(1), 'Acme');
    } finally {
      await detail.close();
    }
  });

  it("disappears live from the receiving org's page once the share is removed", async () => {
    await alice.getByRole('button', { name: 'Remove the share of pve-a1 with Globex' }).click();
    await alice.getByRole('dialog', { name: 'Remove share' }).getByRole('button', { name: 'Remove share' }).click();
    await alice.getByRole('status').filter({ hasText: 'Globex no longer sees pve-a1.' }).waitFor();

    await rowOf(bob, 'pve-a1').waitFor({ state: 'detached' });
    expect(await shownNames(bob)).toEqual(['db-b', 'pve-b1']);
    expect(await wasNotReloaded(bob)).toBe(true);
    // And it is gone for good: a fresh load does not bring it back.
    await openResources(bob);
    await expect.poll(() => shownNames(bob)).toEqual(['db-b', 'pve-b1']);
  });
});

describe('the resource detail page', () => {
  it("edits its notes and tags for the owning org's editor+", async () => {
    await alice.goto(url('/resources'));
    await rowOf(alice, 'web-a').getByRole('link', { name: 'web-a' }).click();
    await alice.waitForURL(/\/resources\/[\w-]+$/);
    await waitForText(alice.getByTestId('resource-name'), 'web-a');
    await waitForText(alice.getByTestId('resource-agent'), 'acme-rack');
    await alice.getByLabel('Notes').fill('Front-end VM, rack 2');
    await alice.getByLabel('Tags').fill('web, production, web');
    await alice.getByRole('button', { name: 'Save' }).click();
    await alice.getByRole('status').filter({ hasText: 'Notes and tags saved.' }).waitFor();
    await waitForText(alice.getByTestId('resource-notes'), 'Front-end VM, rack 2');
    expect(await alice.getByTestId('resource-tags').locator('.chip').allTextContents()).toEqual(['web', 'production']);

    // A report changes the status in place and leaves the notes alone.
    await report(acme.token, [{ type: 'vm', name: 'web-a', status: 'paused', cpu: 0.1 }]);
    await waitForText(alice.getByTestId('resource-detail').getByTestId('resource-status'), 'Paused');
    await waitForText(alice.getByTestId('resource-notes'), 'Front-end VM, rack 2');
  });
});
