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

// `pnpm tenantry agent simulate`: a simulated agent that reports over the real API, for demos
// and load — registered with an API token, or straight in a shared PostgreSQL database.

let server: TestServer;
let owner: RestUser;
let org: { id: string; slug: string };
let token: string;

const tenantry = (args: string[], env: Record<string, string | undefined> = {}) =>
  runToEnd(['scripts/cli.ts', 'agent', 'simulate', ...args], baseEnv(env));

async function resourcesOf(orgId: string) {
  const res = await rest(server.url, 'GET', '/api/resources?limit=200', { token, headers: { 'x-org-id': orgId } });
  return res.body.resources as { name: string; type: string; agentId: string }[];
}

beforeAll(async () => {
  server = await startTestServer({ redis: true });
  owner = await signUpOver(server.url, 'Simulator Owner');
  org = await createOrgOver(server.url, owner, 'Simulated');
  ({ token } = await createTokenOver(server.url, owner, { orgIds: [org.id] }));
});

afterAll(async () => {
  await server?.close();
});

describe('pnpm tenantry agent simulate', () => {
  it('registers with an API token and reports the resources, with a line per report', async () => {
    const result = await tenantry([
      '--org',
      org.slug,
      '--resources',
      '50',
      '--url',
      server.url,
      '--token',
      token,
      '--count',
      '2',
      '--interval',
      '200ms',
      '--name',
      'sim-1',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`registered agent sim-1 in ${org.slug}`);
    expect(result.stderr).toMatch(/agent token .*: tna_/);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^report 1\/2: 50 resources \(50 new, 0 updated, 0 down\) in \d+ ms$/);
    expect(lines[1]).toMatch(/^report 2\/2: 50 resources \(0 new, 50 updated, \d+ down\) in \d+ ms$/);
    const listed = await resourcesOf(org.id);
    expect(listed).toHaveLength(50);
    expect(new Set(listed.map((r) => r.type))).toEqual(new Set(['host', 'vm', 'container', 'storage']));
  });

  it('says why it cannot register a second agent on the free plan', async () => {
    const again = await tenantry(['--org', org.slug, '--url', server.url, '--token', token, '--count', '1']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('LIMIT_REACHED');
  });

  it('registers in the database when it shares PostgreSQL with the server', async () => {
    const other = await createOrgOver(server.url, owner, 'Simulated DB');
    const { token: otherToken } = await createTokenOver(server.url, owner, { orgIds: [other.id] });
    const result = await tenantry(
      ['--org', other.slug, '--resources', '5', '--url', server.url, '--count', '1', '--name', 'db-sim'],
      { DATABASE_URL: server.tdb.appUrl!, DATABASE_MIGRATION_URL: server.tdb.ownerUrl!, PUBLIC_URL: server.url },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^report 1\/1: 5 resources \(5 new/);
    const agents = await rest(server.url, 'GET', '/api/agents', {
      token: otherToken,
      headers: { 'x-org-id': other.id },
    });
    expect(agents.body.agents).toEqual([expect.objectContaining({ name: 'db-sim', resources: 5, online: true })]);
  });

  it('answers wrong options with exit code 2 and a missing credential with exit code 1', async () => {
    expect((await tenantry([])).code).toBe(2);
    expect((await tenantry(['--org', org.slug, '--resources', '0'])).code).toBe(2);
    expect((await tenantry(['--org', org.slug, '--interval', 'soon'])).code).toBe(2);
    const none = await tenantry(['--org', org.slug, '--url', server.url]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('--token tnt_');
    const forged = await tenantry([
      '--org',
      org.slug,
      '--url',
      server.url,
      '--agent-token',
      `tna_${'A'.repeat(43)}.${'B'.repeat(43)}`,
    ]);
    expect(forged.code).toBe(1);
    expect(forged.stderr).toContain('UNAUTHENTICATED');
  });
});
