import {
  assertOrgServes,
  can,
  canPlatform,
  DomainError,
  decideMultiTenantGate,
  isDomainError,
  type Module,
  type Permission,
  type PlatformPermission,
  parseOrgRef,
  resolveModules,
} from '@tenantry/core';
import type { AuditEventRow, EntityManager, MembershipRow, OrgRow, SessionRow, UserRow } from '@tenantry/db';
import { experimental_standaloneMiddleware, initTRPC, TRPCError } from '@trpc/server';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { AGENT_TOKEN_PREFIX, authenticateApiToken } from './api-tokens.js';
import { type AuditEntry, appendRequestAudit, appendRequestAudits, auditActor, inputDetails } from './audit.js';
import type { Context } from './context.js';
import { describeError, toTRPCError, trpcCodeForStatus } from './errors.js';
import type { LicenseService } from './license.js';
import { rateLimiterFor } from './rate-limit.js';
import { authenticateSession } from './session.js';
import { type CallerCtx, checkAccess, headerNamesSameOrg, logDenied, resolveActiveOrg } from './tenancy.js';

/** What a procedure declares beside its REST path. */
export interface ProcedureMeta extends OpenApiMeta {
  /**
   * The procedure also serves an org that is suspended or pending deletion: its own detail,
   * switching, leaving and restoring, so members see why and can move on. Default false:
   * such an org answers ORG_SUSPENDED / ORG_DELETION_PENDING.
   */
  allowInactiveOrg?: boolean;
  /**
   * The audit action a successful tenant mutation records (default: the procedure path, with
   * its input as details). `false` when the procedure writes its own entries with `ctx.audit`.
   */
  audit?: string | false;
}

const t = initTRPC
  .context<Context>()
  .meta<ProcedureMeta>()
  .create({
    // Live streams (Server-Sent Events) ping every 15 s, so proxies keep them open and clients
    // notice a dead connection and reconnect.
    sse: { ping: { enabled: true, intervalMs: 15_000 }, client: { reconnectAfterInactivityMs: 40_000 } },
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

/** Who is acting: a browser session or an API token, each on behalf of a user. */
export type Actor =
  | { kind: 'session'; sessionId: string; userId: string }
  | { kind: 'token'; tokenId: string; tokenName: string; userId: string };

/** The user, session (null for tokens) and actor of a request, or a refusal that says why. */
async function authenticate(ctx: Context): Promise<{ user: UserRow; session: SessionRow | null; actor: Actor }> {
  const bearer = ctx.bearerToken;
  if (bearer) {
    if (bearer.startsWith(AGENT_TOKEN_PREFIX)) {
      throw new DomainError(
        'UNAUTHENTICATED',
        'Agent tokens only report resources (POST /api/agent/report): use an API token or sign in.',
      );
    }
    const hit = await authenticateApiToken(ctx, bearer);
    if (!hit) throw new DomainError('UNAUTHENTICATED', 'The bearer token is unknown, revoked or expired.');
    return {
      user: hit.user,
      session: null,
      actor: { kind: 'token', tokenId: hit.token.id, tokenName: hit.token.name, userId: hit.user.id },
    };
  }
  const auth = await authenticateSession(ctx);
  if (!auth) {
    if (ctx.sessionToken) ctx.cookies.clear();
    throw new DomainError('UNAUTHENTICATED');
  }
  return {
    user: auth.user,
    session: auth.session,
    actor: { kind: 'session', sessionId: auth.session.id, userId: auth.user.id },
  };
}

/** Signed-in callers: `ctx.user`, `ctx.session` (null for API tokens) and `ctx.actor`. */
export const authedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const { user, session, actor } = await authenticate(ctx);
  const log = ctx.bindLog(actor.kind === 'token' ? { userId: user.id, tokenId: actor.tokenId } : { userId: user.id });
  return next({ ctx: { user, session, actor, log } });
});

