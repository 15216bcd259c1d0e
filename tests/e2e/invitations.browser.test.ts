import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InvitationPlatform, startInvitationPlatform } from './invitation-platform.js';

/**
 * Invitations in a real browser: an admin invites from Settings → Organization → Access, reads
 * the mail in the dev inbox, and the invitee follows its link in another browser (no shared
 * cookies), signs up and lands in the organization. The API serves the built web app over a
 * fresh PostgreSQL database; the worker mails the dev inbox's SMTP sink.
 */

const PASSWORD = 'correct horse battery';
const ADMIN = { name: 'Ada Admin', email: 'ada@example.com' };
const INVITEE = { name: 'Nia New', email: 'nia@example.com' };
const ORG = 'Acme Monitoring';

let platform: InvitationPlatform;
let browser: Browser;
let testDb: InvitationPlatform['db'];
let admin: Page;
let inviteeContext: BrowserContext;
let invitee: Page;
let inviteLink = '';

const url = (path: string) => platform.url(path);

/** Waits until the locator's text matches (playwright-core has no auto-retrying assertions). */
async function waitForText(locator: Locator, expected: string | RegExp, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string | null = null;
  for (;;) {
    last = await locator.textContent({ timeout: Math.max(1, deadline - Date.now()) }).catch(() => null);
    const text = last?.trim() ?? '';
    if (typeof expected === 'string' ? text === expected : expected.test(text)) return;
    if (Date.now() > deadline)
      throw new Error(`expected ${locator} to read ${expected}, last read ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function watch(page: Page, who: string): void {
  page.on('pageerror', (error) => console.error(`[${who}] uncaught: ${error.stack ?? error.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') console.error(`[${who}] ${msg.text()}`);
  });
  page.setDefaultTimeout(15_000);
}

/** The link of the newest mail to `to` in the dev inbox, read the way a person does: in the browser. */
async function openMailTo(page: Page, to: string): Promise<string> {
  await page.goto(url('/dev/inbox'));
  const item = page
    .getByTestId('dev-inbox-list')
    .getByRole('link')
    .filter({ hasText: `To ${to}` })
    .first();
  await item.waitFor();
  await item.click();
  await waitForText(page.getByTestId('dev-mail-to'), to);
  const link = page.getByTestId('dev-mail-links').getByRole('link').first();
  return (await link.getAttribute('href')) ?? '';
}

beforeAll(async () => {
  platform = await startInvitationPlatform({ licensee: 'Browser Invitations', prefix: 'e2e-inv-browser' });
  ({ browser, db: testDb } = platform);
  admin = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  watch(admin, 'admin');
  inviteeContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  invitee = await inviteeContext.newPage();
  watch(invitee, 'invitee');
});

afterAll(async () => {
  await platform?.close();
});

describe('inviting someone from the web app', () => {
  it('lets an admin invite from Access and shows the invitation queued, then sent, with its expiry', async () => {
    await admin.goto(url('/signup'));
    await admin.getByLabel('Name').fill(ADMIN.name);
    await admin.getByLabel('Email').fill(ADMIN.email);
    await admin.getByLabel('Password').fill(PASSWORD);
    await admin.getByRole('button', { name: 'Create account' }).click();
    await waitForText(admin.getByTestId('home-org-name'), 'Default');
    // The admin's organization, made through the API with the browser's own session.
    const created = await admin.request.post(url('/api/orgs'), { data: { name: ORG } });
    expect(created.status()).toBe(201);
    await admin.request.post(url(`/api/orgs/${(await created.json()).id}/switch`));

    await admin.goto(url('/settings/organization/access'));
    await admin.getByLabel('Address').fill(INVITEE.email);
    // An admin invites with any role but owner (only owners make owners): this one is the owner.
    expect(await admin.getByLabel('Invite as').locator('option').allTextContents()).toEqual([
      'Owner',
      'Admin',
      'Editor',
      'Viewer',
    ]);
    await admin.getByLabel('Invite as').selectOption('editor');
    await admin.getByRole('button', { name: 'Send invitation' }).click();
    await admin
      .getByRole('status')
      .filter({ hasText: `Invitation sent to ${INVITEE.email} as editor.` })
      .waitFor();
    const row = admin.getByTestId(`invitation-${INVITEE.email}`);
    await waitForText(row.getByTestId('invitation-expiry'), /^in 6 d 23 h$/);
    await waitForText(row.getByTestId('delivery-state'), 'Sent');
    await admin.screenshot({ path: '/tmp/tenantry-invitations.png', fullPage: true });
  });

  it('shows the mail in the dev inbox, linked from Access, with its link and a sandboxed HTML body', async () => {
    await admin.getByRole('link', { name: 'Open the dev inbox' }).click();
    await admin.waitForURL(/\/dev\/inbox$/);
    const item = admin.getByTestId('dev-inbox-list').getByRole('link').first();
    await waitForText(item.locator('.inbox-subject'), `${ADMIN.name} invited you to ${ORG} on Tenantry`);
    await item.click();
    await waitForText(admin.getByTestId('dev-mail-to'), INVITEE.email);
    expect(await admin.getByTestId('dev-mail-text').textContent()).toContain(`invited you to join ${ORG}`);
    const frame = admin.getByTestId('dev-mail-html');
    expect(await frame.getAttribute('sandbox')).toBe('allow-popups allow-popups-to-escape-sandbox');
    await waitForText(
      admin.frameLocator('[data-testid="dev-mail-html"]').getByRole('link', { name: 'Accept the invitation' }),
      'Accept the invitation',
    );
    inviteLink = (await admin.getByTestId('dev-mail-links').getByRole('link').first().getAttribute('href')) ?? '';
    expect(inviteLink).toMatch(new RegExp(`^${url('/invite/')}[\\w-]+\\.[\\w-]+$`));
    await admin.screenshot({ path: '/tmp/tenantry-dev-inbox.png', fullPage: true });
  });

  it('lets the invitee, in another browser, follow the link, sign up with the address locked, and land in the org', async () => {
    await invitee.goto(inviteLink);
    const card = invitee.getByTestId('invite-signed-out');
    await card.waitFor();
    await waitForText(card.getByTestId('invite-org'), ORG);
    await waitForText(card.getByTestId('invite-role'), 'Editor');
    await waitForText(card.getByTestId('invite-summary'), new RegExp(`^${ADMIN.name} invited you`));
    const email = invitee.getByLabel('Email');
    expect(await email.inputValue()).toBe(INVITEE.email);
    expect(await email.getAttribute('readonly')).not.toBeNull();
    await invitee.screenshot({ path: '/tmp/tenantry-invite-page.png', fullPage: true });
    await invitee.getByLabel('Name').fill(INVITEE.name);
    await invitee.getByLabel('Password').fill(PASSWORD);
    await invitee.getByRole('button', { name: 'Sign up and join' }).click();

    await waitForText(invitee.getByTestId('home-org-name'), ORG);
    await waitForText(invitee.getByTestId('home-role'), 'Editor');
    await waitForText(invitee.getByTestId('active-org'), ORG);
    expect(new URL(invitee.url()).pathname).toBe('/');
  });

  it("shows the new member in the admin's Access panel and the invitation gone from the pending ones", async () => {
    await admin.goto(url('/settings/organization/access'));
    await waitForText(admin.getByTestId(`member-${INVITEE.email}`).locator('td').first(), INVITEE.name);
    await admin.getByTestId('no-invitations').waitFor();
  });
});

describe('links that no longer work', () => {
  it('gives a used, an unknown, a revoked and an expired link each its own page', async () => {
    await invitee.goto(inviteLink);
    await waitForText(invitee.getByTestId('invite-used').locator('h1'), 'This invitation was already used');
    await invitee.goto(url('/invite/not-a-real-token'));
    await waitForText(invitee.getByTestId('invite-not-found').locator('h1'), 'This invitation link is not valid');

    // Revoked from the Access panel.
    const revokedEmail = 'rex@example.com';
    await admin.getByLabel('Address').fill(revokedEmail);
    await admin.getByRole('button', { name: 'Send invitation' }).click();
    const row = admin.getByTestId(`invitation-${revokedEmail}`);
    await waitForText(row.getByTestId('delivery-state'), 'Sent');
    const revokedLink = await openMailTo(admin, revokedEmail);
    await admin.goto(url('/settings/organization/access'));
    await admin.getByRole('button', { name: `Revoke the invitation to ${revokedEmail}` }).click();
    await admin
      .getByRole('dialog', { name: 'Revoke invitation' })
      .getByRole('button', { name: 'Revoke invitation' })
      .click();
    await row.waitFor({ state: 'detached' });
    const stranger = await (await browser.newContext()).newPage();
    watch(stranger, 'stranger');
    await stranger.goto(revokedLink);
    await waitForText(stranger.getByTestId('invite-revoked').locator('h1'), 'This invitation was revoked');

    // Expired (its expiry moved into the past, as time passing would).
    const expiredEmail = 'old@example.com';
    await admin.getByLabel('Address').fill(expiredEmail);
    await admin.getByRole('button', { name: 'Send invitation' }).click();
    await waitForText(admin.getByTestId(`invitation-${expiredEmail}`).getByTestId('delivery-state'), 'Sent');
    const expiredLink = await openMailTo(admin, expiredEmail);
    const orgId = (await (await admin.request.get(url('/api/org'))).json()).id as string;
    await testDb.db.tenant({ orgId }, (em) =>
      em.execute(`update invitations set expires_at = now() - interval '1 minute' where org_id = ? and email = ?`, [
        orgId,
        expiredEmail,
      ]),
    );
    await stranger.goto(expiredLink);
    await waitForText(stranger.getByTestId('invite-expired').locator('h1'), 'This invitation has expired');
    await admin.goto(url('/settings/organization/access'));
    await waitForText(admin.getByTestId(`invitation-${expiredEmail}`).getByTestId('invitation-expiry'), 'Expired');

    // Someone signed in with another address is told so, with a way to switch accounts.
    const otherEmail = 'ola@example.com';
    await admin.getByLabel('Address').fill(otherEmail);
    await admin.getByRole('button', { name: 'Send invitation' }).click();
    await waitForText(admin.getByTestId(`invitation-${otherEmail}`).getByTestId('delivery-state'), 'Sent');
    await invitee.goto(await openMailTo(admin, otherEmail));
    const mismatch = invitee.getByTestId('invite-email-mismatch');
    await waitForText(
      mismatch.getByRole('alert'),
      new RegExp(`sent to ${otherEmail}; you are signed in as ${INVITEE.email}`),
    );
    await mismatch.getByRole('button', { name: 'Sign out' }).click();
    await invitee.getByTestId('invite-signed-out').waitFor();
  });
});
