import { DomainError, orgResourcesChannel, RESOURCE_TYPES, SHARE_ROLES, shareAllowsReshare } from '@tenantry/core';
import {
  createIncomingShare,
  createShare,
  deleteShares,
  findIncomingShareOf,
  findOrgById,
  findOwnResources,
  findShare,
  findVisibleResource,
  inOrgScope,
  listIncomingShares,
  listShares,
  ShareExistsError,
  type ShareRow,
} from '@tenantry/db';
import { z } from 'zod';
import {
  adminSharesByTarget,
  publishFanout,
  removeFanout,
  removeResharesThrough,
  toResourceOutput,
} from '../resource-events.js';
import { okOutput, orgRefInput } from '../schemas.js';
import { orgProcedure, requireModule, requirePermission, router } from '../trpc.js';

// Sharing (SPEC §8, Pulse's API): an org shares one of its resources with another org as
// viewer, editor or admin; an admin share may be shared on once. The granting org's `shares`
// row and the receiving org's `incoming_shares` row are written in their own org's scope.

const sharesProcedure = orgProcedure.use(requireModule('sharing'));

const shareOutput = z.object({
  id: z.string(),
  targetOrgId: z.string(),
  targetOrgName: z.string(),
  resourceOrgId: z.string(),
  resourceId: z.string(),
  resourceType: z.enum(RESOURCE_TYPES),
  resourceName: z.string().nullable(),
  role: z.enum(SHARE_ROLES),
  createdAt: z.string(),
});

const incomingOutput = z.object({
  id: z.string(),
  grantingOrgId: z.string(),
  grantingOrgName: z.string(),
  resourceOrgId: z.string(),
  resourceId: z.string(),
  resourceType: z.enum(RESOURCE_TYPES),
  resourceName: z.string().nullable(),
  role: z.enum(SHARE_ROLES),
  createdAt: z.string(),
});

function toShareOutput(s: ShareRow) {
  return {
    id: s.id,
    targetOrgId: s.targetOrgId,
    targetOrgName: s.targetOrgName,
    resourceOrgId: s.resourceOrgId,
    resourceId: s.resourceId,
    resourceType: s.resourceType,
    resourceName: s.resourceName,
    role: s.role,
    createdAt: s.createdAt.toISOString(),
  };
}

