import {
  can,
  canPlatform,
  DomainError,
  decideMultiTenantGate,
  isDomainError,
  type Permission,
  type PlatformPermission,
  parseOrgRef,
} from '@tenantry/core';
import type { EntityManager, MembershipRow, OrgRow, SessionRow } from '@tenantry/db';
import { experimental_standaloneMiddleware, initTRPC, TRPCError } from '@trpc/server';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import type { OpenApiMeta } from 'trpc-to-openapi';
import type { Context } from './context.js';
import { describeError, toTRPCError, trpcCodeForStatus } from './errors.js';
import { authenticateSession } from './session.js';
import { type CallerCtx, checkAccess, headerNamesSameOrg, logDenied, resolveActiveOrg } from './tenancy.js';

const t = initTRPC
  .context<Context>()
  .meta<OpenApiMeta>()
  .create({
    // Plain JSON (no transformer), so tRPC and REST clients see the same payloads.
    errorFormatter({ shape, error }) {
      const described = describeError(error);
      return {
        message: described.message,
        code: TRPC_ERROR_CODES_BY_KEY[trpcCodeForStatus(described.status)],
        data: {
          code: described.code,
          httpStatus: described.status,
          path: shape.data.path,
          ...(described.issues ? { issues: described.issues } : {}),
        },
      };
    },
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Turns a DomainError thrown anywhere below into the TRPCError with its HTTP status. */
const domainErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && !(result.error.cause instanceof TRPCError) && isDomainError(result.error.cause)) {
    return { ...result, error: toTRPCError(result.error.cause) };
  }
  return result;
});

/** Anyone, signed in or not. */
export const publicProcedure = t.procedure.use(domainErrors);

/** Who is acting. Bearer API tokens will be a second kind (issue 4). */
export type Actor = { kind: 'session'; sessionId: string; userId: string };

/** Signed-in callers: `ctx.user`, `ctx.session` (null for non-browser actors later) and `ctx.actor`. */
export const authedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const auth = await authenticateSession(ctx);
  if (!auth) {
    if (ctx.sessionToken) ctx.cookies.clear();
    throw new DomainError('UNAUTHENTICATED');
  }
  const log = ctx.bindLog({ userId: auth.user.id });
  const actor: Actor = { kind: 'session', sessionId: auth.session.id, userId: auth.user.id };
  const session: SessionRow | null = auth.session;
  return next({ ctx: { user: auth.user, session, actor, log } });
});

/** Only callers holding a platform permission (superadmins; core's `canPlatform`). */
export function platformProcedure(permission: PlatformPermission) {
  return authedProcedure.use(({ ctx, next }) => {
    if (!canPlatform(ctx.user.platformRole, permission)) throw new DomainError('SUPERADMIN_REQUIRED');
    return next();
  });
}

/** Platform administration. Superadmins have no implicit access to orgs' data. */
export const superadminProcedure = platformProcedure('tenants.manage');

/**
 * The org collection (`GET/POST /api/orgs`) names no single org but passes the same
 * 501/402 gate as any non-default org.
 */
export const orgCollectionProcedure = authedProcedure.use(async ({ ctx, next }) => {
  const decision = decideMultiTenantGate({
    targetsDefaultOrg: false,
    multiTenantEnabled: ctx.env.MULTI_TENANT_ENABLED,
    licensed: ctx.env.MULTI_TENANT_ENABLED ? await ctx.license.isLicensed() : false,
  });
  if (!decision.allow) {
    logDenied(ctx, { raw: null, orgId: null, source: 'collection', decision });
    throw new DomainError(decision.code);
  }
  return next();
});

/** Marker to roll a unit of work back when the procedure failed (tRPC reports, not throws). */
const ROLLBACK = Symbol('rollback');

/**
 * Runs the rest of the procedure inside `db.tenant()`: one transaction with `app.org_id` and
 * `app.user_id` set, committed if the procedure succeeded and rolled back otherwise.
 */
