import {
  assertCanLeave,
  assertCanTransferOwnership,
  canPlatform,
  checkTenantLimit,
  DomainError,
  isCurrentOrg,
  SLUG_MAX,
  slugify,
} from '@tenantry/core';
import {
  appendAuditEvent,
  countOrgs,
  countOwners,
  createOrg,
  type EntityManager,
  findMembership,
  findOrgBySlug,
  inOrgScope,
  listOrgSummariesOfUser,
  listOrgsOfUser,
  removeMembership,
  setSessionActiveOrg,
  setUserDefaultOrg,
  updateMembershipRole,
  updateOrg,
} from '@tenantry/db';
import { z } from 'zod';
import { auditActor } from '../audit.js';
import { enqueueDeletionJob, recordDeletionRequest } from '../deletions.js';
import { publishOrgControl } from '../org-control.js';
import {
  descriptionInput,
  emailInput,
  logoUrlInput,
  nameInput,
  okOutput,
  orgDetailOutput,
  orgListItemOutput,
  orgRefInput,
  orgSummaryOutput,
  slugInput,
  toOrgDetail,
  userIdInput,
} from '../schemas.js';
import { reachableOrgs } from '../tenancy.js';
import { orgCollectionProcedure, orgProcedure, requirePermission, router } from '../trpc.js';

/** A free slug derived from the name: `acme`, then `acme-2`, `acme-3`, … */
async function freeSlugFor(em: EntityManager, name: string): Promise<string> {
  const base = slugify(name);
  for (let n = 1; n < 100; n++) {
    const suffix = n === 1 ? '' : `-${n}`;
    const candidate = `${base.slice(0, SLUG_MAX - suffix.length).replace(/-+$/, '')}${suffix}`;
    if (!(await findOrgBySlug(em, candidate))) return candidate;
  }
  throw new DomainError('SLUG_TAKEN', 'Every slug derived from that name is taken: choose a slug.');
}

/** After a user leaves `orgId`: their landing org moves to another of theirs (or none). */
async function repointDefaultOrg(em: EntityManager, userId: string, leftOrgId: string, defaultOrgId: string) {
  const remaining = (await listOrgsOfUser(em, userId)).filter((o) => o.id !== leftOrgId);
  const next =
    remaining.find((o) => o.id === defaultOrgId && !o.isShadow) ??
    remaining.find((o) => !o.isShadow) ??
    remaining[0] ??
    null;
  await setUserDefaultOrg(em, userId, next?.id ?? null);
}

const orgIdOnly = z.strictObject({ orgId: orgRefInput });