/** Refuses API tokens (TOKEN_NOT_ALLOWED): managing tokens needs a signed-in person. */
export const requireSession = experimental_standaloneMiddleware<{
  ctx: { actor: Actor; session: SessionRow | null };
}>().create(({ ctx, next }) => {
  if (ctx.actor.kind !== 'session' || !ctx.session) throw new DomainError('TOKEN_NOT_ALLOWED');
  return next({ ctx: { session: ctx.session } });
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

/** Appends an entry for the request's actor to the org's audit log, in the request's transaction. */
export type AuditFn = (entry: AuditEntry) => Promise<AuditEventRow>;

/** Appends several entries for the request's actor at once, in order, in the request's transaction. */
export type AuditManyFn = (entries: readonly AuditEntry[]) => Promise<AuditEventRow[]>;

/** What the tenant middleware adds to the context. */
export interface TenantCtx {
  org: OrgRow;
  membership: MembershipRow;
  em: EntityManager;
  audit: AuditFn;
  /** `audit` for a batch: one append of every entry, keeping the org's hash chain. */
  auditMany: AuditManyFn;
  /**
   * Runs `fn` once the unit of work has committed (never if it rolls back): for effects outside
   * the database that must not run ahead of it, such as enqueueing a job that reads the rows.
   * A failing `fn` is logged; the request still succeeds.
   */
  afterCommit(fn: () => Promise<unknown> | unknown): void;
}

interface UnitInfo {
  type: 'query' | 'mutation' | 'subscription';
  path: string;
  meta: ProcedureMeta | undefined;
  getRawInput: () => Promise<unknown>;
}

/** Spends one request of the org's budget and the caller's; no Redis, no limit. */
async function spendRateBudget(ctx: CallerCtx & Pick<Context, 'redis' | 'setHeader' | 'ip'>, org: OrgRow) {
  if (!ctx.redis) return;
  const limiter = rateLimiterFor(ctx.redis)!;
  const caller = ctx.actor.kind === 'token' ? `token:${ctx.actor.tokenId}` : `user:${ctx.user.id}`;
  try {
    await limiter.consume(org, caller);
  } catch (error) {
    const retryAfter = isDomainError(error) ? error.details?.retryAfter : undefined;
    if (retryAfter !== undefined) ctx.setHeader('retry-after', String(retryAfter));
    throw error;
  }
}

/**
 * Runs the rest of the procedure inside `db.tenant()`: one transaction with `app.org_id` and
 * `app.user_id` set, committed if the procedure succeeded and rolled back otherwise. An org
 * that is not active refuses first (unless the procedure allows it), then the rate budget is
 * spent. A successful mutation that wrote no audit entry of its own records one.
 */
async function inTenantUnit<R extends { ok: boolean }>(
  ctx: CallerCtx & Pick<Context, 'redis' | 'setHeader' | 'ip'>,
  org: OrgRow,
  membership: MembershipRow,
  info: UnitInfo,
  run: (tenant: TenantCtx) => Promise<R>,
): Promise<R> {
  // API tokens of an org that does not serve stop working at once, even where members may
  // still look at the org (its detail, switching away): nothing reaches it without a person.
  if (!info.meta?.allowInactiveOrg || ctx.actor.kind === 'token') assertOrgServes(org.status);
  await spendRateBudget(ctx, org);
  const who = { ...auditActor(ctx.actor, ctx.user, membership), ip: ctx.ip };
  let result: R | undefined;
  const committed: (() => Promise<unknown> | unknown)[] = [];
  try {
    await ctx.db.tenant({ orgId: org.id, userId: ctx.user.id }, async (em) => {
      let audited = false;
      const audit: AuditFn = (entry) => {
        audited = true;
        return appendRequestAudit(em, org.id, who, entry);
      };
      const auditMany: AuditManyFn = async (entries) => {
        if (entries.length === 0) return [];
        audited = true;
        return appendRequestAudits(em, org.id, who, entries);
      };
      const afterCommit = (fn: () => Promise<unknown> | unknown) => void committed.push(fn);
      result = await run({ org, membership, em, audit, auditMany, afterCommit });
      if (!result.ok) throw ROLLBACK;
      if (info.type === 'mutation' && !audited && info.meta?.audit !== false) {
        await appendRequestAudit(em, org.id, who, {
          action: info.meta?.audit ?? info.path,
          details: inputDetails(await info.getRawInput()),
        });
      }
    });
  } catch (error) {
    if (error !== ROLLBACK) throw error;
    return result as R;
  }
  for (const fn of committed) {
    try {
      await fn();
    } catch (error) {
      ctx.log.error({ err: error, orgId: org.id }, 'an effect after the commit failed');
    }
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
export const tenantProcedure = authedProcedure.use(async ({ ctx, next, type, path, meta, getRawInput }) => {
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
  return inTenantUnit(ctx, org, membership, { type, path, meta, getRawInput }, (tenant) =>
    next({ ctx: { ...tenant, log } }),
  );
});

/**
 * Procedures on `/api/orgs/{orgId}/…`: the org comes from the input's `orgId`, read before
 * validation so the gate answers first. An `X-Org-Id` header naming another org answers 400
 * ORG_CONTEXT_CONFLICT: path, header and session orgs never mix in one request.
 */
export const orgProcedure = authedProcedure.use(async ({ ctx, next, getRawInput, type, path, meta }) => {
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
  return inTenantUnit(ctx, org, membership, { type, path, meta, getRawInput }, (tenant) =>
    next({ ctx: { ...tenant, log } }),
  );
});

/** Refuses unless the caller's role in the resolved org holds `permission` (core's `can`). */
export function requirePermission(permission: Permission) {
  return experimental_standaloneMiddleware<{ ctx: { membership: MembershipRow } }>().create(({ ctx, next }) => {
    if (!can(ctx.membership.role, permission)) throw new DomainError('PERMISSION_DENIED');
    return next();
  });
}

/**
 * Refuses with FEATURE_DISABLED unless `module` is enabled for the resolved org: licensed (or
 * community) and not turned off for it by a platform admin (core's `resolveModules`).
 */
export function requireModule(module: Module) {
  return experimental_standaloneMiddleware<{
    ctx: { org: OrgRow; em: EntityManager; license: LicenseService };
  }>().create(async ({ ctx, next }) => {
    const enabled = resolveModules(await ctx.license.features(ctx.em), ctx.org.featureOverrides);
    if (!enabled.includes(module)) {
      throw new DomainError(
        'FEATURE_DISABLED',
        `The ${module} module is not enabled for this organization: ask a platform administrator to enable it.`,
      );
    }
    return next();
  });
}
