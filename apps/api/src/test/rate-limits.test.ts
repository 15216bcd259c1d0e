import { rateBudgets } from '@tenantry/core';
import { updateOrg } from '@tenantry/db';
import type { TestDatabase } from '@tenantry/db/testing';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../server.js';
import {
  createOrgAs,
  http,
  multiTenantEnv,
  openTestDatabase,
  signUp,
  silentLogger,
  type TestUser,
  testEnv,
} from './harness.js';

// Per-org rate limits in Redis (SPEC §9): an org over its budget answers 429 RATE_LIMITED
// with Retry-After; one caller's budget is a quarter of its org's, so one script cannot
// starve the others; orgs never share a budget. The limiter keys live under `org:{orgId}:`,
// and the orgs of this run have ids of their own, so no other run shares them.

const REDIS_URL = 'redis://127.0.0.1:6379';
const BUDGET = 8; // per minute for the org, so 2 per caller

let tdb: TestDatabase;
let app: FastifyInstance;
let redis: Redis;
let owner: TestUser;
let orgA: { id: string; slug: string };
let orgB: { id: string; slug: string };
let orgC: { id: string; slug: string };
// Tokens are created from this org, so that creating them spends none of the budgets tested.
let issuer: { id: string; slug: string };

async function tokenFor(orgId: string, name: string): Promise<string> {
  const res = await http(app, 'POST', '/api/tokens', {
    cookie: owner.cookie,
    headers: { 'x-org-id': issuer.id },
    body: { name, orgIds: [orgId] },
  });
  expect(res.status).toBe(200);
  return res.body.token;
}

const callAs = (token: string, orgId: string) =>
  http(app, 'GET', '/api/org', { headers: { authorization: `Bearer ${token}`, 'x-org-id': orgId } });

function expectLimited(res: Awaited<ReturnType<typeof callAs>>, who: RegExp) {
  expect(res.status).toBe(429);
  expect(res.body.code).toBe('RATE_LIMITED');
  expect(res.body.message).toMatch(who);
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

beforeAll(async () => {
  tdb = await openTestDatabase('postgresql');
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  app = createApp({ env: testEnv(await multiTenantEnv()), db: tdb.db, logger: silentLogger, redis });
  await app.ready();
  await signUp(app, 'Root');
  owner = await signUp(app, 'Owner');
  orgA = await createOrgAs(app, owner, 'Limited A');
  orgB = await createOrgAs(app, owner, 'Limited B');
  orgC = await createOrgAs(app, owner, 'Limited C');
  issuer = await createOrgAs(app, owner, 'Token Issuer');
  expect(rateBudgets({ requestsPerMinute: BUDGET })).toEqual({ org: BUDGET, caller: 2 });
});

afterAll(async () => {
  await app?.close();
  redis?.disconnect();
  await tdb?.drop();
});

describe('per-org rate limits', () => {
  it('lets one token exhaust its own budget while another token of the org keeps working', async () => {
    const [first, second] = [await tokenFor(orgA.id, 'first'), await tokenFor(orgA.id, 'second')];
    await tdb.db.platform({}, (em) => updateOrg(em, orgA.id, { maxRequestsPerMinute: BUDGET }));
    expect((await callAs(first, orgA.id)).status).toBe(200);
    expect((await callAs(first, orgA.id)).status).toBe(200);
    expectLimited(await callAs(first, orgA.id), /for you \(2 per minute\)/);
    const other = await callAs(second, orgA.id);
    expect(other.status).toBe(200);
    expect(other.body.id).toBe(orgA.id);
  });

  it('answers 429 with Retry-After once the whole org is over its budget, whoever asks', async () => {
    const tokens = [];
    for (let i = 0; i < 5; i++) tokens.push(await tokenFor(orgB.id, `t${i}`));
    await tdb.db.platform({}, (em) => updateOrg(em, orgB.id, { maxRequestsPerMinute: BUDGET }));
    const statuses: number[] = [];
    for (const token of tokens.slice(0, 4)) {
      for (let i = 0; i < 2; i++) statuses.push((await callAs(token, orgB.id)).status);
    }
    expect(statuses).toEqual(Array(8).fill(200));
    // A fresh caller has budget of its own left, but the org has none.
    expectLimited(await callAs(tokens[4]!, orgB.id), /for this organization \(8 per minute\)/);
    const session = await http(app, 'GET', '/api/org', { cookie: owner.cookie, headers: { 'x-org-id': orgB.id } });
    expectLimited(session, /this organization/);
  });

  it('leaves other orgs working while one org is over its budget', async () => {
    const token = await tokenFor(orgC.id, 'c');
    // B is spent (previous test); C, with the same small budget, and A's other caller still answer.
    await tdb.db.platform({}, (em) => updateOrg(em, orgC.id, { maxRequestsPerMinute: BUDGET }));
    expectLimited(
      await http(app, 'GET', '/api/org', { cookie: owner.cookie, headers: { 'x-org-id': orgB.id } }),
      /organization/,
    );
    const inC = await callAs(token, orgC.id);
    expect(inC.status).toBe(200);
    expect(inC.body.id).toBe(orgC.id);
    const session = await http(app, 'GET', '/api/org', { cookie: owner.cookie, headers: { 'x-org-id': orgC.id } });
    expect(session.status).toBe(200);
    // The limiter's keys are the orgs' own.
    const keys = await redis.keys(`org:${orgB.id}:rl:*`);
    expect(keys).toEqual(expect.arrayContaining([`org:${orgB.id}:rl:org`]));
    expect(await redis.keys(`org:${orgC.id}:rl:token:*`)).toHaveLength(1);
  });
});
