import {
  checkTenantLimit,
  DomainError,
  decideMultiTenantGate,
  effectiveLimits,
  MODULES,
  moduleSettings,
  overridesToStore,
  parseOrgRef,
  TIERS,
  visibleModules,
} from '@tenantry/core';
import {
  countOrgs,
  countOrgUsage,
  createOrg,
  type EntityManager,
  findAdminTenancy,
  findOpenOrgDeletion,
  findOrgById,
  findOrgBySlug,
  findOrgDeletion,
  inOrgScope,
  listOpenOrgDeletions,
  listTenantSummaries,
  type OrgRow,
  setAdminTenancy,
  type TenantSummaryRow,
  updateOrg,
} from '@tenantry/db';
import { z } from 'zod';
import type { Context } from '../context.js';
import { deletionOutput, enqueueDeletionJob, recordDeletionRequest, toDeletionOutput } from '../deletions.js';
import { auditAsOperator } from '../operator-audit.js';
import { publishOrgControl } from '../org-control.js';
import { nameInput, orgRefInput, slugInput } from '../schemas.js';
import { type CallerCtx, resolveActiveOrg } from '../tenancy.js';
import { router, superadminProcedure } from '../trpc.js';

// Admin → Tenants (SPEC §10, the tenant admin guide): every tenant of the install for the
// platform administrator. Intentionally global (no org scope of the caller), superadmins
// only; each tenant's counts are read in its own scope, and every action is written to the
// target org's audit log as an operator action.

const limitValue = (max: number) => z.number().int().min(0).max(max).nullable();

const tenantOutput = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  createdAt: z.string(),
  status: z.enum(['active', 'suspended', 'pending_deletion', 'deleting']),
  tier: z.enum(TIERS),
  isDefault: z.boolean(),
  isAdminTenancy: z.boolean(),
  /** The organization the caller is working in (YOU ARE HERE). */
  isCurrent: z.boolean(),
  members: z.number(),
  agents: z.number(),
  modules: z.array(z.enum(MODULES)),
  features: z.array(z.object({ module: z.enum(MODULES), available: z.boolean(), enabled: z.boolean() })),
  /** The limits in force (tier defaults unless overridden; null = unlimited). */
  limits: z.object({
    maxMembers: z.number().nullable(),
    maxAgents: z.number().nullable(),
    requestsPerMinute: z.number(),
  }),
  /** The per-org overrides (null = the tier's default). */
  overrides: z.object({
    maxMembers: z.number().nullable(),
    maxAgents: z.number().nullable(),
    requestsPerMinute: z.number().nullable(),
  }),
  suspendedAt: z.string().nullable(),
  deletion: z.object({ id: z.string(), status: z.string(), runAfter: z.string() }).nullable(),
});
type TenantOutput = z.infer<typeof tenantOutput>;

interface View {
  currentOrgId: string | null;
  defaultOrgId: string;
  licensedFeatures: string[];
  deletions: Map<string, { id: string; status: string; runAfter: Date }>;
}

function toTenantOutput(t: TenantSummaryRow, view: View): TenantOutput {
  const deletion = view.deletions.get(t.id);
  return {
    id: t.id,
    slug: t.slug,
    name: t.name,
    createdAt: t.createdAt.toISOString(),
    status: t.status,
    tier: t.tier,
    isDefault: t.id === view.defaultOrgId,
    isAdminTenancy: t.isAdminTenancy,
    isCurrent: t.id === view.currentOrgId,
    members: t.members,
    agents: t.agents,
    modules: visibleModules(t.status, view.licensedFeatures, t.featureOverrides),
    features: moduleSettings(view.licensedFeatures, t.featureOverrides),
    limits: effectiveLimits(t.tier, {
      maxMembers: t.maxMembers,
      maxAgents: t.maxAgents,
      requestsPerMinute: t.maxRequestsPerMinute,
    }),
    overrides: { maxMembers: t.maxMembers, maxAgents: t.maxAgents, requestsPerMinute: t.maxRequestsPerMinute },
    suspendedAt: t.suspendedAt?.toISOString() ?? null,
    deletion: deletion ? { id: deletion.id, status: deletion.status, runAfter: deletion.runAfter.toISOString() } : null,
  };
}