async function inTenantUnit<R extends { ok: boolean }>(
  ctx: CallerCtx,
  org: OrgRow,
  run: (em: EntityManager) => Promise<R>,
): Promise<R> {
  let result: R | undefined;
  try {
    await ctx.db.tenant({ orgId: org.id, userId: ctx.user.id }, async (em) => {
      result = await run(em);
      if (!result.ok) throw ROLLBACK;
    });
  } catch (error) {
    if (error !== ROLLBACK) throw error;
  }
  return result as R;
}

function orgLog(ctx: Pick<Context, 'bindLog'>, org: OrgRow) {
  return ctx.bindLog({ orgId: org.id });
}

/**
 * The request's active org (header → session → user's default → `default`), gated once;
 * the rest of the procedure runs inside that org's unit of work with a narrowed context
 * `{ user, session, org, membership, em }`.
 */
export const tenantProcedure = authedProcedure.use(async ({ ctx, next }) => {
  const access = await ctx.db.platform({ userId: ctx.user.id }, async (em) => {
    const licensed = ctx.env.MULTI_TENANT_ENABLED ? await ctx.license.isLicensed(em) : false;
    return resolveActiveOrg(ctx, em, ctx.orgHeader, licensed);
  });
  if (!access.ok) {
    logDenied(ctx, {
      raw: access.raw,
      orgId: access.org?.id ?? null,
      source: access.source,
      decision: access.decision,
    });
    throw new DomainError(access.decision.code);
  }
  const { org, membership } = access;
  const log = orgLog(ctx, org);
  return inTenantUnit(ctx, org, (em) => next({ ctx: { org, membership, em, log } }));
});

/**
 * Procedures on `/api/orgs/{orgId}/…`: the org comes from the input's `orgId`, read before
 * validation so the gate answers first. An `X-Org-Id` header naming another org answers 400
 * ORG_CONTEXT_CONFLICT: path, header and session orgs never mix in one request.
 */
export const orgProcedure = authedProcedure.use(async ({ ctx, next, getRawInput }) => {
  const rawInput = await getRawInput();
  const raw = rawInput && typeof rawInput === 'object' ? (rawInput as Record<string, unknown>).orgId : undefined;
  if (typeof raw !== 'string') {
    throw new DomainError('VALIDATION_FAILED', 'orgId is required: an organization id (UUID) or slug.');
  }
  const header = ctx.orgHeader?.trim() ? ctx.orgHeader : null;
  const access = await ctx.db.platform({ userId: ctx.user.id }, async (em) => {
    if (parseOrgRef(raw).kind === 'malformed') return checkAccess(ctx, em, raw, 'path', false);
    const licensed = ctx.env.MULTI_TENANT_ENABLED ? await ctx.license.isLicensed(em) : false;
    const found = await checkAccess(ctx, em, raw, 'path', licensed);
    if (header !== null && !headerNamesSameOrg(header, found.org, raw)) return { conflict: true as const, found };
    return found;
  });
  if ('conflict' in access) {
    ctx.log.warn(
      { event: 'org_context_conflict', orgId: access.found.org?.id ?? null },
      'X-Org-Id header names another organization than the path',
    );
    throw new DomainError('ORG_CONTEXT_CONFLICT');
  }
  if (!access.ok) {
    logDenied(ctx, { raw, orgId: access.org?.id ?? null, source: 'path', decision: access.decision });
    throw new DomainError(access.decision.code);
  }
  const { org, membership } = access;
  const log = orgLog(ctx, org);
  return inTenantUnit(ctx, org, (em) => next({ ctx: { org, membership, em, log } }));
});

/** Refuses unless the caller's role in the resolved org holds `permission` (core's `can`). */
export function requirePermission(permission: Permission) {
  return experimental_standaloneMiddleware<{ ctx: { membership: MembershipRow } }>().create(({ ctx, next }) => {
    if (!can(ctx.membership.role, permission)) throw new DomainError('PERMISSION_DENIED');
    return next();
  });
}
