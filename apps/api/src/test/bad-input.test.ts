import type { TestDatabase } from '@tenantry/db/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createOrgAs,
  http,
  multiTenantEnv,
  openTestDatabase,
  type RequestOptions,
  signUp,
  type TestUser,
  testApp,
} from './harness.js';

// Malformed ids, unknown fields, wrong types, overlong strings, broken JSON and duplicates
// answer 4xx with a stable code, never 500.

let tdb: TestDatabase;
let app: FastifyInstance;
let owner: TestUser;
let org: { id: string; slug: string };

beforeAll(async () => {
  tdb = await openTestDatabase('postgresql');
  app = await testApp(tdb.db, await multiTenantEnv());
  owner = await signUp(app, 'Owner');
  org = await createOrgAs(app, owner, 'Input Org', 'input-org');
});

afterAll(async () => {
  await app?.close();
  await tdb?.drop();
});

async function expect4xx(method: string, url: string, opts: RequestOptions, status: number, code: string) {
  const res = await http(app, method, url, { cookie: owner.cookie, ...opts });
  expect({ method, url, status: res.status, code: res.body?.code }).toEqual({ method, url, status, code });
  expect(typeof res.body.message).toBe('string');
  return res;
}

describe('malformed org and user ids', () => {
  it('answers 400 MALFORMED_ORG_ID for org ids in paths and headers', async () => {
    for (const ref of ['Bad_Slug!', '..%2Fetc', 'a', `${'y'.repeat(200)}`, '%20', 'org%00id']) {
      await expect4xx('GET', `/api/orgs/${ref}`, {}, 400, 'MALFORMED_ORG_ID');
      await expect4xx('GET', `/api/orgs/${ref}/members`, {}, 400, 'MALFORMED_ORG_ID');
    }
    await expect4xx('GET', '/api/org', { headers: { 'x-org-id': '../etc' } }, 400, 'MALFORMED_ORG_ID');
    await expect4xx('GET', '/api/org', { headers: { 'x-org-id': "x' or 1=1 --" } }, 400, 'MALFORMED_ORG_ID');
  });

  it('answers 400 VALIDATION_FAILED for user ids that are not UUIDs', async () => {
    const res = await expect4xx(
      'PATCH',
      `/api/orgs/${org.id}/members/not-a-uuid`,
      { body: { role: 'viewer' } },
      400,
      'VALIDATION_FAILED',
    );
    expect(res.body.issues).toEqual([expect.objectContaining({ path: ['userId'] })]);
    await expect4xx(
      'POST',
      `/api/orgs/${org.id}/transfer-ownership`,
      { body: { userId: 42 } },
      400,
      'VALIDATION_FAILED',
    );
  });
});

describe('unknown fields and wrong types', () => {
  it('refuses unknown fields', async () => {
    await expect4xx(
      'POST',
      '/api/auth/signup',
      {
        cookie: undefined,
        body: { email: 'x@example.com', password: 'long enough', name: 'X', platformRole: 'superadmin' },
      },
      400,
      'VALIDATION_FAILED',
    );
    await expect4xx('POST', '/api/orgs', { body: { name: 'X', ownerId: owner.id } }, 400, 'VALIDATION_FAILED');
    await expect4xx('PATCH', `/api/orgs/${org.id}`, { body: { tier: 'enterprise' } }, 400, 'VALIDATION_FAILED');
    await expect4xx('GET', `/api/orgs/${org.id}?extra=1`, {}, 400, 'VALIDATION_FAILED');
  });

  it('refuses wrong types', async () => {
    await expect4xx('POST', '/api/orgs', { body: { name: 123 } }, 400, 'VALIDATION_FAILED');
    await expect4xx('POST', '/api/orgs', { body: { name: ['a'] } }, 400, 'VALIDATION_FAILED');
    await expect4xx('POST', '/api/orgs', { body: { name: null } }, 400, 'VALIDATION_FAILED');
    await expect4xx('POST', '/api/orgs', { body: [] }, 400, 'VALIDATION_FAILED');
    await expect4xx('POST', '/api/orgs', { raw: '"just a string"' }, 400, 'VALIDATION_FAILED');
    await expect4xx(
      'POST',
      `/api/orgs/${org.id}/members`,
      { body: { email: 'a@b.co', role: 'god' } },
      400,
      'VALIDATION_FAILED',
    );
    await expect4xx('POST', `/api/orgs/${org.id}/members`, { body: { role: 'viewer' } }, 400, 'VALIDATION_FAILED');
    await expect4xx(
      'PATCH',
      `/api/orgs/${org.id}`,
      { body: { logoUrl: 'javascript:alert(1)' } },
      400,
      'VALIDATION_FAILED',
    );
  });
});

