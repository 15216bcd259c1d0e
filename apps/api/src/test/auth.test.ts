import { findUserByEmail } from '@tenantry/db';
import type { TestDatabase } from '@tenantry/db/testing';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from '../index.js';
import { http, openTestDatabase, signUp, testApp, testLicenses } from './harness.js';

// Sign-up, sign-in, sessions, cross-site protection and license activation, over a real
// listening socket with fetch (and the tRPC client), on PostgreSQL.

let tdb: TestDatabase;
let app: FastifyInstance;
let base: string;

const PASSWORD = 'correct horse battery';

beforeAll(async () => {
  tdb = await openTestDatabase('postgresql');
  const lic = await testLicenses();
  // Flag on, no license yet: activation must switch multi-tenancy on without a restart.
  app = await testApp(tdb.db, { MULTI_TENANT_ENABLED: 'true', LICENSE_PUBLIC_KEY: lic.publicKeyPem });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  base = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await app?.close();
  await tdb?.drop();
});

interface FetchResult {
  status: number;
  body: any;
  cookie: string | null;
  setCookie: string | null;
}

async function call(
  method: string,
  path: string,
  opts: { cookie?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<FetchResult> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  const setCookie = res.headers.get('set-cookie');
  return {
    status: res.status,
    body: text ? JSON.parse(text) : undefined,
    setCookie,
    cookie: setCookie?.startsWith('tenantry_session=') ? setCookie.split(';')[0]! : null,
  };
}

function trpcClient(cookie: string) {
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${base}/trpc`, headers: () => ({ cookie }) })],
  });
}

describe('sign-up', () => {
  let first: FetchResult;

  beforeAll(async () => {
    first = await call('POST', '/api/auth/signup', {
      body: { email: 'Root@Example.com', password: PASSWORD, name: 'Root' },
    });
  });

  it('makes the first user superadmin and owner of the default org', async () => {
    expect(first.status).toBe(201);
    expect(first.body.user).toMatchObject({ email: 'root@example.com', name: 'Root', platformRole: 'superadmin' });
    const me = await call('GET', '/api/auth/me', { cookie: first.cookie! });
    expect(me.status).toBe(200);
    expect(me.body.activeOrg).toMatchObject({ slug: 'default' });
    expect(me.body.memberships).toEqual([
      expect.objectContaining({ slug: 'default', role: 'owner', isDefault: true, isShadow: false }),
    ]);
  });

  it('sets an httpOnly, SameSite=Lax session cookie holding a 256-bit token', () => {
    expect(first.setCookie).toMatch(/HttpOnly/);
    expect(first.setCookie).toMatch(/SameSite=Lax/);
    expect(first.setCookie).toMatch(/Path=\//);
    expect(first.setCookie).not.toMatch(/Secure/);
    const token = first.cookie!.split('=')[1]!;
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
  });

  it('stores an argon2id hash and only the hash of the session token', async () => {
    const user = await tdb.db.platform({}, (em) => findUserByEmail(em, 'root@example.com'));
    expect(user?.passwordHash).toMatch(/^\$argon2id\$/);
    const token = first.cookie!.split('=')[1]!;
    const rows = await tdb.db.platform({}, (em) =>
      em.execute<{ token_hash: string }[]>('select token_hash from sessions'),
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.some((r) => r.token_hash.includes(token))).toBe(false);
  });

  it('gives later users no membership and no platform role', async () => {
    const res = await call('POST', '/api/auth/signup', {
      body: { email: 'later@example.com', password: PASSWORD, name: 'Later' },
    });
    expect(res.body.user.platformRole).toBe('user');
    const me = await call('GET', '/api/auth/me', { cookie: res.cookie! });
    expect(me.body.memberships).toEqual([]);
    expect(me.body.activeOrg).toBeNull();
  });

  it('marks the cookie Secure when PUBLIC_URL is https', async () => {
    const secure = await testApp(tdb.db, { PUBLIC_URL: 'https://tenantry.example.com' });
    try {
      const res = await http(secure, 'POST', '/api/auth/signup', {
        body: { email: 'secure@example.com', password: PASSWORD, name: 'Secure' },
      });
      expect(String(res.headers['set-cookie'])).toMatch(/Secure/);
    } finally {
      await secure.close();
    }
  });

  it('is closed with SIGNUP_MODE=invite', async () => {
    const invite = await testApp(tdb.db, { SIGNUP_MODE: 'invite' });
    try {
      const res = await http(invite, 'POST', '/api/auth/signup', {
        body: { email: 'walkin@example.com', password: PASSWORD, name: 'Walk In' },
      });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('SIGNUP_CLOSED');
      expect((await http(invite, 'GET', '/api/config')).body.signupMode).toBe('invite');
    } finally {
      await invite.close();
    }
  });
});

describe('sign-in and sign-out', () => {
  const email = 'signin@example.com';

  beforeAll(async () => {
    await call('POST', '/api/auth/signup', { body: { email, password: PASSWORD, name: 'Sign In' } });
  });

  it('refuses a wrong password or an unknown email with 401 INVALID_CREDENTIALS', async () => {
    for (const body of [
      { email, password: 'wrong password' },
      { email: 'nobody@example.com', password: PASSWORD },
    ]) {
      const res = await call('POST', '/api/auth/login', { body });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ code: 'INVALID_CREDENTIALS', message: 'The email or password is wrong.' });
      expect(res.cookie).toBeNull();
    }
  });

  it('signs in, answers me, and signs out for good', async () => {
    const login = await call('POST', '/api/auth/login', { body: { email: email.toUpperCase(), password: PASSWORD } });
    expect(login.status).toBe(200);
    expect(login.body.user.email).toBe(email);
    const cookie = login.cookie!;
    expect((await call('GET', '/api/auth/me', { cookie })).body.user.email).toBe(email);

    const logout = await call('POST', '/api/auth/logout', { cookie, headers: { origin: base } });
    expect(logout.status).toBe(200);
    expect(logout.body).toEqual({ ok: true });
    expect(logout.setCookie).toMatch(/tenantry_session=;/);
    const after = await call('GET', '/api/auth/me', { cookie });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('UNAUTHENTICATED');
  });

  it('answers tRPC clients with the stable code in error.data', async () => {
    const login = await call('POST', '/api/auth/login', { body: { email, password: PASSWORD } });
    const client = trpcClient(login.cookie!);
    expect((await client.auth.me.query()).user.email).toBe(email);
    const error = await client.orgs.byId.query({ orgId: 'Bad_Slug!' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<AppRouter>).data?.code).toBe('MALFORMED_ORG_ID');
    expect((error as TRPCClientError<AppRouter>).data?.httpStatus).toBe(400);
    const denied = await trpcClient('tenantry_session=forged')
      .auth.me.query()
      .catch((e: unknown) => e);
    expect((denied as TRPCClientError<AppRouter>).data?.code).toBe('UNAUTHENTICATED');
  });
});

describe('cross-site requests', () => {
  let cookie: string;

  beforeAll(async () => {
    const res = await call('POST', '/api/auth/signup', {
      body: { email: 'csrf@example.com', password: PASSWORD, name: 'Csrf' },
    });
    cookie = res.cookie!;
  });

  it('refuses a cookie mutation from another origin with 403 CSRF_REJECTED', async () => {
    const attempts: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'null' },
    ];
    for (const headers of attempts) {
      const res = await call('POST', '/api/orgs', { cookie, body: { name: 'Evil Org' }, headers });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('CSRF_REJECTED');
    }
    const trpc = await call('POST', '/trpc/auth.logout', { cookie, headers: { origin: 'https://evil.example' } });
    expect(trpc.status).toBe(403);
    expect(trpc.body.error.data.code).toBe('CSRF_REJECTED');
    expect((await call('GET', '/api/auth/me', { cookie })).status).toBe(200);
  });

  it('lets same-origin requests through', async () => {
    const allowed: Record<string, string>[] = [
      { origin: 'http://localhost:3000' }, // PUBLIC_URL
      { origin: base }, // the request's own host
      { 'sec-fetch-site': 'same-origin', origin: base },
      { 'sec-fetch-site': 'none' },
      {},
    ];
    for (const headers of allowed) {
      const res = await call('PATCH', '/api/orgs/default', { cookie, body: { description: 'x' }, headers });
      // Not a member of the default org: the request got past the CSRF check to the gate.
      expect(res.body.code).toBe('ORG_ACCESS_DENIED');
    }
  });

  it('exempts bearer requests, which never ride on the cookie', async () => {
    const res = await call('POST', '/api/orgs', {
      cookie,
      body: { name: 'Bearer Org' },
      headers: { origin: 'https://evil.example', authorization: 'Bearer not-a-token' },
    });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHENTICATED');
  });
});

describe('license activation', () => {
  let root: string;
  let user: string;

  beforeAll(async () => {
    const login = await call('POST', '/api/auth/login', { body: { email: 'root@example.com', password: PASSWORD } });
    root = login.cookie!;
    user = (await signUp(app, 'Customer')).cookie;
  });

  it('is for superadmins only', async () => {
    const lic = await testLicenses();
    const get = await call('GET', '/api/admin/license', { cookie: user });
    expect(get.status).toBe(403);
    expect(get.body.code).toBe('SUPERADMIN_REQUIRED');
    const post = await call('POST', '/api/admin/license', { cookie: user, body: { key: lic.valid } });
    expect(post.status).toBe(403);
  });

  it('reports no license at first, and multi-tenancy answers 402', async () => {
    const res = await call('GET', '/api/admin/license', { cookie: root });
    expect(res.body).toEqual({ status: 'none', license: null });
    expect((await call('GET', '/api/orgs', { cookie: user })).status).toBe(402);
  });

  it('refuses tampered, foreign and expired keys with core messages', async () => {
    const lic = await testLicenses();
    for (const [key, code] of [
      [lic.tampered, 'LICENSE_INVALID'],
      [lic.foreign, 'LICENSE_INVALID'],
      ['not.a.key', 'LICENSE_INVALID'],
      ['garbage', 'LICENSE_INVALID'],
      [lic.expired, 'LICENSE_EXPIRED'],
    ] as const) {
      const res = await call('POST', '/api/admin/license', { cookie: root, body: { key } });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe(code);
      expect(res.body.message.length).toBeGreaterThan(20);
    }
    expect((await call('GET', '/api/admin/license', { cookie: root })).body.status).toBe('none');
  });

  it('activates a valid key, which takes effect without a restart', async () => {
    const lic = await testLicenses();
    const res = await call('POST', '/api/admin/license', { cookie: root, body: { key: lic.valid } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'valid',
      license: {
        licensee: 'Test MSP',
        tier: 'enterprise',
        features: ['multi_tenant', 'sharing'],
        maxTenants: null,
        source: 'activated',
      },
    });
    const get = await call('GET', '/api/admin/license', { cookie: root });
    expect(get.body.license.source).toBe('activated');
    expect((await call('GET', '/api/config')).body.licensed).toBe(true);
    expect((await call('GET', '/api/orgs', { cookie: user })).status).toBe(200);
    const created = await call('POST', '/api/orgs', { cookie: user, body: { name: 'Now Licensed' } });
    expect(created.status).toBe(201);
  });

  it('is read by other API processes sharing the database', async () => {
    const lic = await testLicenses();
    const other = await testApp(tdb.db, { MULTI_TENANT_ENABLED: 'true', LICENSE_PUBLIC_KEY: lic.publicKeyPem });
    try {
      const res = await http(other, 'GET', '/api/orgs', { cookie: user });
      expect(res.status).toBe(200);
    } finally {
      await other.close();
    }
  });
});
