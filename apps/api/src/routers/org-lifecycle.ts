import {
  assertRestorable,
  can,
  canPlatform,
  DomainError,
  decideMultiTenantGate,
  parseOrgRef,
  TIERS,
  usageReport,
} from '@tenantry/core';
import {
  appendAuditEvent,
  cancelScheduledOrgDeletion,
  countOrgUsage,
  findOpenOrgDeletion,
  findOrgById,
  findOrgBySlug,
  findOrgDeletion,
  inOrgScope,
} from '@tenantry/db';
import { z } from 'zod';
import { auditActor } from '../audit.js';
import { deletionOutput, dropDeletionJob, toDeletionOutput } from '../deletions.js';
import { auditAsOperator } from '../operator-audit.js';
import { publishOrgControl } from '../org-control.js';
import { orgRefInput } from '../schemas.js';
import { checkAccess, logDenied } from '../tenancy.js';
import { authedProcedure, orgProcedure, requirePermission, router } from '../trpc.js';

// What happens to an org over its life beside its data: its usage against the plan, and its
// deletion (following it, and restoring an org during the grace period).

const usageItem = z.object({
  used: z.number(),
  limit: z.number().nullable(),
  fraction: z.number().nullable(),
  atLimit: z.boolean(),
});

export const usageRouter = router({
  /** Members (and pending invitations), agents and resources against the org's limits, with the license. */
  byOrg: orgProcedure
    .use(requirePermission('usage.read'))
    .meta({ openapi: { method: 'GET', path: '/orgs/{orgId}/usage', tags: ['orgs'], summary: 'Usage and limits' } })
    .input(z.strictObject({ orgId: orgRefInput }))
    .output(
      z.object({
        tier: z.enum(TIERS),
        limits: z.object({
          maxMembers: z.number().nullable(),
          maxAgents: z.number().nullable(),
          requestsPerMinute: z.number(),
        }),
        members: usageItem,
        agents: usageItem,
        pendingInvitations: z.number(),
        resources: z.number(),
        license: z
          .object({
            licensee: z.string(),
            tier: z.enum(TIERS),
            expiresAt: z.string(),
            maxTenants: z.number().nullable(),
          })
          .nullable(),
      }),
    )
    .query(async ({ ctx }) => {
      const counts = await countOrgUsage(ctx.em, ctx.org.id);
      const report = usageReport(
        ctx.org.tier,
        {
          maxMembers: ctx.org.maxMembers,
          maxAgents: ctx.org.maxAgents,
          requestsPerMinute: ctx.org.maxRequestsPerMinute,
        },
        counts,
      );
      const state = await ctx.license.state(ctx.em);
      const license =
        state.status === 'valid' && state.license
          ? {
              licensee: state.license.licensee,
              tier: state.license.tier,
              expiresAt: state.license.expiresAt.toISOString(),
              maxTenants: state.license.maxTenants,
            }
          : null;
      return { ...report, license };
    }),
});

/**
 * The org of a restore, gated before the input is validated like every `/api/orgs/{orgId}`
 * path: a platform admin reaches any org (through the 501/402 gate), anyone else must be an
 * owner of it. Pending orgs are let through: restoring them is the point.
 */
