import {
  assertOrgServes,
  can,
  DomainError,
  decideGate,
  isDomainError,
  resolveModules,
  tokenRole,
} from '@tenantry/core';
import {
  type Db,
  mapResource,
  mapTokenAccess,
  resourcePageSql,
  type TokenAccessRow,
  tokenAccessStatement,
  tokenAuthStatement,
  touchApiToken,
} from '@tenantry/db';
import { TRPCError } from '@trpc/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { looksLikeApiToken } from './api-tokens.js';
import { type Context, hashToken } from './context.js';
import { describeError } from './errors.js';
import { writesLevel } from './logger.js';
import { type OrgRateLimiter, rateLimiterFor } from './rate-limit.js';
import { createCaller } from './root.js';
import { listInput, toPage, toResourceQuery } from './routers/resources.js';

// `GET /api/resources`, the hot read of integrations and dashboards, on a lean path: for an API
// token naming its org by id (`X-Org-Id: <uuid>`), the token, the org, the membership, the
// binding and the page are read in ONE database round trip (db.readInOrg), under the org's RLS
// scope, and the page only comes back if the token stands in the org (the statement checks it
// too). Every rule of the tRPC procedure is then applied in the same order — 401, the gate,
// the org's status, the rate budget, the module, the permission — so both paths answer alike
// (the contract and matrix tests call both). Anything else (sessions, slugs, PGlite) goes
// through the procedure itself.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TOUCH_EVERY_MS = 60_000;

export interface LeanRouteOptions {
  db: Db;
  createContext: (opts: { req: FastifyRequest; res: FastifyReply }) => Context;
  onDenied: (code: string) => void;
  /**
   * Benchmarks only: skip every tenancy check (the token is still authenticated, but no
   * membership, binding, gate, status, rate budget, module or permission check, and no guard
   * on the page) and read the `X-Org-Id` org's page as it is. Never set by the server.
   */
  tenancyChecks?: boolean;
}

/**
 * The page's statement, returning rows only if the access statement before it found the token
 * standing in the org (`app.caller_ok`, set by it for this transaction only): a one-time
 * filter, so the wall does not depend on the checks made in this process alone.
 */
function guardedPage(sql: string, params: readonly unknown[]) {
  return {
    sql: `select p.* from (${sql}) p where current_setting('app.caller_ok', true) = 'yes' order by p.name, p.id`,
    params,
  };
}

/** The tRPC procedure's refusals, for a token's access row. */
async function assertAccess(
  ctx: Context,
  access: TokenAccessRow | undefined,
  orgId: string,
  limiter: OrgRateLimiter | null,
) {
  if (!access) throw unknownToken();
  const { org, memberRole, bindingRole } = access;
  const licensed = ctx.env.MULTI_TENANT_ENABLED ? await ctx.license.isLicensed() : false;
  const decision = decideGate({
    malformed: false,
    targetsDefaultOrg: orgId === ctx.db.defaultOrgId,
    multiTenantEnabled: ctx.env.MULTI_TENANT_ENABLED,
    licensed,
    authorized: Boolean(org && memberRole && bindingRole),
  });
  if (!decision.allow || !org || !memberRole || !bindingRole) {
    const code = decision.allow ? 'ORG_ACCESS_DENIED' : decision.code;
    ctx.log.warn(
      {
        event: 'org_access_denied',
        orgRef: orgId,
        orgId: org?.id ?? null,
        source: 'header',
        reason: decision.allow ? 'not_authorized' : decision.reason,
        status: decision.allow ? 403 : decision.status,
      },
      'organization access denied',
    );
    throw new DomainError(code);
  }
  assertOrgServes(org.status);
  await limiter?.consume(org, `token:${access.tokenId}`);
  if (!resolveModules(await ctx.license.features(), org.featureOverrides).includes('agents')) {
    throw new DomainError(
      'FEATURE_DISABLED',
      'The agents module is not enabled for this organization: ask a platform administrator to enable it.',
    );
  }
  if (!can(tokenRole(memberRole, bindingRole), 'resources.read')) throw new DomainError('PERMISSION_DENIED');
}

