import { reportResources } from '@tenantry/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, run } from '../ops/helpers.js';
import {
  createOrgOver,
  createTokenOver,
  type RestUser,
  rest,
  signUpOver,
  startTestServer,
  type TestServer,
} from './server.js';

// The SDK's README examples are files (packages/sdk/examples); each runs here as a user would
// run it, against a started server.

let server: TestServer;
let owner: RestUser;
let org: { id: string; slug: string };
let token: string;

function example(name: string, args: string[] = [], env: Record<string, string> = {}) {
  return run(
    [`packages/sdk/examples/${name}.ts`, ...args],
    baseEnv({ TENANTRY_URL: server.url, TENANTRY_TOKEN: token, ...env }),
  );
}

beforeAll(async () => {
  server = await startTestServer();
  owner = await signUpOver(server.url, 'Example Owner');
  org = await createOrgOver(server.url, owner, 'Example Org');
  ({ token } = await createTokenOver(server.url, owner, { orgIds: [org.id, 'default'] }));
});

afterAll(async () => {
  await server?.close();
});

describe('SDK examples', () => {
  it('list-orgs prints every organization the token reaches, read through withOrg', async () => {
    const proc = example('list-orgs');
    expect(await proc.exited).toBe(0);
    const lines = proc.stdout().trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${org.slug}\\tExample Org\\towner\\tfree\\t.*api_tokens`)),
        expect.stringMatching(/^default\tDefault\towner\t/),
      ]),
    );
  });

  it('invite-member invites by email into TENANTRY_ORG, and fails with the server’s reason', async () => {
    const proc = example('invite-member', ['ana@example.com', 'editor'], { TENANTRY_ORG: org.slug });
    expect(await proc.exited).toBe(0);
    expect(proc.stdout()).toMatch(/^invited ana@example\.com as editor: invitation [0-9a-f-]{36}/);
    expect(proc.stdout()).toContain('1 pending invitation(s)');
    const listed = await rest(server.url, 'GET', `/api/orgs/${org.id}/invitations`, { token });
    expect(listed.body.invitations).toEqual([expect.objectContaining({ email: 'ana@example.com', role: 'editor' })]);

    const bad = example('invite-member', ['not-an-email', 'editor'], { TENANTRY_ORG: org.slug });
    expect(await bad.exited).toBe(1);
    expect(bad.stderr()).toMatch(/^Invalid input: email: /);
  });

  it('every example refuses to start without a token and says what to set', async () => {
    const proc = run(['packages/sdk/examples/list-orgs.ts'], baseEnv({ TENANTRY_URL: server.url }));
    expect(await proc.exited).toBe(1);
    expect(proc.stderr()).toContain('Set TENANTRY_TOKEN');
  });

  it('register-agent registers an agent, reports resources with its token and lists them', async () => {
    const proc = example('register-agent', ['example-agent'], { TENANTRY_ORG: org.slug });
    expect(await proc.exited, proc.stderr()).toBe(0);
    expect(proc.stdout()).toMatch(/registered agent /);
    expect(proc.stdout()).toMatch(/host\tpve-1\tonline/);
    // The free plan has one agent slot: a second one says so.
    const again = example('register-agent', ['second-agent'], { TENANTRY_ORG: org.slug });
    expect(await again.exited).toBe(1);
    expect(again.stderr()).toMatch(/No agent slot left/);
  });

  it('follow-live prints a live update made by an agent', async () => {
    const liveOrg = await createOrgOver(server.url, owner, 'Example Live');
    const { token: liveToken } = await createTokenOver(server.url, owner, { orgIds: [liveOrg.id] });
    const proc = example('follow-live', ['1'], { TENANTRY_ORG: liveOrg.slug, TENANTRY_TOKEN: liveToken });
    await proc.waitForOutput(/following live updates/, 20_000);
    const agent = await rest(server.url, 'POST', '/api/agents', {
      token: liveToken,
      headers: { 'x-org-id': liveOrg.id },
      body: { name: 'live' },
    });
    expect(agent.status).toBeLessThan(300);
    await reportResources(
      { url: server.url, token: agent.body.token },
      { resources: [{ type: 'host', name: 'live-host', status: 'online', cpu: 0.5 }] },
    );
    expect(await proc.exited, proc.stderr()).toBe(0);
    expect(proc.stdout()).toContain('live-host');
  });
});
