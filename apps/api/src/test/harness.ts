import { generateLicenseKeyPair, issueLicense } from '@tenantry/core';
import type { Db } from '@tenantry/db';
import { createTestDatabase, type TestDatabase } from '@tenantry/db/testing';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { createInnerContext } from '../context.js';
import { type ApiEnv, loadApiEnv } from '../env.js';
import { LicenseService } from '../license.js';
import { createCaller } from '../root.js';
import { createApp } from '../server.js';

/** Test support: throwaway databases, apps with a given configuration, and HTTP helpers. */

export const silentLogger = pino({ level: 'silent' });

/** A key pair and license keys signed with it, for `LICENSE_PUBLIC_KEY` in tests. */
export interface TestLicenses {
  publicKeyPem: string;
  privateKeyPem: string;
  /** `multi_tenant` + every module, enterprise, valid for a year. */
  valid: string;
  /** Expired yesterday. */
  expired: string;
  /** A valid key with its signature altered. */
  tampered: string;
  /** Signed by another key pair. */
  foreign: string;
}

let licensesPromise: Promise<TestLicenses> | null = null;

export function testLicenses(): Promise<TestLicenses> {
  licensesPromise ??= (async () => {
    const { publicKeyPem, privateKeyPem } = await generateLicenseKeyPair();
    const claims = {
      licensee: 'Test MSP',
      tier: 'enterprise' as const,
      features: ['multi_tenant', 'sharing'],
      expiresAt: new Date(Date.now() + 365 * 86_400_000),
    };
    const valid = await issueLicense(claims, privateKeyPem);
    const expired = await issueLicense({ ...claims, expiresAt: new Date(Date.now() - 86_400_000) }, privateKeyPem);
    const [h, p, sig] = valid.split('.') as [string, string, string];
    const flipped = sig[0] === 'A' ? `B${sig.slice(1)}` : `A${sig.slice(1)}`;
    const other = await generateLicenseKeyPair();
    const foreign = await issueLicense(claims, other.privateKeyPem);
    return { publicKeyPem, privateKeyPem, valid, expired, tampered: `${h}.${p}.${flipped}`, foreign };
  })();
  return licensesPromise;
}

/** A configuration as the process would load it, with test defaults. */
export function testEnv(overrides: Record<string, string | undefined> = {}): ApiEnv {
  return loadApiEnv({
    LOG_LEVEL: 'silent',
    PUBLIC_URL: 'http://localhost:3000',
    WEB_DIST: '/nonexistent',
    ...overrides,
  });
}

export function openTestDatabase(kind: 'postgresql' | 'pglite' = 'postgresql'): Promise<TestDatabase> {
  return createTestDatabase({ kind, poolMax: 4 });
}

/** An app over `db` with the given environment (several apps may share one database). */
export async function testApp(db: Db, overrides: Record<string, string | undefined> = {}): Promise<FastifyInstance> {
  const app = createApp({ env: testEnv(overrides), db, logger: silentLogger });
  await app.ready();
  return app;
}

/** The environment of a licensed multi-tenant server. */
export async function multiTenantEnv(licensed = true): Promise<Record<string, string>> {
  const lic = await testLicenses();
  return {
    MULTI_TENANT_ENABLED: 'true',
    LICENSE_PUBLIC_KEY: lic.publicKeyPem,
    ...(licensed ? { LICENSE_KEY: lic.valid } : {}),
  };
}

export interface HttpResult<T = any> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | number | undefined>;
}

export interface RequestOptions {
  cookie?: string | undefined;
  body?: unknown;
  headers?: Record<string, string>;
  /** Send `body` as this exact string. */
  raw?: string;
  /** The client address the server sees (default 127.0.0.1). */
  remoteAddress?: string;
}

/** One request through `app.inject`; JSON in, JSON out. */
export async function http<T = any>(
  app: FastifyInstance,
  method: string,
  url: string,
  opts: RequestOptions = {},
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.cookie) headers.cookie = opts.cookie;
  let payload: string | undefined;
  if (opts.raw !== undefined) {
    payload = opts.raw;
    headers['content-type'] ??= 'application/json';
  } else if (opts.body !== undefined) {
    payload = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await app.inject({
    method: method as 'GET',
    url,
    headers,
    ...(payload !== undefined ? { payload } : {}),
    ...(opts.remoteAddress ? { remoteAddress: opts.remoteAddress } : {}),
  });
  let body: unknown = res.body;
  try {
    body = res.body ? JSON.parse(res.body) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.statusCode, body: body as T, headers: res.headers };
}

/** The `name=value` of the session cookie a response set. */
export function sessionCookieOf(res: HttpResult): string {
  const set = res.headers['set-cookie'];
  const list = Array.isArray(set) ? set : typeof set === 'string' ? [set] : [];
  const found = list.find((c) => c.startsWith('tenantry_session='));
  if (!found) throw new Error(`no session cookie in response ${res.status}: ${JSON.stringify(res.body)}`);
  return found.split(';')[0]!;
}

export interface TestUser {
  id: string;
  email: string;
  cookie: string;
}

let userCounter = 0;

/** Signs a new user up over REST; returns its id and session cookie. */
export async function signUp(app: FastifyInstance, name = 'User'): Promise<TestUser> {
  userCounter += 1;
  const email = `${name.toLowerCase().replace(/\W+/g, '')}-${userCounter}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const res = await http(app, 'POST', '/api/auth/signup', { body: { email, password: 'correct horse battery', name } });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.user.id, email, cookie: sessionCookieOf(res) };
}

/** Creates an org over REST as `user`; returns its id and slug. */
export async function createOrgAs(
  app: FastifyInstance,
  user: TestUser,
  name: string,
  slug?: string,
): Promise<{ id: string; slug: string }> {
  const res = await http(app, 'POST', '/api/orgs', { cookie: user.cookie, body: { name, ...(slug ? { slug } : {}) } });
  if (res.status !== 201) throw new Error(`create org failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id, slug: res.body.slug };
}

/** Adds `member` to `org` over REST as `actor`. */
export async function addMember(
  app: FastifyInstance,
  actor: TestUser,
  orgId: string,
  member: TestUser,
  role: 'owner' | 'admin' | 'editor' | 'viewer',
): Promise<void> {
  const res = await http(app, 'POST', `/api/orgs/${orgId}/members`, {
    cookie: actor.cookie,
    body: { userId: member.id, role },
  });
  if (res.status !== 201) throw new Error(`add member failed: ${res.status} ${JSON.stringify(res.body)}`);
}

/** An in-process tRPC caller acting with a session token (as `createCaller` tests use it). */
export function callerFor(
  db: Db,
  env: ApiEnv,
  opts: { sessionToken?: string | null; orgHeader?: string | null; license?: LicenseService } = {},
) {
  const license =
    opts.license ?? new LicenseService({ db, envKey: env.LICENSE_KEY, publicKeyPem: env.LICENSE_PUBLIC_KEY });
  const ctx = createInnerContext({
    db,
    env,
    license,
    log: silentLogger,
    sessionToken: opts.sessionToken ?? null,
    orgHeader: opts.orgHeader ?? null,
  });
  return { caller: createCaller(ctx), ctx };
}