const restoreProcedure = authedProcedure.use(async ({ ctx, getRawInput, next }) => {
  const rawInput = await getRawInput();
  const raw = rawInput && typeof rawInput === 'object' ? (rawInput as Record<string, unknown>).orgId : undefined;
  if (typeof raw !== 'string') {
    throw new DomainError('VALIDATION_FAILED', 'orgId is required: an organization id (UUID) or slug.');
  }
  const operator = canPlatform(ctx.user.platformRole, 'tenants.manage');
  const found = await ctx.db.platform({ userId: ctx.user.id }, async (em) => {
    const licensed = ctx.env.MULTI_TENANT_ENABLED ? await ctx.license.isLicensed(em) : false;
    const ref = parseOrgRef(raw);
    if (operator) {
      if (ref.kind === 'malformed') throw new DomainError('MALFORMED_ORG_ID');
      const org = ref.kind === 'id' ? await findOrgById(em, ref.id) : await findOrgBySlug(em, ref.slug);
      if (!org) throw new DomainError('ORG_NOT_FOUND');
      const gate = decideMultiTenantGate({
        targetsDefaultOrg: org.id === ctx.db.defaultOrgId,
        multiTenantEnabled: ctx.env.MULTI_TENANT_ENABLED,
        licensed,
      });
      if (!gate.allow) throw new DomainError(gate.code);
      return { target: org, member: null };
    }
    const access = await checkAccess(ctx, em, raw, 'path', licensed);
    if (!access.ok) {
      logDenied(ctx, { raw, orgId: access.org?.id ?? null, source: 'path', decision: access.decision });
      throw new DomainError(access.decision.code);
    }
    if (!can(access.membership.role, 'org.delete')) throw new DomainError('OWNERSHIP_REQUIRED');
    return { target: access.org, member: access.membership };
  });
  return next({ ctx: found });
});

export const deletionsRouter = router({
  /** A deletion the caller started (platform admins: any), with its progress and report. */
  byId: authedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/deletions/{deletionId}',
        tags: ['orgs'],
        summary: 'Follow a deletion I started',
      },
    })
    .input(z.strictObject({ deletionId: z.uuid() }))
    .output(deletionOutput)
    .query(({ ctx, input }) =>
      ctx.db.platform({ userId: ctx.user.id }, async (em) => {
        const deletion = await findOrgDeletion(em, input.deletionId);
        const mine = deletion?.requestedById === ctx.user.id;
        if (!deletion || !(mine || canPlatform(ctx.user.platformRole, 'tenants.manage'))) {
          throw new DomainError('DELETION_NOT_FOUND');
        }
        return toDeletionOutput(em, deletion);
      }),
    ),

  /**
   * Restores an org waiting for its deletion (grace period): an owner of it, or a platform
   * admin. It returns to the state it had (active, or suspended).
   */
  restore: restoreProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/orgs/{orgId}/restore',
        tags: ['orgs'],
        summary: 'Restore an organization scheduled for deletion',
      },
    })
    .input(z.strictObject({ orgId: orgRefInput }))
    .output(z.object({ ok: z.literal(true), status: z.enum(['active', 'suspended']) }))
    .mutation(async ({ ctx }) => {
      const { target, member } = ctx;
      const restored = await ctx.db.platform({ userId: ctx.user.id }, async (em) => {
        const org = (await findOrgById(em, target.id)) ?? target;
        const open = await findOpenOrgDeletion(em, org.id);
        assertRestorable({ orgStatus: org.status, deletionStatus: open?.status ?? null });
        const cancelled = await cancelScheduledOrgDeletion(em, org.id);
        if (!cancelled) throw new DomainError('ORG_NOT_RESTORABLE');
        const entry = {
          action: 'org.restored',
          targetType: 'organization',
          targetId: org.id,
          details: { deletionId: cancelled.id },
        };
        if (member) {
          const who = auditActor(ctx.actor, ctx.user, member);
          await inOrgScope(em, org.id, () => appendAuditEvent(em, org.id, { ...who, ip: ctx.ip, ...entry }));
        } else {
          await auditAsOperator(em, org.id, ctx.user, ctx.ip, entry);
        }
        return { orgId: org.id, deletionId: cancelled.id, status: cancelled.orgStatusBefore };
      });
      await dropDeletionJob(ctx.queues, ctx.log, restored.deletionId);
      if (restored.status === 'active') await publishOrgControl(ctx.redis, ctx.log, restored.orgId, 'resumed');
      ctx.log.info({ event: 'org_restored', orgId: restored.orgId }, 'organization restored');
      return { ok: true as const, status: restored.status };
    }),
});