function unknownToken(): DomainError {
  return new DomainError('UNAUTHENTICATED', 'The bearer token is unknown, revoked or expired.');
}

/** Records a token's use at most once a minute, after the answer (the list never waits for it). */
function touchLater(ctx: Context, db: Db, tokenId: string, lastUsedAt: Date | null): void {
  if (lastUsedAt && Date.now() - lastUsedAt.getTime() <= TOUCH_EVERY_MS) return;
  void db
    .platform({}, (em) => touchApiToken(em, tokenId, TOUCH_EVERY_MS))
    .catch((error) => ctx.log.warn({ err: error }, 'could not record the token use'));
}

export function registerLeanResourcesRoute(app: FastifyInstance, opts: LeanRouteOptions): void {
  const checks = opts.tenancyChecks ?? true;

  app.get('/api/resources', async (req, reply) => {
    const ctx = opts.createContext({ req, res: reply });
    try {
      const parsed = listInput.safeParse(req.query ?? {});
      if (!parsed.success) {
        throw new DomainError('VALIDATION_FAILED', undefined, {
          issues: parsed.error.issues.map((i) => ({ path: i.path, message: i.message, code: i.code })),
        });
      }
      const input = parsed.data;
      const orgId = ctx.orgHeader?.trim() ?? '';
      const bearer = ctx.bearerToken;
      const lean = opts.db.kind === 'postgresql' && UUID.test(orgId) && bearer && looksLikeApiToken(bearer);
      if (!lean) return reply.send(await createCaller(ctx).resources.list(input));

      const query = toResourceQuery(input);
      const page = resourcePageSql(orgId.toLowerCase(), query);
      const tokenHash = hashToken(bearer);
      if (!checks) {
        // The token is authenticated (a product without tenants would do that much too), but
        // nothing ties it to the org: the page of whatever org the header names.
        const [tokenRows, rows] = await opts.db.readInOrg({ orgId }, [tokenAuthStatement(tokenHash), page]);
        const token = tokenRows?.[0];
        if (!token) throw unknownToken();
        touchLater(
          ctx,
          opts.db,
          token.tokenId as string,
          token.tokenLastUsedAt ? new Date(token.tokenLastUsedAt as string) : null,
        );
        return reply.send(toPage((rows ?? []).map(mapResource), input.limit));
      }
      const [accessRows, rows] = await opts.db.readInOrg({ orgId }, [
        tokenAccessStatement(tokenHash, orgId),
        guardedPage(page.sql, page.params),
      ]);
      const access = accessRows?.[0] ? mapTokenAccess(accessRows[0]) : undefined;
      // The request's own lines (info) name the caller; below info no line of it would carry
      // the bindings, and a child logger per request is not free.
      if (access && writesLevel(ctx.log, 'info')) {
        ctx.bindLog({ userId: access.userId, tokenId: access.tokenId, orgId });
      }
      await assertAccess(ctx, access, orgId, rateLimiterFor(ctx.redis));
      touchLater(ctx, opts.db, access!.tokenId, access!.lastUsedAt);
      return reply.send(toPage((rows ?? []).map(mapResource), input.limit));
    } catch (error) {
      let status: number;
      let body: Record<string, unknown>;
      if (isDomainError(error)) {
        status = error.status;
        const issues = error.details?.issues;
        const retryAfter = error.details?.retryAfter;
        if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
        body = { code: error.code, message: error.message, ...(issues ? { issues } : {}) };
      } else if (error instanceof TRPCError) {
        const described = describeError(error);
        if (described.code === 'INTERNAL') throw error.cause ?? error;
        status = described.status;
        body = {
          code: described.code,
          message: described.message,
          ...(described.issues ? { issues: described.issues } : {}),
        };
      } else {
        throw error;
      }
      if (status === 401 || status === 402 || status === 403 || status === 501) opts.onDenied(String(body.code));
      return reply.code(status).send(body);
    }
  });
}
