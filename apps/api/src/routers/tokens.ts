import { randomUUID } from 'node:crypto';
import { assertOrgServes, assertTokenBinding, DomainError, resolveModules } from '@tenantry/core';
import {
  appendAuditEvent,
  createApiToken,
  inOrgScope,
  listApiTokensOfUser,
  type OrgRow,
  type Role,
  revokeApiToken,
} from '@tenantry/db';
import { z } from 'zod';
import { newApiToken } from '../api-tokens.js';
import { auditActor } from '../audit.js';
import { orgRefInput, roleInput } from '../schemas.js';
import { checkAccess } from '../tenancy.js';
import { requireModule, requirePermission, requireSession, router, tenantProcedure } from '../trpc.js';

const tokenOrgOutput = z.object({ orgId: z.string(), slug: z.string(), name: z.string(), role: roleInput });

const tokenOutput = z.object({
  id: z.string(),
  name: z.string(),
  orgs: z.array(tokenOrgOutput),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});

const MAX_ORGS_PER_TOKEN = 1000;

/** API tokens of the signed-in user (SPEC §7, §11): created and revoked in the web app or over REST. */
const tokenProcedure = tenantProcedure
  .use(requireSession)
  .use(requireModule('api_tokens'))
  .use(requirePermission('tokens.create'));

export const tokensRouter = router({
  /** The caller's tokens with the orgs each reaches; secrets are never shown again. */
  list: tokenProcedure
    .meta({ openapi: { method: 'GET', path: '/tokens', tags: ['tokens'], summary: 'List my API tokens' } })
    .input(z.void())
    .output(z.object({ tokens: z.array(tokenOutput) }))
    .query(async ({ ctx }) => ({
      tokens: (await listApiTokensOfUser(ctx.em, ctx.user.id)).map((t) => ({
        id: t.id,
        name: t.name,
        orgs: t.orgs,
        createdAt: t.createdAt.toISOString(),
        expiresAt: t.expiresAt?.toISOString() ?? null,
        lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
        revokedAt: t.revokedAt?.toISOString() ?? null,
      })),
    })),

  /**
   * Creates a token bound to the given orgs (default: the active org), each with `role` or,
   * when omitted, the caller's own role there; never more than the caller's role. The secret
   * is in this answer only.
   */
  create: tokenProcedure
    .meta({
      openapi: { method: 'POST', path: '/tokens', tags: ['tokens'], summary: 'Create an API token' },
      audit: false,
    })
    .input(
      z.strictObject({
        name: z.string().trim().min(1).max(100),
        orgIds: z.array(orgRefInput).min(1).max(MAX_ORGS_PER_TOKEN).optional(),
        role: roleInput.optional(),
        expiresInDays: z.number().int().min(1).max(3650).optional(),
      }),
    )
    .output(tokenOutput.extend({ token: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const licensed = ctx.env.MULTI_TENANT_ENABLED ? await ctx.license.isLicensed(ctx.em) : false;
      const features = await ctx.license.features(ctx.em);
      const refs = input.orgIds ?? [ctx.org.id];
      const seen = new Set<string>();
      const targets: { org: OrgRow; role: Role }[] = [];
      for (const ref of refs) {
        const access = ref === ctx.org.id ? null : await checkAccess(ctx, ctx.em, ref, 'path', licensed);
        if (access && !access.ok) {
          throw new DomainError(
            access.decision.code,
            access.decision.code === 'ORG_ACCESS_DENIED'
              ? `You are not a member of the organization ${ref.slice(0, 100)}: a token can only reach your organizations.`
              : undefined,
          );
        }
        const org = access ? access.org : ctx.org;
        const memberRole = access ? access.membership.role : ctx.membership.role;
        if (seen.has(org.id)) continue;
        seen.add(org.id);
        assertOrgServes(org.status);
        if (!resolveModules(features, org.featureOverrides).includes('api_tokens')) {
          throw new DomainError('FEATURE_DISABLED', `API tokens are not enabled for ${org.name}.`);
        }
        const role = input.role ?? memberRole;
        assertTokenBinding({ memberRole, requested: role });
        targets.push({ org, role });
      }
      const { token, hash } = newApiToken();
      const id = randomUUID();
      const expiresAt = input.expiresInDays ? new Date(Date.now() + input.expiresInDays * 86_400_000) : null;
      const created = await createApiToken(ctx.em, {
        id,
        userId: ctx.user.id,
        name: input.name,
        tokenHash: hash,
        expiresAt,
        bindings: targets.map((t) => ({ orgId: t.org.id, role: t.role })),
      });
      const who = { ...auditActor(ctx.actor, ctx.user, null), ip: ctx.ip };
      for (const target of targets) {
        const entry = {
          action: 'token.created',
          targetType: 'api_token',
          targetId: id,
          details: { name: input.name, role: target.role, orgs: targets.length },
        };
        if (target.org.id === ctx.org.id) await ctx.audit(entry);
        else
          await inOrgScope(ctx.em, target.org.id, () => appendAuditEvent(ctx.em, target.org.id, { ...who, ...entry }));
      }
      ctx.log.info({ event: 'token_created', tokenId: id, orgs: targets.length }, 'API token created');
      return {
        id,
        name: created.name,
        token,
        orgs: targets.map((t) => ({ orgId: t.org.id, slug: t.org.slug, name: t.org.name, role: t.role })),
        createdAt: created.createdAt.toISOString(),
        expiresAt: created.expiresAt?.toISOString() ?? null,
        lastUsedAt: null,
        revokedAt: null,
      };
    }),

  /** Revokes one of the caller's tokens; it stops working at once, in every org. */
  revoke: tokenProcedure
    .meta({
      openapi: { method: 'DELETE', path: '/tokens/{tokenId}', tags: ['tokens'], summary: 'Revoke an API token' },
      audit: false,
    })
    .input(z.strictObject({ tokenId: z.uuid() }))
    .output(z.object({ ok: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      const token = (await listApiTokensOfUser(ctx.em, ctx.user.id)).find((t) => t.id === input.tokenId);
      if (!token || !(await revokeApiToken(ctx.em, ctx.user.id, input.tokenId))) {
        throw new DomainError('NOT_FOUND', 'You have no live API token with that id.');
      }
      // Recorded in every org the token reached, and in the org the request acted in.
      const entry = {
        action: 'token.revoked',
        targetType: 'api_token',
        targetId: token.id,
        details: { name: token.name },
      };
      const who = { ...auditActor(ctx.actor, ctx.user, null), ip: ctx.ip };
      await ctx.audit(entry);
      for (const org of token.orgs) {
        if (org.orgId === ctx.org.id) continue;
        await inOrgScope(ctx.em, org.orgId, () => appendAuditEvent(ctx.em, org.orgId, { ...who, ...entry }));
      }
      return { ok: true as const };
    }),
});