describe('overlong and too short strings', () => {
  it('refuses them with 400', async () => {
    await expect4xx('POST', '/api/orgs', { body: { name: 'n'.repeat(101) } }, 400, 'VALIDATION_FAILED');
    await expect4xx('POST', '/api/orgs', { body: { name: '   ' } }, 400, 'VALIDATION_FAILED');
    await expect4xx(
      'PATCH',
      `/api/orgs/${org.id}`,
      { body: { description: 'd'.repeat(501) } },
      400,
      'VALIDATION_FAILED',
    );
    const signup = (body: object) =>
      expect4xx('POST', '/api/auth/signup', { cookie: undefined, body }, 400, 'VALIDATION_FAILED');
    await signup({ email: `${'e'.repeat(250)}@example.com`, password: 'long enough', name: 'E' });
    await signup({ email: 'short@example.com', password: 'short', name: 'S' });
    await signup({ email: 'long@example.com', password: 'p'.repeat(201), name: 'L' });
    await signup({ email: 'not-an-email', password: 'long enough', name: 'N' });
    await expect4xx('POST', '/api/admin/license', { body: { key: 'k'.repeat(10_001) } }, 400, 'VALIDATION_FAILED');
  });
});

describe('broken bodies', () => {
  it('answers 400 for invalid or empty JSON and prototype keys', async () => {
    await expect4xx('POST', '/api/orgs', { raw: '{"name": ' }, 400, 'VALIDATION_FAILED');
    await expect4xx('POST', '/api/orgs', { raw: '' }, 400, 'VALIDATION_FAILED');
    await expect4xx(
      'POST',
      '/api/orgs',
      { raw: '{"__proto__": {"isAdmin": true}, "name": "P"}' },
      400,
      'VALIDATION_FAILED',
    );
    const trpc = await http(app, 'POST', '/trpc/orgs.create', { cookie: owner.cookie, raw: '{"name": ' });
    expect(trpc.status).toBe(400);
    expect(trpc.body.error.data.code).toBe('VALIDATION_FAILED');
  });

  it('answers 415 for other content types and 413 above 1 MB', async () => {
    await expect4xx(
      'POST',
      '/api/orgs',
      { raw: 'name=x', headers: { 'content-type': 'text/plain' } },
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    await expect4xx('POST', '/api/orgs', { body: { name: 'x'.repeat(1_100_000) } }, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('answers 404 NOT_FOUND as JSON for unknown paths and methods', async () => {
    await expect4xx('GET', '/api/no-such-thing', {}, 404, 'NOT_FOUND');
    await expect4xx('PUT', '/api/orgs', { body: {} }, 404, 'NOT_FOUND');
    const trpc = await http(app, 'GET', '/trpc/no.such.procedure', { cookie: owner.cookie });
    expect(trpc.status).toBe(404);
    expect(trpc.body.error.data.code).toBe('NOT_FOUND');
  });
});

describe('duplicates', () => {
  it('answers 409 SLUG_TAKEN and EMAIL_TAKEN', async () => {
    await expect4xx('POST', '/api/orgs', { body: { name: 'Again', slug: org.slug } }, 409, 'SLUG_TAKEN');
    await expect4xx(
      'POST',
      '/api/auth/signup',
      { cookie: undefined, body: { email: owner.email.toUpperCase(), password: 'long enough', name: 'Twin' } },
      409,
      'EMAIL_TAKEN',
    );
  });

  it('answers 409 when two creations race for one slug', async () => {
    const results = await Promise.all(
      [1, 2, 3].map(() =>
        http(app, 'POST', '/api/orgs', { cookie: owner.cookie, body: { name: 'Race', slug: 'race-slug' } }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.code).toBe('SLUG_TAKEN');
  });
});