export const orgsRouter = router({
  /** Every org the caller belongs to (shadow memberships included). */
  list: orgCollectionProcedure
    .meta({ openapi: { method: 'GET', path: '/orgs', tags: ['orgs'], summary: 'List my organizations' } })
    .input(z.void())
    .output(z.object({ orgs: z.array(orgListItemOutput) }))
    .query(async ({ ctx }) => {
      const orgs = await ctx.db.platform({ userId: ctx.user.id }, async (em) =>
        reachableOrgs(em, ctx, await listOrgSummariesOfUser(em, ctx.user.id)),
      );
      return {
        orgs: orgs.map((o) => ({
          id: o.id,
          slug: o.slug,
          name: o.name,
          description: o.description,
          role: o.role,
          isShadow: o.isShadow,
          isDefault: o.id === ctx.db.defaultOrgId,
        })),
      };
    }),

  /** Creates an org; the creator becomes its owner. */
  create: orgCollectionProcedure
    .meta({ openapi: { method: 'POST', path: '/orgs', tags: ['orgs'], summary: 'Create an organization' } })
    .input(z.strictObject({ name: nameInput, slug: slugInput.optional(), description: descriptionInput.optional() }))
    .output(orgDetailOutput)
    .mutation(async ({ ctx, input }) => {
      if (ctx.env.ORG_CREATION === 'superadmin' && !canPlatform(ctx.user.platformRole, 'tenants.manage')) {
        throw new DomainError('ORG_CREATION_RESTRICTED');
      }
      const license = await ctx.license.state();
      const org = await ctx.db.platform({ userId: ctx.user.id }, async (em) => {
        // The default org is not a tenant the license counts.
        checkTenantLimit({ tenants: (await countOrgs(em)) - 1, maxTenants: license.license?.maxTenants ?? null });
        let slug: string;
        if (input.slug) {
          if (await findOrgBySlug(em, input.slug)) throw new DomainError('SLUG_TAKEN');
          slug = input.slug;
        } else {
          slug = await freeSlugFor(em, input.name);
        }
        const created = await createOrg(em, {
          slug,
          name: input.name,
          description: input.description || null,
          createdById: ctx.user.id,
          ownerId: ctx.user.id,
        });
        if (!ctx.user.defaultOrgId) await setUserDefaultOrg(em, ctx.user.id, created.id);
        // The new org's log starts with its creation, written in its own scope.
        await inOrgScope(em, created.id, () =>
          appendAuditEvent(em, created.id, {
            ...auditActor(ctx.actor, ctx.user, null),
            ip: ctx.ip,
            action: 'org.created',
            targetType: 'org',
            targetId: created.id,
            details: { slug: created.slug, name: created.name },
          }),
        );
        return created;
      });
      ctx.log.info({ event: 'org_created', orgId: org.id, userId: ctx.user.id }, 'organization created');
      return toOrgDetail(org, 'owner', ctx.db.defaultOrgId);
    }),

  /** One org the caller belongs to. */
  byId: orgProcedure
    .meta({
      openapi: { method: 'GET', path: '/orgs/{orgId}', tags: ['orgs'], summary: 'Get an organization' },
      allowInactiveOrg: true,
    })
    .input(orgIdOnly)
    .output(orgDetailOutput)
    .query(({ ctx }) => toOrgDetail(ctx.org, ctx.membership.role, ctx.db.defaultOrgId)),

  /** Name, description, logo, billing email. The default org keeps its name. */
  update: orgProcedure
    .use(requirePermission('org.update'))
    .meta({
      openapi: { method: 'PATCH', path: '/orgs/{orgId}', tags: ['orgs'], summary: 'Update an organization' },
      audit: 'org.updated',
    })
    .input(
      z.strictObject({
        orgId: orgRefInput,
        name: nameInput.optional(),
        description: descriptionInput.nullable().optional(),
        logoUrl: logoUrlInput.nullable().optional(),
        billingEmail: emailInput.nullable().optional(),
      }),
    )
    .output(orgDetailOutput)
    .mutation(async ({ ctx, input }) => {
      const isDefault = ctx.org.id === ctx.db.defaultOrgId;
      if (isDefault && input.name !== undefined && input.name !== ctx.org.name) {
        throw new DomainError(
          'DEFAULT_ORG_PROTECTED',
          'The default organization cannot be renamed; its other details can change.',
        );
      }
      const updated = await updateOrg(ctx.em, ctx.org.id, {
        name: input.name,
        description: input.description === undefined ? undefined : input.description || null,
        logoUrl: input.logoUrl,
        billingEmail: input.billingEmail,
      });
      if (!updated) throw new DomainError('NOT_FOUND');
      return toOrgDetail(updated, ctx.membership.role, ctx.db.defaultOrgId);
    }),

  /**
   * Deletes the org for good (type its slug in `confirm`), as a background job; answers 202
   * with the deletion to follow. With DELETION_GRACE the org waits in `pending_deletion` and
   * can be restored until then.
   */
  remove: orgProcedure
    .use(requirePermission('org.delete'))
    .meta({
      openapi: {
        method: 'DELETE',
        path: '/orgs/{orgId}',
        tags: ['orgs'],
        summary: 'Delete an organization',
        description:
          'Type the slug in `confirm`. Refused for the default org, the admin tenancy and your current org. Answers 202; follow it at GET /api/deletions/{deletionId}.',
      },
      audit: false,
    })
    .input(z.strictObject({ orgId: orgRefInput, confirm: z.string().max(100) }))
    .output(z.object({ deletionId: z.string(), runAfter: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const isCurrent = isCurrentOrg(
        ctx.org,
        {
          header: ctx.orgHeader,
          sessionOrgId: ctx.session?.activeOrgId ?? null,
          userDefaultOrgId: ctx.user.defaultOrgId,
          multiTenantEnabled: ctx.env.MULTI_TENANT_ENABLED,
        },
        ctx.db.defaultOrgId,
      );
      const deletion = await recordDeletionRequest(ctx.em, {
        org: ctx.org,
        confirm: input.confirm,
        requestedById: ctx.user.id,
        requestedAs: 'owner',
        isCurrent,
        defaultOrgId: ctx.db.defaultOrgId,
        graceMs: ctx.env.DELETION_GRACE,
      });
      await ctx.audit({
        action: 'org.deletion_requested',
        targetType: 'organization',
        targetId: ctx.org.id,
        details: { deletionId: deletion.id, runAfter: deletion.runAfter.toISOString() },
      });
      ctx.afterCommit(async () => {
        await publishOrgControl(ctx.redis, ctx.log, deletion.deletedOrgId, 'deleted');
        await enqueueDeletionJob(ctx.queues, ctx.log, deletion);
      });
      ctx.log.info(
        { event: 'org_deletion_requested', orgId: ctx.org.id, deletionId: deletion.id },
        'deletion requested',
      );
      return { deletionId: deletion.id, runAfter: deletion.runAfter.toISOString() };
    }),

  /** Makes this org the session's active org. */
  switch: orgProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/orgs/{orgId}/switch',
        tags: ['orgs'],
        summary: 'Switch the active organization',
      },
      allowInactiveOrg: true,
      audit: false,
    })
    .input(orgIdOnly)
    .output(z.object({ activeOrg: orgSummaryOutput }))
    .mutation(async ({ ctx }) => {
      if (!ctx.session)
        throw new DomainError('VALIDATION_FAILED', 'Switching applies to browser sessions; send X-Org-Id instead.');
      await setSessionActiveOrg(ctx.em, ctx.session.id, ctx.org.id);
      return { activeOrg: { id: ctx.org.id, slug: ctx.org.slug, name: ctx.org.name } };
    }),

  /** The target member becomes owner and the caller becomes admin. */
  transferOwnership: orgProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/orgs/{orgId}/transfer-ownership',
        tags: ['orgs'],
        summary: 'Transfer ownership',
      },
      audit: 'org.ownership_transferred',
    })
    .input(z.strictObject({ orgId: orgRefInput, userId: userIdInput }))
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      assertCanTransferOwnership({ actorRole: ctx.membership.role, isSelf: input.userId === ctx.user.id });
      const target = await findMembership(ctx.em, ctx.org.id, input.userId);
      if (!target || target.isShadow) throw new DomainError('MEMBER_NOT_FOUND');
      await updateMembershipRole(ctx.em, ctx.org.id, target.userId, 'owner');
      await updateMembershipRole(ctx.em, ctx.org.id, ctx.user.id, 'admin');
      ctx.log.info({ event: 'ownership_transferred', orgId: ctx.org.id, to: target.userId }, 'ownership transferred');
      return { ok: true as const };
    }),

  /** Leaves the org; the last owner must transfer ownership first. */
  leave: orgProcedure
    .meta({
      openapi: { method: 'POST', path: '/orgs/{orgId}/leave', tags: ['orgs'], summary: 'Leave an organization' },
      allowInactiveOrg: true,
      audit: 'member.left',
    })
    .input(orgIdOnly)
    .output(okOutput)
    .mutation(async ({ ctx }) => {
      assertCanLeave({ role: ctx.membership.role, ownerCount: await countOwners(ctx.em, ctx.org.id) });
      await removeMembership(ctx.em, ctx.org.id, ctx.user.id);
      if (ctx.session?.activeOrgId === ctx.org.id) await setSessionActiveOrg(ctx.em, ctx.session.id, null);
      if (ctx.user.defaultOrgId === ctx.org.id) {
        await repointDefaultOrg(ctx.em, ctx.user.id, ctx.org.id, ctx.db.defaultOrgId);
      }
      return { ok: true as const };
    }),
});

export { repointDefaultOrg };
