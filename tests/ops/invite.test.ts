import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { INVITATION_EMAIL_QUEUE, openInvitationEmailQueue } from '@tenantry/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createOrgOver,
  createTokenOver,
  type RestUser,
  rest,
  signUpOver,
  startTestServer,
  type TestServer,
} from '../api/server.js';
import { baseEnv, runToEnd } from './helpers.js';

// `pnpm tenantry invite`: invites the addresses of a file through the REST API's bulk
// endpoint with an API token, 100 per request, with a progress bar and a summary.

let server: TestServer;
let owner: RestUser;
let dir: string;

const tenantry = (args: string[], env: Record<string, string | undefined> = {}, input?: string) =>
  runToEnd(['scripts/cli.ts', 'invite', ...args], baseEnv(env), input === undefined ? {} : { input });

function file(name: string, lines: string[]): string {
  const target = path.join(dir, name);
  writeFileSync(target, `${lines.join('\n')}\n`);
  return target;
}

const addresses = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}-${i}@example.com`);

/** An org of its own with a member limit and an API token of its owner. */
async function orgWithToken(name: string, maxMembers: number | null) {
  const org = await createOrgOver(server.url, owner, name);
  const limits = await rest(server.url, 'PATCH', `/api/admin/tenants/${org.id}/limits`, {
    cookie: owner.cookie,
    body: maxMembers === null ? { tier: 'enterprise' } : { maxMembers },
  });
  expect(limits.status).toBe(200);
  const { token } = await createTokenOver(server.url, owner, { orgIds: [org.id] });
  return { org, token };
}

async function invitationsOf(orgId: string, token: string) {
  const res = await rest(server.url, 'GET', `/api/orgs/${orgId}/invitations`, { token });
  return res.body.invitations as { email: string; role: string; sendCount: number }[];
}

beforeAll(async () => {
  server = await startTestServer({ redis: true });
  // The first user of the install is its superadmin: it sets the orgs' limits.
  owner = await signUpOver(server.url, 'Invite Owner');
  dir = mkdtempSync(path.join(tmpdir(), 'tenantry-invite-'));
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  const queue = openInvitationEmailQueue('redis://127.0.0.1:6379', {
    name: INVITATION_EMAIL_QUEUE,
    prefix: server.prefix,
  });
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
  await server?.close();
});

describe('pnpm tenantry invite', () => {
  it('invites a file of 250 addresses in three requests, with a progress bar and a summary', async () => {
    const { org, token } = await orgWithToken('Invite Many', null);
    const list = file('team.txt', [
      'email,role',
      '# the first team',
      ...addresses('team', 250).map((email, i) => (i === 0 ? `${email},admin` : email)),
      'TEAM-1@example.com',
    ]);
    const result = await tenantry([
      '--org',
      org.slug,
      '--file',
      list,
      '--role',
      'editor',
      '--url',
      server.url,
      '--token',
      token,
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`read 250 addresses from ${list} (1 repeat left out)`);
    expect(result.stderr).toMatch(/inviting \[.*\] 250\/250/);
    expect(result.stdout.trim()).toBe('invited 250 of 250: 250 created, 0 resent, 0 skipped (already members)');
    const invited = await invitationsOf(org.id, token);
    expect(invited).toHaveLength(250);
    expect(invited.find((i) => i.email === 'team-0@example.com')?.role).toBe('admin');
    expect(invited.filter((i) => i.role === 'editor')).toHaveLength(249);
  });

  it('skips members and resends pending invitations when run again, reading stdin', async () => {
    const { org, token } = await orgWithToken('Invite Again', null);
    const member = await signUpOver(server.url, 'Invite Member');
    const added = await rest(server.url, 'POST', `/api/orgs/${org.id}/members`, {
      cookie: owner.cookie,
      body: { userId: member.id, role: 'viewer' },
    });
    expect(added.status).toBe(201);
    const first = await tenantry(
      ['--org', org.slug, '--file', '-', '--url', server.url],
      { TENANTRY_TOKEN: token },
      'a@example.com\n',
    );
    expect(first.code, first.stderr).toBe(0);
    const again = await tenantry(
      ['--org', org.id, '--file', '-', '--url', server.url],
      { TENANTRY_TOKEN: token },
      `a@example.com; ${member.email}, b@example.com\n`,
    );
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(
      `invited 3 of 3: 1 created, 1 resent, 1 skipped (already members)\nskipped: ${member.email}\n`,
    );
    const invited = await invitationsOf(org.id, token);
    expect(invited.find((i) => i.email === 'a@example.com')?.sendCount).toBe(2);
  });

  it('stops at the request the member limit refuses, saying where, and keeps what was invited', async () => {
    // The owner and 150 invitations fit; the second request would bring 200.
    const { org, token } = await orgWithToken('Invite Limit', 151);
    const list = file('limit.txt', addresses('limit', 250));
    const result = await tenantry(['--org', org.slug, '--file', list, '--url', server.url, '--token', token]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('invited 100 of 250: 100 created, 0 resent, 0 skipped (already members)\n');
    expect(result.stderr).toContain(
      `Refused at line 101 of ${list} (LIMIT_REACHED: This organization is limited to 151 members and has 50 seats left`,
    );
    expect(result.stderr).toContain('nothing after it was sent');
    expect(await invitationsOf(org.id, token)).toHaveLength(100);
  });

  it('refuses a file with entries that are not addresses, unless told to skip them', async () => {
    const { org, token } = await orgWithToken('Invite Invalid', null);
    const list = file('typos.txt', ['ok@example.com', 'not-an-email', 'boss@example.com,king']);
    const args = ['--org', org.slug, '--file', list, '--url', server.url, '--token', token];
    const refused = await tenantry(args);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('line 2: not-an-email — neither an email address nor a role');
    expect(refused.stderr).toContain('line 3: king — neither an email address nor a role');
    expect(refused.stderr).toContain('2 entries are not an address to invite (listed above)');
    expect(await invitationsOf(org.id, token)).toEqual([]);
    const skipped = await tenantry([...args, '--skip-invalid']);
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(skipped.stdout).toContain('invited 2 of 2: 2 created');
  });

  it('prints who would be invited with --dry-run, and sends nothing', async () => {
    const list = file('dry.txt', ['Ann <ann@example.com>, bob@example.com,owner']);
    const result = await tenantry(['--org', 'whatever', '--file', list, '--dry-run']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('ann@example.com,viewer\nbob@example.com,owner\n');
  });

  it('answers wrong options with exit code 2, and a missing token, file or permission with exit code 1', async () => {
    const list = file('one.txt', ['one@example.com']);
    expect((await tenantry(['--file', list])).code).toBe(2);
    expect((await tenantry(['--org', 'acme'])).code).toBe(2);
    expect((await tenantry(['--org', 'acme', '--file', list, '--role', 'emperor'])).code).toBe(2);
    const noToken = await tenantry(['--org', 'acme', '--file', list, '--url', server.url]);
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain('--token tnt_');
    const missing = await tenantry(['--org', 'acme', '--file', path.join(dir, 'nope.txt'), '--token', 'tnt_x']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Cannot read');
    // A token bound to another org cannot reach this one.
    const { token } = await orgWithToken('Invite Elsewhere', null);
    const other = await createOrgOver(server.url, owner, 'Invite Target');
    const foreign = await tenantry(['--org', other.slug, '--file', list, '--url', server.url, '--token', token]);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toContain('ORG_ACCESS_DENIED');
  });
});
