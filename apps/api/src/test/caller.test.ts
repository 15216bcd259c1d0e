import type { TestDatabase } from '@tenantry/db/testing';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInnerContext } from '../context.js';
import { LicenseService } from '../license.js';
import { createCaller } from '../root.js';
import { multiTenantEnv, openTestDatabase, silentLogger, testEnv } from './harness.js';

// The routers called in-process through createCaller, on PostgreSQL, as the web app's
// procedures see them.

let tdb: TestDatabase;

beforeAll(async () => {
  tdb = await openTestDatabase('postgresql');
});

afterAll(async () => {
  await tdb?.drop();
});

async function session(overrides: Record<string, string> = {}) {
  const env = testEnv(overrides);
  const license = new LicenseService({ db: tdb.db, envKey: env.LICENSE_KEY, publicKeyPem: env.LICENSE_PUBLIC_KEY });
  const ctx = createInnerContext({ db: tdb.db, env, license, log: silentLogger });
  return { ctx, caller: createCaller(ctx) };
}

async function failure(promise: Promise<unknown>): Promise<TRPCError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return error as TRPCError;
}

describe('through createCaller', () => {
  it('signs up, keeps the session token, and answers the active org with permissions and modules', async () => {
    const { ctx, caller } = await session();
    const { user } = await caller.auth.signup({ email: 'first@example.com', password: 'long enough', name: 'First' });
    expect(user.platformRole).toBe('superadmin');
    expect(ctx.sessionToken).toMatch(/^[\w-]{43}$/);

    const current = await caller.org.current();
    expect(current).toMatchObject({ slug: 'default', role: 'owner', isDefault: true });
    expect(current.permissions).toContain('org.transfer');
    expect(current.modules).toEqual(['agents', 'alerts', 'audit', 'api_tokens']);
    expect(await caller.system.config()).toMatchObject({ multiTenantEnabled: false, licensed: false });
  });

  it('answers gate refusals with the matching tRPC codes', async () => {
    const { caller } = await session();
    await caller.auth.signup({ email: 'gated@example.com', password: 'long enough', name: 'Gated' });
    expect((await failure(caller.orgs.list())).code).toBe('NOT_IMPLEMENTED');
    expect((await failure(caller.org.current())).code).toBe('FORBIDDEN');
    expect((await failure(caller.orgs.byId({ orgId: '../etc' }))).code).toBe('BAD_REQUEST');

    const unlicensed = await session(await multiTenantEnv(false));
    await unlicensed.caller.auth.signup({ email: 'unlicensed@example.com', password: 'long enough', name: 'U' });
    expect((await failure(unlicensed.caller.orgs.list())).code).toBe('PAYMENT_REQUIRED');
  });

  it('gives superadmins no implicit access to other orgs', async () => {
    const env = await multiTenantEnv();
    const root = await session(env);
    await root.caller.auth.login({ email: 'first@example.com', password: 'long enough' });
    const other = await session(env);
    await other.caller.auth.signup({ email: 'tenant@example.com', password: 'long enough', name: 'Tenant' });
    const org = await other.caller.orgs.create({ name: 'Tenant Org' });
    expect(org.role).toBe('owner');
    expect((await failure(root.caller.orgs.byId({ orgId: org.id }))).code).toBe('FORBIDDEN');
    expect((await failure(root.caller.members.list({ orgId: org.slug }))).code).toBe('FORBIDDEN');
  });

  it('refuses procedures without a session', async () => {
    const { caller } = await session();
    const error = await failure(caller.auth.me());
    expect(error.code).toBe('UNAUTHORIZED');
    expect(error.cause).toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
