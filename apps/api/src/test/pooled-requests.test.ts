import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@tenantry/db/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrgAs, http, multiTenantEnv, signUp, type TestUser, testApp } from './harness.js';

// The org of one request never reaches the next request on the same pooled connection:
// 500 concurrent requests of two orgs over 4 connections, with requests whose transaction
// aborts mixed in, each answering only its own org's data.

let tdb: TestDatabase;
let app: FastifyInstance;
const sides: { user: TestUser; org: { id: string; slug: string }; prefix: string }[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase({ kind: 'postgresql', poolMax: 4 });
  app = await testApp(tdb.db, await multiTenantEnv());
  await signUp(app, 'Root');
  for (const prefix of ['alpha', 'bravo']) {
    const user = await signUp(app, prefix);
    const org = await createOrgAs(app, user, `Pool ${prefix}`);
    for (let i = 0; i < 3; i++) {
      const res = await http(app, 'POST', '/api/alert-rules', {
        cookie: user.cookie,
        headers: { 'x-org-id': org.id },
        body: { name: `${prefix}-${i}`, metric: 'cpu', comparison: 'gt', threshold: 0.9 },
      });
      expect(res.status).toBe(201);
    }
    sides.push({ user, org, prefix });
  }
});

afterAll(async () => {
  await app?.close();
  await tdb?.drop();
});

describe('500 concurrent requests over a pool of 4', () => {
  it('each answer only its own org, also right after a request whose transaction aborted', async () => {
    const problems: string[] = [];
    await Promise.all(
      Array.from({ length: 500 }, async (_, i) => {
        const side = sides[i % 2]!;
        const opts = { cookie: side.user.cookie, headers: { 'x-org-id': side.org.id } };
        if (i % 5 === 0) {
          const res = await http(app, 'PATCH', `/api/alert-rules/${randomUUID()}`, { ...opts, body: { name: 'x' } });
          if (res.status !== 404) problems.push(`request ${i}: aborted update answered ${res.status}`);
          return;
        }
        if (i % 5 === 1) {
          const res = await http(app, 'POST', '/api/alert-rules', {
            ...opts,
            body: { name: 'x', metric: 'cpu', comparison: 'gt', threshold: 0.5, resourceIds: [randomUUID()] },
          });
          if (res.status !== 400) problems.push(`request ${i}: aborted create answered ${res.status}`);
          return;
        }
        const res = await http(app, 'GET', '/api/alert-rules', opts);
        const names: string[] = res.body?.rules?.map((r: { name: string }) => r.name) ?? [];
        if (res.status !== 200 || names.length !== 3 || names.some((n) => !n.startsWith(`${side.prefix}-`))) {
          problems.push(`request ${i} (${side.prefix}): ${res.status} ${names.join(',')}`);
        }
      }),
    );
    expect(problems).toEqual([]);
    // The aborted creates left nothing behind.
    for (const side of sides) {
      const res = await http(app, 'GET', '/api/alert-rules', {
        cookie: side.user.cookie,
        headers: { 'x-org-id': side.org.id },
      });
      expect(res.body.rules).toHaveLength(3);
    }
  });
});
