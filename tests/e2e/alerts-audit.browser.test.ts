import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createApp, evaluateAlertsOnReport, loadApiEnv, type ReportedResource } from '@tenantry/api';
import { appendAuditEvents, updateOrg } from '@tenantry/db';
import { createTestDatabase, type TestDatabase } from '@tenantry/db/testing';
import pg from 'pg';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './chromium.js';
import { ensureWebBuilt, WEB_DIST } from './web-build.js';

/**
 * Alerts, the audit log and API tokens in a real browser: the built web app served by the real
 * API over a fresh PostgreSQL database, driven through Debian's Chromium.
 */

const SHOTS = '/tmp';
const PASSWORD = 'correct horse battery';
const OWNER = { name: 'Olga Owner', email: `olga-${randomUUID().slice(0, 8)}@example.com` };
const EDITOR = { name: 'Eddie Editor', email: `eddie-${randomUUID().slice(0, 8)}@example.com` };

let testDb: TestDatabase;
let app: ReturnType<typeof createApp>;
let port = 0;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let host: ReportedResource;

const url = (path: string) => `http://127.0.0.1:${port}${path}`;

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

async function api(path: string, init: { method?: string; body?: unknown; cookie?: string } = {}) {
  const res = await fetch(url(path), {
    method: init.method ?? 'GET',
    headers: {
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(init.cookie ? { cookie: init.cookie } : {}),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const body = (await res.json().catch(() => null)) as { user: { id: string } } | null;
  return { status: res.status, body, cookie: res.headers.get('set-cookie') };
}

async function signIn(target: Page, user: { email: string }) {
  await target.goto(url('/signin'));
  await target.getByLabel('Email').fill(user.email);
  await target.getByLabel('Password').fill(PASSWORD);
  await target.getByRole('button', { name: 'Sign in' }).click();
  await target.getByTestId('home-org-name').waitFor();
}

/** One agent report of the host, evaluated as the report endpoint does. */
function reportCpu(cpu: number) {
  const orgId = testDb.db.defaultOrgId;
  return testDb.db.tenant({ orgId }, (em) =>
    evaluateAlertsOnReport(em, orgId, [{ ...host, cpu }], { queues: null, actor: { type: 'agent', label: 'rack-1' } }),
  );
}

beforeAll(async () => {
  const [, db] = await Promise.all([ensureWebBuilt(), createTestDatabase({ kind: 'postgresql', poolMax: 4 })]);
  testDb = db;
  const env = loadApiEnv({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'error', WEB_DIST });
  app = createApp({ env, db: testDb.db });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;

  // The owner of the default org (the first user), an editor there, and a host an agent reports.
  const owner = await api('/api/auth/signup', { method: 'POST', body: { ...OWNER, password: PASSWORD } });
  expect(owner.status).toBe(201);
  const editor = await api('/api/auth/signup', { method: 'POST', body: { ...EDITOR, password: PASSWORD } });
  const added = await api(`/api/orgs/default/members`, {
    method: 'POST',
    cookie: owner.cookie!.split(';')[0],
    body: { userId: editor.body!.user.id, role: 'editor' },
  });
  expect(added.status).toBe(201);
  const orgId = testDb.db.defaultOrgId;
  const agentId = randomUUID();
  host = { id: randomUUID(), type: 'host', name: 'pve-edge-1', status: 'online', cpu: 0.2, memory: 0.3, disk: 0.4 };
  await testDb.db.tenant({ orgId }, async (em) => {
    await em.execute(`insert into agents (org_id, id, name, token_hash) values (?, ?, 'rack-1', 'x')`, [
      orgId,
      agentId,
    ]);
    await em.execute(
      `insert into resources (org_id, id, agent_id, type, name, status, cpu) values (?, ?, ?, 'host', ?, 'online', 0.2)`,
      [orgId, host.id, agentId, host.name],
    );
  });

  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[browser] uncaught: ${error.stack ?? error.message}`));
  page.setDefaultTimeout(10_000);
  await signIn(page, OWNER);
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await testDb?.drop();
});

describe('alerts in the browser', () => {
  it('creates a rule, shows the firing alert with a badge in the header, and the resolved one', async () => {
    await page.getByRole('link', { name: 'Alerts' }).click();
    await page.waitForURL(/\/alerts$/);
    await waitForText(page.getByTestId('alerts-empty'), 'Nothing is firing.');

    await page.getByRole('button', { name: 'New rule' }).click();
    const dialog = page.getByRole('dialog', { name: 'New alert rule' });
    await dialog.getByLabel('Name', { exact: true }).fill('Edge CPU');
    await dialog.getByLabel('Threshold (%)').fill('150');
    // The rules of core run as you type: the server would refuse this too.
    await waitForText(dialog.getByTestId('rule-preview'), /threshold between 0 and 1/);
    expect(await dialog.getByRole('button', { name: 'Create rule' }).isDisabled()).toBe(true);
    await dialog.getByLabel('Threshold (%)').fill('90');
    await dialog.getByLabel('For at least').fill('0');
    await dialog.getByLabel('Name pattern').fill('pve-*');
    await dialog.getByLabel('Email recipients').fill('oncall@example.com');
    await waitForText(dialog.getByTestId('rule-preview'), 'Fires when CPU above 90%.');
    await page.screenshot({ path: `${SHOTS}/tenantry-alert-rule.png` });
    await dialog.getByRole('button', { name: 'Create rule' }).click();
    await dialog.waitFor({ state: 'detached' });
    await waitForText(page.getByTestId('rule-Edge CPU').locator('td').nth(1), 'CPU above 90%');

    expect((await reportCpu(0.97)).fired).toHaveLength(1);
    await page.reload();
    await waitForText(page.getByTestId('alerts-badge'), /^1\s*firing$/);
    const row = page.getByTestId('alerts-table').locator('tbody tr').first();
    await waitForText(row.locator('td').nth(2), /pve-edge-1/);
    await waitForText(row.locator('.status'), 'Firing');
    expect(await row.locator('td').nth(3).textContent()).toBe('97%');
    await page.screenshot({ path: `${SHOTS}/tenantry-alerts.png`, fullPage: true });

    expect((await reportCpu(0.3)).resolved).toHaveLength(1);
    await page.reload();
    await waitForText(page.getByTestId('alerts-empty'), 'Nothing is firing.');
    expect(await page.getByTestId('alerts-badge').count()).toBe(0);
    await page.getByRole('button', { name: 'Resolved' }).click();
    await waitForText(page.getByTestId('alerts-table').locator('tbody tr').first().locator('.status'), 'Resolved');
  });

  it('edits and removes the rule', async () => {
    await page.getByRole('button', { name: 'Edit Edge CPU' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit alert rule' });
    await dialog.getByLabel('Metric').selectOption('status');
    await dialog.getByLabel('Status', { exact: true }).selectOption('offline');
    await waitForText(dialog.getByTestId('rule-preview'), 'Fires when Status is offline.');
    await dialog.getByRole('button', { name: 'Save rule' }).click();
    await dialog.waitFor({ state: 'detached' });
    await waitForText(page.getByTestId('rule-Edge CPU').locator('td').nth(1), 'Status is offline');

    await page.getByRole('button', { name: 'Remove Edge CPU' }).click();
    await page.getByRole('dialog', { name: 'Remove alert rule' }).getByRole('button', { name: 'Remove rule' }).click();
    await page.getByRole('status').filter({ hasText: 'The rule Edge CPU was removed.' }).waitFor();
    expect(await page.getByTestId('rule-Edge CPU').count()).toBe(0);
  });
});

describe('the audit log in the browser', () => {
  it('filters by action, exports what the filter shows, and pages with Load more', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.waitForURL(/\/audit$/);
    await page.getByTestId('audit-table').waitFor();
    expect(await page.getByTestId('audit-table').textContent()).toContain('alert.fired');

    await page.getByLabel('Action').fill('alert_rule.created');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect
      .poll(async () => (await page.getByTestId('audit-table').locator('tbody tr').allTextContents()).length)
      .toBe(1);
    expect(await page.getByTestId('audit-table').locator('tbody').textContent()).toContain(OWNER.email);

    const href = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    expect(href).toBe('/api/audit/export?format=csv&action=alert_rule.created');
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Export CSV' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toMatch(/^audit-default-\d{8}T\d{6}Z\.csv$/);
    const csv = await page.evaluate(async (h) => (await fetch(h!)).text(), href);
    expect(csv.split('\r\n').filter(Boolean)).toHaveLength(2);
    expect(csv).toContain('alert_rule.created');

    // Enough entries for a second page of 50.
    const orgId = testDb.db.defaultOrgId;
    await testDb.db.tenant({ orgId }, (em) =>
      appendAuditEvents(
        em,
        orgId,
        Array.from({ length: 60 }, (_, i) => ({
          actorType: 'system' as const,
          action: 'test.filler',
          targetId: `f-${i}`,
        })),
      ),
    );
    await page.reload();
    await page.getByTestId('audit-table').waitFor();
    await expect.poll(() => page.getByTestId('audit-table').locator('tbody tr').count()).toBe(50);
    await page.getByRole('button', { name: 'Load more' }).click();
    await expect.poll(() => page.getByTestId('audit-table').locator('tbody tr').count()).toBeGreaterThan(60);
  });

  it('verifies the chain, and names the first entry edited in the database', async () => {
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await waitForText(page.getByTestId('verify-result'), /^The audit log is intact: \d+ entries checked\.$/);

    const owner = new pg.Client({ connectionString: testDb.ownerUrl! });
    await owner.connect();
    try {
      await owner.query(`update audit_events set actor_label = 'someone else' where org_id = $1 and seq = 2`, [
        testDb.db.defaultOrgId,
      ]);
    } finally {
      await owner.end();
    }
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await waitForText(page.getByTestId('verify-result'), /tampered with\. Entry 2 was changed after it was written/);
    await page.screenshot({ path: `${SHOTS}/tenantry-audit.png`, fullPage: true });
  });

  it('is hidden from an editor', async () => {
    const other = await context.browser()!.newContext();
    try {
      const editorPage = await other.newPage();
      await signIn(editorPage, EDITOR);
      expect(await editorPage.getByRole('link', { name: 'Alerts' }).count()).toBe(1);
      expect(await editorPage.getByRole('link', { name: 'Audit log' }).count()).toBe(0);
      await editorPage.goto(url('/audit'));
      await waitForText(editorPage.getByTestId('audit-unavailable'), /Only admins and owners/);
    } finally {
      await other.close();
    }
  });
});

describe('API tokens in the browser', () => {
  it('creates a token, shows its secret once with a copy button, lists it and revokes it', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('link', { name: 'API tokens' }).click();
    await page.waitForURL(/\/settings\/tokens$/);
    await page.getByLabel('Name', { exact: true }).fill('backup script');
    await page.getByLabel('Expires').selectOption('30');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = await page.getByTestId('token-secret').inputValue({ timeout: 10_000 });
    expect(secret).toMatch(/^tnt_[\w-]{43}$/);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    await page.screenshot({ path: `${SHOTS}/tenantry-tokens.png`, fullPage: true });

    // The secret works, and is never shown again.
    const me = await fetch(url('/api/org'), { headers: { authorization: `Bearer ${secret}`, 'x-org-id': 'default' } });
    expect(me.status).toBe(200);
    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.getByTestId('token-secret').count()).toBe(0);
    const row = page.getByTestId('token-backup script');
    await waitForText(row.locator('.chip'), 'Default · owner');
    expect(await page.locator('main').textContent()).not.toContain(secret);

    await page.getByRole('button', { name: 'Revoke backup script' }).click();
    await page.getByRole('dialog', { name: 'Revoke API token' }).getByRole('button', { name: 'Revoke token' }).click();
    await waitForText(row.locator('.badge'), 'revoked');
    const after = await fetch(url('/api/org'), {
      headers: { authorization: `Bearer ${secret}`, 'x-org-id': 'default' },
    });
    expect(after.status).toBe(401);
  });
});

describe('modules turned off for the org', () => {
  it('hide their pages and links', async () => {
    await testDb.db.platform({}, (em) =>
      updateOrg(em, testDb.db.defaultOrgId, { featureOverrides: { alerts: false, audit: false, api_tokens: false } }),
    );
    await page.goto(url('/'));
    await page.getByTestId('home-org-name').waitFor();
    for (const name of ['Alerts', 'Audit log']) expect(await page.getByRole('link', { name }).count()).toBe(0);
    await page.goto(url('/alerts'));
    await waitForText(page.getByTestId('alerts-unavailable'), 'Alerts are not enabled for this organization.');
    await page.goto(url('/settings/tokens'));
    await waitForText(page.getByTestId('tokens-unavailable'), 'API tokens are not enabled for this organization.');
    expect(await page.getByRole('link', { name: 'API tokens' }).count()).toBe(0);
  });
});