/** A platform administrator's request. */
type AdminCtx = Context & CallerCtx;

/** The caller's current org (YOU ARE HERE), as their next request without a path would act in. */
async function currentOrgOf(ctx: AdminCtx, em: EntityManager, licensed: boolean): Promise<string | null> {
  const access = await resolveActiveOrg(ctx, em, ctx.orgHeader, licensed);
  return access.ok ? access.org.id : null;
}

/** The org named by an id or slug, for a platform admin (who may know it exists). */
async function findTarget(em: EntityManager, raw: string): Promise<OrgRow> {
  const ref = parseOrgRef(raw);
  if (ref.kind === 'malformed') throw new DomainError('MALFORMED_ORG_ID');
  const org = ref.kind === 'id' ? await findOrgById(em, ref.id) : await findOrgBySlug(em, ref.slug);
  if (!org) throw new DomainError('ORG_NOT_FOUND');
  return org;
}

/** Non-default orgs pass the same 501/402 gate as every request for them. */
function assertTenantGate(ctx: Context, org: OrgRow, licensed: boolean): void {
  const decision = decideMultiTenantGate({
    targetsDefaultOrg: org.id === ctx.db.defaultOrgId,
    multiTenantEnabled: ctx.env.MULTI_TENANT_ENABLED,
    licensed,
  });
  if (!decision.allow) throw new DomainError(decision.code);
}

/** One tenant as the list shows it, read in its scope. */
async function tenantView(ctx: AdminCtx, em: EntityManager, org: OrgRow): Promise<TenantOutput> {
  const licensed = ctx.env.MULTI_TENANT_ENABLED ? await ctx.license.isLicensed(em) : false;
  const counts = await inOrgScope(em, org.id, () => countOrgUsage(em, org.id));
  const open = await findOpenOrgDeletion(em, org.id);
  return toTenantOutput(
    { ...org, members: counts.members, agents: counts.agents },
    {
      currentOrgId: await currentOrgOf(ctx, em, licensed),
      defaultOrgId: ctx.db.defaultOrgId,
      licensedFeatures: await ctx.license.features(em),
      deletions: new Map(open ? [[org.id, open]] : []),
    },
  );
}

/**
 * Runs an admin action on one tenant in a platform unit: finds it, applies the gate, runs
 * `change` (which audits itself) and answers the tenant as it is afterwards.
 */
async function onTenant(
  ctx: AdminCtx,
  orgRef: string,
  change: (em: EntityManager, org: OrgRow) => Promise<void>,
): Promise<TenantOutput> {
  return ctx.db.platform({ userId: ctx.user.id }, async (em) => {
    const org = await findTarget(em, orgRef);
    const licensed = ctx.env.MULTI_TENANT_ENABLED ? await ctx.license.isLicensed(em) : false;
    assertTenantGate(ctx, org, licensed);
    await change(em, org);
    const after = await findOrgById(em, org.id);
    if (!after) throw new DomainError('ORG_NOT_FOUND');
    return tenantView(ctx, em, after);
  });
}

const tenantPath = (method: 'POST' | 'PUT' | 'PATCH', suffix: string, summary: string) => ({
  openapi: { method, path: `/admin/tenants/{orgId}${suffix}` as const, tags: ['admin'], summary },
});