export const sharesRouter = router({
  list: sharesProcedure
    .use(requirePermission('shares.read'))
    .meta({ openapi: { method: 'GET', path: '/orgs/{orgId}/shares', tags: ['sharing'], summary: 'Outgoing shares' } })
    .input(z.strictObject({ orgId: orgRefInput }))
    .output(z.object({ shares: z.array(shareOutput) }))
    .query(async ({ ctx }) => ({ shares: (await listShares(ctx.em, ctx.org.id)).map(toShareOutput) })),

  incoming: sharesProcedure
    .use(requirePermission('shares.read'))
    .meta({
      openapi: { method: 'GET', path: '/orgs/{orgId}/shares/incoming', tags: ['sharing'], summary: 'Incoming shares' },
    })
    .input(z.strictObject({ orgId: orgRefInput }))
    .output(z.object({ shares: z.array(incomingOutput) }))
    .query(async ({ ctx }) => ({
      shares: (await listIncomingShares(ctx.em, ctx.org.id)).map((s) => ({
        ...s,
        createdAt: s.createdAt.toISOString(),
      })),
    })),

  /**
   * Shares a resource with another org. The server re-checks that the resource is the org's
   * own (whatever `resourceType` says), or — for a re-share — that the org holds an admin share
   * of it straight from its owner.
   */
  create: sharesProcedure
    .use(requirePermission('shares.create'))
    .meta({
      openapi: { method: 'POST', path: '/orgs/{orgId}/shares', tags: ['sharing'], summary: 'Share a resource' },
      audit: false,
    })
    .input(
      z.strictObject({
        orgId: orgRefInput,
        targetOrgId: z.uuid(),
        resourceType: z.enum(RESOURCE_TYPES),
        resourceId: z.uuid(),
        role: z.enum(SHARE_ROLES),
      }),
    )
    .output(shareOutput)
    .mutation(async ({ ctx, input }) => {
      const orgId = ctx.org.id;
      const [own] = await findOwnResources(ctx.em, orgId, [input.resourceId]);
      let resourceOrgId = orgId;
      let parentShareId: string | null = null;
      let resourceName: string;
      if (own) {
        if (own.type !== input.resourceType) throw new DomainError('RESOURCE_NOT_FOUND');
        resourceName = own.name;
      } else {
        const incoming = await findIncomingShareOf(ctx.em, orgId, input.resourceId);
        const visible = incoming ? await findVisibleResource(ctx.em, orgId, input.resourceId) : null;
        if (!incoming || !visible || visible.type !== input.resourceType) throw new DomainError('RESOURCE_NOT_FOUND');
        // Shared on once: only an admin share straight from the owner.
        if (!shareAllowsReshare(incoming.role) || incoming.grantingOrgId !== incoming.resourceOrgId) {
          throw new DomainError(
            'SHARE_ROLE_INSUFFICIENT',
            'Only an admin share from the owner of a resource may be shared on.',
          );
        }
        resourceOrgId = incoming.resourceOrgId;
        parentShareId = incoming.shareId;
        resourceName = visible.name;
      }
      if (input.targetOrgId === orgId || input.targetOrgId === resourceOrgId)
        throw new DomainError('SHARE_TARGET_INVALID');
      const target = await findOrgById(ctx.em, input.targetOrgId);
      if (!target || target.status === 'deleting') {
        throw new DomainError('SHARE_TARGET_INVALID', 'No organization with that id exists on this server.');
      }
      let id: string;
      try {
        id = await createShare(ctx.em, {
          orgId,
          targetOrgId: target.id,
          resourceOrgId,
          resourceId: input.resourceId,
          resourceType: input.resourceType,
          role: input.role,
          parentShareId,
          createdById: ctx.user.id,
        });
      } catch (error) {
        if (error instanceof ShareExistsError) throw new DomainError('SHARE_EXISTS');
        throw error;
      }
      await ctx.audit({
        action: 'share.created',
        targetType: 'share',
        targetId: id,
        details: { resourceId: input.resourceId, resource: resourceName, targetOrgId: target.id, role: input.role },
      });
      // The receiving side is written in the receiving org's scope, in the same transaction;
      // the receiving org's open pages get the resource once it has committed.
      const row = await inOrgScope(ctx.em, target.id, async () => {
        await createIncomingShare(ctx.em, {
          orgId: target.id,
          shareId: id,
          grantingOrgId: orgId,
          resourceOrgId,
          resourceId: input.resourceId,
          resourceType: input.resourceType,
          role: input.role,
        });
        return findVisibleResource(ctx.em, target.id, input.resourceId);
      });
      ctx.afterCommit(async () => {
        if (row) {
          await publishFanout(ctx.live, ctx.log, [
            {
              channel: orgResourcesChannel(target.id),
              message: JSON.stringify({ kind: 'upsert', resource: toResourceOutput(row) }),
            },
          ]);
        }
      });
      const created = await findShare(ctx.em, orgId, id);
      return toShareOutput({ ...created!, targetOrgName: target.name, resourceName });
    }),

  /** Removes a share (and re-shares made through it): the receiving orgs lose the resource at once. */
  remove: sharesProcedure
    .use(requirePermission('shares.remove'))
    .meta({
      openapi: {
        method: 'DELETE',
        path: '/orgs/{orgId}/shares/{shareId}',
        tags: ['sharing'],
        summary: 'Remove a share',
      },
      audit: false,
    })
    .input(z.strictObject({ orgId: orgRefInput, shareId: z.uuid() }))
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      const orgId = ctx.org.id;
      const deleted = await deleteShares(ctx.em, orgId, { shareIds: [input.shareId] });
      const share = deleted[0];
      if (!share) throw new DomainError('SHARE_NOT_FOUND');
      await ctx.audit({
        action: 'share.removed',
        targetType: 'share',
        targetId: share.id,
        details: { resourceId: share.resourceId, targetOrgId: share.targetOrgId, role: share.role },
      });
      const reshares = await removeResharesThrough(ctx.em, adminSharesByTarget(deleted));
      const removals = [share, ...reshares].map((s) => ({ orgId: s.targetOrgId, resourceId: s.resourceId }));
      ctx.afterCommit(() => publishFanout(ctx.live, ctx.log, removeFanout(share.resourceOrgId, removals)));
      return { ok: true as const };
    }),
});
