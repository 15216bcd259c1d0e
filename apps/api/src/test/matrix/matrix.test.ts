import { can } from '@tenantry/core';
import type { TestDatabase } from '@tenantry/db/testing';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInnerContext } from '../../context.js';
import type { ApiEnv } from '../../env.js';
import { describeError } from '../../errors.js';
import { LicenseService } from '../../license.js';
import { appRouter, createCaller } from '../../root.js';
import { multiTenantEnv, openTestDatabase, silentLogger, testEnv, testLicenses } from '../harness.js';
import { type Call, DECLARATIONS, type Declaration, type Outcome } from './declarations.js';
import {
  ACTORS,
  type ActorName,
  buildFixtures,
  type Fixtures,
  freshSession,
  type OrgFixture,
  STANDING,
  userOf,
} from './fixtures.js';

// The cross-tenant matrix (THREATS: Grafana's cross-org user management, snapshot deletion by
// key; Pulse's bound token reaching the default org): every procedure of the router, called
// in process as every kind of caller, against org A's and org B's ids — and, for procedures
// that name objects, in org A with org B's ids. Each answer must be the one its declaration
// implies. A procedure without a declaration fails the test, so none ships unmatrixed.

const PROCEDURES = Object.keys(appRouter._def.procedures).sort();

let tdb: TestDatabase;
let env: ApiEnv;
let license: LicenseService;
let f: Fixtures;

/** The answer a declaration implies for a call. */
function expectedOutcome(decl: Declaration, call: Call): Outcome {
  const auth = decl.auth ?? 'authed';
  if (auth === 'public') return decl.allowed?.(call) ?? 'ok';
  if (call.actor === 'anonymous') return 'UNAUTHENTICATED';
  if (auth === 'superadmin') return 'SUPERADMIN_REQUIRED';
  if (decl.org === 'none' && decl.tokens && call.actor.startsWith('token')) return decl.tokens;
  if (decl.org !== 'none') {
    if (!call.role) return 'ORG_ACCESS_DENIED';
    if (decl.tokens && call.actor.startsWith('token')) return decl.tokens;
    if (decl.permission && !can(call.role, decl.permission)) return 'PERMISSION_DENIED';
    const refused = decl.roleRule?.(call.role);
    if (refused) return refused;
    if (call.ids !== call.scope && decl.crossIds) return decl.crossIds;
  }
  return decl.allowed?.(call) ?? 'ok';
}

/** The calls of one procedure: once without an org, or per org, plus A-with-B's-ids. */
function callsOf(decl: Declaration): Omit<Call, 'user'>[] {
  const calls: Omit<Call, 'user'>[] = [];
  for (const actor of ACTORS) {
    if (decl.org === 'none') {
      calls.push({ actor, scope: null, ids: null, role: null });
      continue;
    }
    const targets: [OrgFixture, OrgFixture][] = [
      [f.orgs.A, f.orgs.A],
      [f.orgs.B, f.orgs.B],
    ];
    if (decl.crossIds) targets.push([f.orgs.A, f.orgs.B]);
    for (const [scope, ids] of targets) {
      calls.push({ actor, scope, ids, role: STANDING[actor][scope.key] ?? null });
    }
  }
  return calls;
}

async function credentials(actor: ActorName, decl: Declaration) {
  if (actor === 'anonymous') return {};
  if (actor === 'tokenB' || actor === 'tokenAB') return { bearerToken: f.bearer[actor] };
  const sessionToken = decl.freshSession ? await freshSession(f.db, f.users[actor].id) : f.sessions[actor]!;
  return { sessionToken };
}

/** Calls `path` as the call's caller; answers its outcome and output. */
async function run(path: string, decl: Declaration, call: Call): Promise<{ outcome: Outcome; output?: unknown }> {
  const input = await decl.input(f, call);
  const ctx = createInnerContext({
    db: f.db,
    env,
    license,
    log: silentLogger,
    orgHeader: decl.org === 'active' ? call.scope!.id : null,
    ...(await credentials(call.actor, decl)),
  });
  let target: unknown = createCaller(ctx);
  for (const key of path.split('.')) target = (target as Record<string, unknown>)[key];
  try {
    const output = await (target as (input: unknown) => Promise<unknown>)(input);
    return { outcome: 'ok', output };
  } catch (error) {
    if (!(error instanceof TRPCError)) throw error;
    const described = describeError(error);
    if (described.code === 'INTERNAL') throw error.cause ?? error;
    return { outcome: described.code as Outcome };
  }
}

const label = (c: Call) =>
  `${c.actor} → ${c.scope ? (c.ids === c.scope ? `org ${c.scope.key}` : `org ${c.scope.key} with ${c.ids!.key}'s ids`) : 'no org'}`;

beforeAll(async () => {
  tdb = await openTestDatabase('postgresql');
  const overrides = await multiTenantEnv();
  env = testEnv(overrides);
  license = new LicenseService({ db: tdb.db, envKey: env.LICENSE_KEY, publicKeyPem: env.LICENSE_PUBLIC_KEY });
  f = await buildFixtures(tdb.db, (await testLicenses()).valid);
});

afterAll(async () => {
  await tdb?.drop();
});

describe('the cross-tenant matrix', () => {
  it('declares every procedure of the router, and nothing else', () => {
    expect(PROCEDURES.length).toBeGreaterThan(30);
    const undeclared = PROCEDURES.filter((p) => !(p in DECLARATIONS));
    const stale = Object.keys(DECLARATIONS).filter((p) => !PROCEDURES.includes(p));
    expect({ undeclared, stale }).toEqual({ undeclared: [], stale: [] });
  });

  it('covers every kind of caller, each org, and every role of org A', () => {
    const roles = new Set(ACTORS.map((a) => STANDING[a].A).filter(Boolean));
    expect(roles).toEqual(new Set(['owner', 'admin', 'editor', 'viewer']));
    expect(ACTORS).toEqual(expect.arrayContaining(['anonymous', 'memberB', 'tokenB', 'tokenAB']));
  });

  it.each(PROCEDURES.filter((p) => p in DECLARATIONS))(
    '%s answers as declared for every caller, in A, in B, and in A with B’s ids',
    async (path) => {
      const decl = DECLARATIONS[path]!;
      const mismatches: string[] = [];
      for (const partial of callsOf(decl)) {
        const call: Call = { ...partial, user: userOf(f, partial.actor) };
        const want = expectedOutcome(decl, call);
        const got = await run(path, decl, call);
        if (got.outcome !== want) {
          mismatches.push(`${label(call)}: expected ${want}, got ${got.outcome}`);
          continue;
        }
        if (got.outcome === 'ok') {
          try {
            await decl.check?.(got.output, f, call);
          } catch (error) {
            mismatches.push(`${label(call)}: answered outside its org: ${(error as Error).message.split('\n')[0]}`);
          }
          await decl.restore?.(f, call);
        }
      }
      expect(mismatches).toEqual([]);
    },
  );
});
