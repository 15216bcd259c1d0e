import type { DevInbox } from '@tenantry/api';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InvitationPlatform, startInvitationPlatform, waitForText } from './invitation-platform.js';

/**
 * Bulk invitations in a real browser: an owner pastes a list into Settings → Organization →
 * Access → Bulk invite, sees the preview, sends, watches the progress reach the end and the
 * summary, then finds the invitations in the pending list, mailed by the worker to the dev
 * inbox. A list beyond the member limit is refused whole, with the seats left named.
 */

const PASSWORD = 'correct horse battery';
const OWNER = { name: 'Bea Bulk', email: 'bea@example.com' };

let platform: InvitationPlatform;
let inbox: DevInbox;
let page: Page;
let orgId = '';

const url = (path: string) => platform.url(path);

beforeAll(async () => {
  platform = await startInvitationPlatform({ licensee: 'Browser Bulk Invitations', prefix: 'e2e-bulk-browser' });
  inbox = platform.inbox;
  page = await (await platform.browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.on('pageerror', (error) => console.error(`[owner] uncaught: ${error.stack ?? error.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') console.error(`[owner] ${msg.text()}`);
  });
  page.setDefaultTimeout(20_000);
});

afterAll(async () => {
  await platform?.close();
});

const TEAM = ['ann@example.com', 'bob@example.com', 'cy@example.com', 'dee@example.com'];

describe('inviting a pasted list from the web app', () => {
  it('previews the list, sends it with a progress bar, sums it up, and lists the invitations', async () => {
    await page.goto(url('/signup'));
    await page.getByLabel('Name').fill(OWNER.name);
    await page.getByLabel('Email').fill(OWNER.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await waitForText(page.getByTestId('home-org-name'), 'Default');
    const created = await page.request.post(url('/api/orgs'), { data: { name: 'Bulk Co' } });
    expect(created.status()).toBe(201);
    orgId = (await created.json()).id;
    await page.request.post(url(`/api/orgs/${orgId}/switch`));
    // The first user is the platform's superadmin: a plan with room for the team.
    const limits = await page.request.patch(url(`/api/admin/tenants/${orgId}/limits`), { data: { maxMembers: 10 } });
    expect(limits.status()).toBe(200);

    await page.goto(url('/settings/organization/access'));
    await page.getByRole('button', { name: 'Bulk invite' }).click();
    const dialog = page.getByRole('dialog', { name: 'Bulk invite' });
    await dialog
      .getByLabel('Addresses')
      .fill(
        [
          'Ann@Example.com, bob@example.com; cy@example.com',
          'Dee Example <dee@example.com>,admin',
          OWNER.email,
          'ann@example.com',
          'not-an-email',
        ].join('\n'),
      );
    await dialog.getByLabel('Default role').selectOption('editor');
    await waitForText(
      dialog.getByTestId('bulk-preview'),
      '5 addresses to invite, 1 entry not valid, 1 repeat left out.',
    );
    await waitForText(
      dialog.getByTestId('bulk-invalid'),
      'Line 5: not-an-email — neither an email address nor a role (owner, admin, editor, viewer)',
    );
    await page.screenshot({ path: '/tmp/tenantry-bulk-preview.png' });
    await dialog.getByRole('button', { name: 'Send 5 invitations' }).click();

    await waitForText(dialog.getByTestId('bulk-progress'), 'Invited 5 of 5');
    expect(await dialog.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('5');
    await dialog.getByTestId('bulk-summary').waitFor();
    await waitForText(dialog.getByTestId('bulk-created'), '4');
    await waitForText(dialog.getByTestId('bulk-resent'), '0');
    await waitForText(dialog.getByTestId('bulk-skipped'), '1 (already a member)');
    await waitForText(dialog.getByRole('list', { name: 'Skipped: already members' }), OWNER.email);
    await page.screenshot({ path: '/tmp/tenantry-bulk-invite.png', fullPage: true });
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'detached' });

    for (const email of TEAM) {
      const row = page.getByTestId(`invitation-${email}`);
      await waitForText(row.locator('td').nth(1), email === 'dee@example.com' ? 'Admin' : 'Editor');
      await waitForText(row.getByTestId('delivery-state'), 'Sent', 30_000);
    }
    expect(inbox.list().flatMap((m) => m.to)).toEqual(expect.arrayContaining(TEAM));
  });

  it('refuses a list beyond the member limit whole, naming the seats left, and sends nothing', async () => {
    // Owner and four pending invitations: one seat left of six.
    const limits = await page.request.patch(url(`/api/admin/tenants/${orgId}/limits`), { data: { maxMembers: 6 } });
    expect(limits.status()).toBe(200);
    await page.getByRole('button', { name: 'Bulk invite' }).click();
    const dialog = page.getByRole('dialog', { name: 'Bulk invite' });
    await dialog.getByLabel('Addresses').fill('ann@example.com\neve@example.com\nfay@example.com\ngus@example.com');
    await dialog.getByRole('button', { name: 'Send 4 invitations' }).click();
    await dialog.getByTestId('bulk-summary').waitFor();
    await waitForText(dialog.getByTestId('bulk-progress'), 'Invited 0 of 4');
    await waitForText(
      dialog.getByRole('alert'),
      'This organization is limited to 6 members and has 1 seat left (1 members, 4 pending invitations), not enough for 3 new invitations: invite at most 1, remove someone or raise the plan.',
    );
    await waitForText(dialog.getByTestId('bulk-created'), '0');
    await dialog.getByRole('button', { name: 'Done' }).click();
    await page.getByTestId('invitation-ann@example.com').waitFor();
    expect(await page.getByTestId('invitation-eve@example.com').count()).toBe(0);
    const list = await (await page.request.get(url(`/api/orgs/${orgId}/invitations`))).json();
    expect(list.invitations.map((i: { email: string }) => i.email).sort()).toEqual(TEAM);
    expect(list.invitations.find((i: { email: string }) => i.email === 'ann@example.com').sendCount).toBe(1);
  });
});