export const tenantsAdminRouter = router({
  /** Every tenant with its counts, badges and limits; the license's tenant allowance. */
  list: superadminProcedure
    .meta({ openapi: { method: 'GET', path: '/admin/tenants', tags: ['admin'], summary: 'List every tenant' } })
    .input(z.void())
    .output(
      z.object({
        tenants: z.array(tenantOutput),
        /** Tenants counted against the license (every org but the default one). */
        inUse: z.number(),
        maxTenants: z.number().nullable(),
        multiTenantEnabled: z.boolean(),
        licensed: z.boolean(),
      }),
    )
    .query(async ({ ctx }) =>
      ctx.db.platform({ userId: ctx.user.id }, async (em) => {
        const state = await ctx.license.state(em);
        const licensed = ctx.env.MULTI_TENANT_ENABLED ? await ctx.license.isLicensed(em) : false;
        const summaries = await listTenantSummaries(em);
        const view: View = {
          currentOrgId: await currentOrgOf(ctx, em, licensed),
          defaultOrgId: ctx.db.defaultOrgId,
          licensedFeatures: await ctx.license.features(em),
          deletions: new Map((await listOpenOrgDeletions(em)).map((d) => [d.deletedOrgId, d])),
        };
        return {
          tenants: summaries.map((s) => toTenantOutput(s, view)),
          inUse: summaries.filter((s) => s.id !== ctx.db.defaultOrgId).length,
          maxTenants: state.status === 'valid' ? (state.license?.maxTenants ?? null) : null,
          multiTenantEnabled: ctx.env.MULTI_TENANT_ENABLED,
          licensed,
        };
      }),
    ),

  /** Onboards a tenant (name + slug); the caller becomes its owner, admin-tenancy members get shadows. */
  create: superadminProcedure
    .meta({ openapi: { method: 'POST', path: '/admin/tenants', tags: ['admin'], summary: 'Create a tenant' } })
    .input(z.strictObject({ name: nameInput, slug: slugInput }))
    .output(tenantOutput)
    .mutation(async ({ ctx, input }) =>
      ctx.db.platform({ userId: ctx.user.id }, async (em) => {
        const state = await ctx.license.state(em);
        const licensed = ctx.env.MULTI_TENANT_ENABLED ? await ctx.license.isLicensed(em) : false;
        const gate = decideMultiTenantGate({
          targetsDefaultOrg: false,
          multiTenantEnabled: ctx.env.MULTI_TENANT_ENABLED,
          licensed,
        });
        if (!gate.allow) throw new DomainError(gate.code);
        checkTenantLimit({ tenants: (await countOrgs(em)) - 1, maxTenants: state.license?.maxTenants ?? null });
        if (await findOrgBySlug(em, input.slug)) throw new DomainError('SLUG_TAKEN');
        const org = await createOrg(em, {
          slug: input.slug,
          name: input.name,
          createdById: ctx.user.id,
          ownerId: ctx.user.id,
        });
        await auditAsOperator(em, org.id, ctx.user, ctx.ip, {
          action: 'org.created',
          targetType: 'organization',
          targetId: org.id,
          details: { name: org.name, slug: org.slug },
        });
        ctx.log.info({ event: 'tenant_created', orgId: org.id }, 'tenant created');
        return tenantView(ctx, em, org);
      }),
    ),

  /** Makes the org the one admin tenancy; orgs created from now on give its members shadow memberships. */
  setAdminTenancy: superadminProcedure
    .meta(tenantPath('POST', '/admin-tenancy', 'Make a tenant the admin tenancy'))
    .input(z.strictObject({ orgId: orgRefInput }))
    .output(tenantOutput)
    .mutation(({ ctx, input }) =>
      onTenant(ctx, input.orgId, async (em, org) => {
        if (org.status !== 'active')
          throw new DomainError(org.status === 'suspended' ? 'ORG_SUSPENDED' : 'ORG_DELETION_PENDING');
        const current = await findAdminTenancy(em);
        const previous = current && current.id !== org.id ? current : null;
        await setAdminTenancy(em, org.id);
        await auditAsOperator(em, org.id, ctx.user, ctx.ip, {
          action: 'org.admin_tenancy_set',
          targetType: 'organization',
          targetId: org.id,
          details: { previous: previous?.slug ?? null },
        });
        if (previous) {
          await auditAsOperator(em, previous.id, ctx.user, ctx.ip, {
            action: 'org.admin_tenancy_cleared',
            targetType: 'organization',
            targetId: previous.id,
            details: { next: org.slug },
          });
        }
      }),
    ),

  /** Replaces the org's feature overrides: `{ features: { alerts: false } }`; the license bounds them. */
  setFeatures: superadminProcedure
    .meta(tenantPath('PUT', '/features', "Set a tenant's features"))
    .input(
      z.strictObject({
        orgId: orgRefInput,
        features: z.strictObject(
          Object.fromEntries(MODULES.map((m) => [m, z.boolean().optional()])) as Record<
            (typeof MODULES)[number],
            z.ZodOptional<z.ZodBoolean>
          >,
        ),
      }),
    )
    .output(tenantOutput)
    .mutation(({ ctx, input }) =>
      onTenant(ctx, input.orgId, async (em, org) => {
        const stored = overridesToStore(await ctx.license.features(em), input.features);
        await updateOrg(em, org.id, { featureOverrides: stored });
        await auditAsOperator(em, org.id, ctx.user, ctx.ip, {
          action: 'org.features_changed',
          targetType: 'organization',
          targetId: org.id,
          details: { disabled: Object.keys(stored) },
        });
      }),
    ),

  /** Suspends the org: members still sign in, its data answers ORG_SUSPENDED, tokens and live streams stop. */
  suspend: superadminProcedure
    .meta(tenantPath('POST', '/suspend', 'Suspend a tenant'))
    .input(z.strictObject({ orgId: orgRefInput }))
    .output(tenantOutput)
    .mutation(async ({ ctx, input }) => {
      let orgId = '';
      const out = await onTenant(ctx, input.orgId, async (em, org) => {
        orgId = org.id;
        if (org.id === ctx.db.defaultOrgId) {
          throw new DomainError('DEFAULT_ORG_PROTECTED', 'The default organization cannot be suspended.');
        }
        if (org.isAdminTenancy) {
          throw new DomainError(
            'ADMIN_TENANCY_PROTECTED',
            'The admin tenancy cannot be suspended: make another organization the admin tenancy first.',
          );
        }
        if (org.status === 'pending_deletion' || org.status === 'deleting') {
          throw new DomainError('ORG_DELETION_IN_PROGRESS');
        }
        if (org.status === 'suspended') return;
        await updateOrg(em, org.id, { status: 'suspended', suspendedAt: new Date() });
        await auditAsOperator(em, org.id, ctx.user, ctx.ip, {
          action: 'org.suspended',
          targetType: 'organization',
          targetId: org.id,
        });
      });
      await publishOrgControl(ctx.redis, ctx.log, orgId, 'suspended');
      ctx.log.info({ event: 'tenant_suspended', orgId }, 'tenant suspended');
      return out;
    }),

  /** Resumes a suspended org: everything it had works again. */
  resume: superadminProcedure
    .meta(tenantPath('POST', '/resume', 'Resume a suspended tenant'))
    .input(z.strictObject({ orgId: orgRefInput }))
    .output(tenantOutput)
    .mutation(async ({ ctx, input }) => {
      let orgId = '';
      let resumed = false;
      const out = await onTenant(ctx, input.orgId, async (em, org) => {
        orgId = org.id;
        if (org.status === 'pending_deletion' || org.status === 'deleting') {
          throw new DomainError('ORG_DELETION_IN_PROGRESS');
        }
        if (org.status !== 'suspended') return;
        resumed = true;
        await updateOrg(em, org.id, { status: 'active', suspendedAt: null });
        await auditAsOperator(em, org.id, ctx.user, ctx.ip, {
          action: 'org.resumed',
          targetType: 'organization',
          targetId: org.id,
        });
      });
      if (resumed) await publishOrgControl(ctx.redis, ctx.log, orgId, 'resumed');
      return out;
    }),

  /** Plan and per-org limits: tier, maxMembers, maxAgents, requestsPerMinute (null = the tier's default). */
  setLimits: superadminProcedure
    .meta(tenantPath('PATCH', '/limits', "Change a tenant's plan and limits"))
    .input(
      z.strictObject({
        orgId: orgRefInput,
        tier: z.enum(TIERS).optional(),
        maxMembers: limitValue(1_000_000).optional(),
        maxAgents: limitValue(1_000_000).optional(),
        requestsPerMinute: z.number().int().min(1).max(10_000_000).nullable().optional(),
      }),
    )
    .output(tenantOutput)
    .mutation(({ ctx, input }) =>
      onTenant(ctx, input.orgId, async (em, org) => {
        const patch = {
          tier: input.tier,
          maxMembers: input.maxMembers,
          maxAgents: input.maxAgents,
          maxRequestsPerMinute: input.requestsPerMinute,
        };
        await updateOrg(em, org.id, patch);
        await auditAsOperator(em, org.id, ctx.user, ctx.ip, {
          action: 'org.limits_changed',
          targetType: 'organization',
          targetId: org.id,
          details: Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)),
        });
      }),
    ),

  /** Deletes a tenant (type its slug in `confirm`); answers 202 with the deletion to follow. */
  remove: superadminProcedure
    .meta({
      openapi: {
        method: 'DELETE',
        path: '/admin/tenants/{orgId}',
        tags: ['admin'],
        summary: 'Delete a tenant',
        description:
          'Type the slug in `confirm`. Refused for the default org, the admin tenancy and your current org. Answers 202; follow it at GET /api/admin/deletions/{deletionId}.',
      },
    })
    .input(z.strictObject({ orgId: orgRefInput, confirm: z.string().max(100) }))
    .output(z.object({ deletionId: z.string(), runAfter: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const deletion = await ctx.db.platform({ userId: ctx.user.id }, async (em) => {
        const org = await findTarget(em, input.orgId);
        const licensed = ctx.env.MULTI_TENANT_ENABLED ? await ctx.license.isLicensed(em) : false;
        assertTenantGate(ctx, org, licensed);
        const recorded = await recordDeletionRequest(em, {
          org,
          confirm: input.confirm,
          requestedById: ctx.user.id,
          requestedAs: 'platform_admin',
          isCurrent: (await currentOrgOf(ctx, em, licensed)) === org.id,
          defaultOrgId: ctx.db.defaultOrgId,
          graceMs: ctx.env.DELETION_GRACE,
        });
        await auditAsOperator(em, org.id, ctx.user, ctx.ip, {
          action: 'org.deletion_requested',
          targetType: 'organization',
          targetId: org.id,
          details: { deletionId: recorded.id, runAfter: recorded.runAfter.toISOString() },
        });
        return recorded;
      });
      await publishOrgControl(ctx.redis, ctx.log, deletion.deletedOrgId, 'deleted');
      await enqueueDeletionJob(ctx.queues, ctx.log, deletion);
      ctx.log.info(
        { event: 'tenant_deletion_requested', orgId: deletion.deletedOrgId, deletionId: deletion.id },
        'tenant deletion requested',
      );
      return { deletionId: deletion.id, runAfter: deletion.runAfter.toISOString() };
    }),
});

export const deletionsAdminRouter = router({
  /** A deletion's step, per-table progress and, once done, its report. */
  byId: superadminProcedure
    .meta({
      openapi: { method: 'GET', path: '/admin/deletions/{deletionId}', tags: ['admin'], summary: 'Follow a deletion' },
    })
    .input(z.strictObject({ deletionId: z.uuid() }))
    .output(deletionOutput)
    .query(({ ctx, input }) =>
      ctx.db.platform({ userId: ctx.user.id }, async (em) => {
        const deletion = await findOrgDeletion(em, input.deletionId);
        if (!deletion) throw new DomainError('DELETION_NOT_FOUND');
        return toDeletionOutput(em, deletion);
      }),
    ),
});
