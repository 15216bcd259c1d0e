import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createApp, createLogger, loadApiEnv } from '@tenantry/api';
import { generateLicenseKeyPair, issueLicense } from '@tenantry/core';
import { createTestDatabase, type TestDatabase } from '@tenantry/db/testing';
import { Redis } from 'ioredis';

/** A real API server listening on 127.0.0.1 (port 0) over a fresh PostgreSQL database. */
export interface TestServer {
  url: string;
  app: ReturnType<typeof createApp>;
  tdb: TestDatabase;
  redis: Redis | null;
  /** The BullMQ prefix of this server's queues (unique to the run). */
  prefix: string;
  /** Every log line the server wrote (when started with `captureLogs`). */
  logs: string[];
  close(): Promise<void>;
}

export interface TestServerOptions {
  multiTenant?: boolean;
  licensed?: boolean;
  redis?: boolean;
  captureLogs?: boolean;
  env?: Record<string, string>;
  /** Reuse this database (several servers, one install); the first server's `close` drops it. */
  tdb?: TestDatabase;
  prefix?: string;
}

let licensePromise: Promise<{ publicKeyPem: string; key: string }> | null = null;

/** A license with `multi_tenant` and every module, signed by a key pair of this run. */
export function testLicense(): Promise<{ publicKeyPem: string; key: string }> {
  licensePromise ??= (async () => {
    const { publicKeyPem, privateKeyPem } = await generateLicenseKeyPair();
    const key = await issueLicense(
      {
        licensee: 'Integration tests',
        tier: 'enterprise',
        features: ['multi_tenant', 'sharing'],
        expiresAt: new Date(Date.now() + 86_400_000),
      },
      privateKeyPem,
    );
    return { publicKeyPem, key };
  })();
  return licensePromise;
}

export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const multiTenant = opts.multiTenant ?? true;
  const licensed = opts.licensed ?? true;
  const lic = await testLicense();
  const owned = !opts.tdb;
  const tdb = opts.tdb ?? (await createTestDatabase({ kind: 'postgresql', poolMax: 4 }));
  const redis = opts.redis ? new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 2 }) : null;
  const prefix = opts.prefix ?? `test-api-${randomUUID()}`;
  const logs: string[] = [];
  const env = loadApiEnv({
    LOG_LEVEL: opts.captureLogs ? 'trace' : 'silent',
    PUBLIC_URL: 'http://127.0.0.1:0',
    WEB_DIST: '/nonexistent',
    MULTI_TENANT_ENABLED: String(multiTenant),
    LICENSE_PUBLIC_KEY: lic.publicKeyPem,
    ...(licensed ? { LICENSE_KEY: lic.key } : {}),
    ...opts.env,
  });
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(line);
      done();
    },
  });
  const app = createApp({ env, db: tdb.db, redis, queuePrefix: prefix, logger: createLogger(env, sink) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    url,
    app,
    tdb,
    redis,
    prefix,
    logs,
    async close() {
      await app.close();
      redis?.disconnect();
      if (owned) await tdb.drop();
    },
  };
}

export const PASSWORD = 'correct horse battery staple';

/** A signed-up user: id, email and the session cookie (`name=value`). */
export interface RestUser {
  id: string;
  email: string;
  cookie: string;
  platformRole: string;
}

/** Signs a user up over REST. */
export async function signUpOver(url: string, name: string): Promise<RestUser> {
  const email = `${name.toLowerCase().replace(/\W+/g, '-')}-${randomUUID().slice(0, 8)}@example.com`;
  const res = await fetch(`${url}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD, name }),
  });
  const body = (await res.json()) as { user: { id: string; platformRole: string } };
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${JSON.stringify(body)}`);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  return { id: body.user.id, email, cookie, platformRole: body.user.platformRole };
}

/** One REST call with a session cookie or bearer token; JSON in and out. */
export async function rest<T = any>(
  url: string,
  method: string,
  path: string,
  opts: { cookie?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.cookie && method !== 'GET') headers.origin = url;
  const res = await fetch(`${url}${path}`, {
    method,
    headers,
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: res.status, body: body as T };
}

/** Creates an org over REST as `user`. */
export async function createOrgOver(url: string, user: RestUser, name: string): Promise<{ id: string; slug: string }> {
  const res = await rest(url, 'POST', '/api/orgs', { cookie: user.cookie, body: { name } });
  if (res.status !== 201) throw new Error(`create org failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id, slug: res.body.slug };
}

/** Creates an API token of `user` bound to `orgIds` (default: the active org). */
export async function createTokenOver(
  url: string,
  user: RestUser,
  opts: { orgIds?: string[]; role?: string; name?: string } = {},
): Promise<{ id: string; token: string }> {
  const res = await rest(url, 'POST', '/api/tokens', {
    cookie: user.cookie,
    body: {
      name: opts.name ?? 'integration',
      ...(opts.orgIds ? { orgIds: opts.orgIds } : {}),
      ...(opts.role ? { role: opts.role } : {}),
    },
  });
  if (res.status !== 200) throw new Error(`create token failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id, token: res.body.token };
}
