import {
  assertCanAddMember,
  assertCanChangeRole,
  assertCanRemoveMember,
  checkMemberLimit,
  DomainError,
  effectiveLimits,
} from '@tenantry/core';
import {
  addMembership,
  countActiveMembers,
  countOwners,
  findMembership,
  findUserByEmail,
  findUserById,
  listMembers,
  removeMembership,
  setSessionActiveOrg,
  setUserDefaultOrg,
  updateMembershipRole,
} from '@tenantry/db';
import { z } from 'zod';
import { emailInput, memberOutput, okOutput, orgRefInput, roleInput, toMemberOutput, userIdInput } from '../schemas.js';
import { orgProcedure, requirePermission, router } from '../trpc.js';
import { repointDefaultOrg } from './orgs.js';

const memberPath = z.strictObject({ orgId: orgRefInput, userId: userIdInput });

export const membersRouter = router({
  /** Visible members (shadow memberships of the admin tenancy are not listed). */
  list: orgProcedure
    .use(requirePermission('members.read'))
    .meta({ openapi: { method: 'GET', path: '/orgs/{orgId}/members', tags: ['members'], summary: 'List members' } })
    .input(z.strictObject({ orgId: orgRefInput }))
    .output(z.object({ members: z.array(memberOutput) }))
    .query(async ({ ctx }) => ({ members: (await listMembers(ctx.em, ctx.org.id)).map(toMemberOutput) })),

  /** Adds an existing user, by id or email. */
  add: orgProcedure
    .use(requirePermission('members.add'))
    .meta({
      openapi: { method: 'POST', path: '/orgs/{orgId}/members', tags: ['members'], summary: 'Add a member' },
      audit: 'member.added',
    })
    .input(
      z
        .strictObject({
          orgId: orgRefInput,
          userId: userIdInput.optional(),
          email: emailInput.optional(),
          role: roleInput,
        })
        .refine((v) => (v.userId === undefined) !== (v.email === undefined), {
          message: 'Give either userId or email of an existing user.',
          path: ['userId'],
        }),
    )
    .output(memberOutput)
    .mutation(async ({ ctx, input }) => {
      assertCanAddMember({ actorRole: ctx.membership.role, role: input.role });
      const user = input.userId
        ? await findUserById(ctx.em, input.userId)
        : await findUserByEmail(ctx.em, input.email!);
      if (!user) throw new DomainError('USER_NOT_FOUND');
      if (await findMembership(ctx.em, ctx.org.id, user.id)) throw new DomainError('ALREADY_MEMBER');
      const limit = effectiveLimits(ctx.org.tier, { maxMembers: ctx.org.maxMembers }).maxMembers;
      checkMemberLimit({ members: await countActiveMembers(ctx.em, ctx.org.id), pending: 0, limit });
      const membership = await addMembership(ctx.em, {
        orgId: ctx.org.id,
        userId: user.id,
        role: input.role,
        addedById: ctx.user.id,
      });
      // Someone without a landing org lands in the first org they are added to.
      if (!user.defaultOrgId) await setUserDefaultOrg(ctx.em, user.id, ctx.org.id);
      ctx.log.info({ event: 'member_added', orgId: ctx.org.id, memberId: user.id, role: input.role }, 'member added');
      return toMemberOutput({ ...membership, email: user.email, name: user.name });
    }),

  /** Changes a member's role; only owners grant or take away ownership, and one owner remains. */
  updateRole: orgProcedure
    .use(requirePermission('members.update'))
    .meta({
      openapi: {
        method: 'PATCH',
        path: '/orgs/{orgId}/members/{userId}',
        tags: ['members'],
        summary: "Change a member's role",
      },
      audit: 'member.role_changed',
    })
    .input(memberPath.extend({ role: roleInput }))
    .output(memberOutput)
    .mutation(async ({ ctx, input }) => {
      const target = await findMembership(ctx.em, ctx.org.id, input.userId);
      if (!target || target.isShadow) throw new DomainError('MEMBER_NOT_FOUND');
      assertCanChangeRole({
        actorRole: ctx.membership.role,
        targetRole: target.role,
        newRole: input.role,
        ownerCount: await countOwners(ctx.em, ctx.org.id),
      });
      const updated = await updateMembershipRole(ctx.em, ctx.org.id, target.userId, input.role);
      const user = await findUserById(ctx.em, target.userId);
      if (!updated || !user) throw new DomainError('MEMBER_NOT_FOUND');
      return toMemberOutput({ ...updated, email: user.email, name: user.name });
    }),

  /** Removes a member (removing oneself is leaving). */
  remove: orgProcedure
    .meta({
      openapi: {
        method: 'DELETE',
        path: '/orgs/{orgId}/members/{userId}',
        tags: ['members'],
        summary: 'Remove a member',
      },
      audit: 'member.removed',
    })
    .input(memberPath)
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      const isSelf = input.userId === ctx.user.id;
      const target = isSelf ? ctx.membership : await findMembership(ctx.em, ctx.org.id, input.userId);
      if (!target || target.isShadow) {
        // Do not reveal who is a member to callers who may not manage members.
        assertCanRemoveMember({ actorRole: ctx.membership.role, targetRole: 'viewer', ownerCount: 2, isSelf });
        throw new DomainError('MEMBER_NOT_FOUND');
      }
      assertCanRemoveMember({
        actorRole: ctx.membership.role,
        targetRole: target.role,
        ownerCount: await countOwners(ctx.em, ctx.org.id),
        isSelf,
      });
      await removeMembership(ctx.em, ctx.org.id, target.userId);
      if (isSelf) {
        if (ctx.session?.activeOrgId === ctx.org.id) await setSessionActiveOrg(ctx.em, ctx.session.id, null);
        if (ctx.user.defaultOrgId === ctx.org.id)
          await repointDefaultOrg(ctx.em, ctx.user.id, ctx.org.id, ctx.db.defaultOrgId);
      } else {
        const user = await findUserById(ctx.em, target.userId);
        // Their other memberships are outside this org's scope: the landing org falls back to
        // the default org (and their sessions fall back on their next request).
        if (user?.defaultOrgId === ctx.org.id) await setUserDefaultOrg(ctx.em, user.id, null);
      }
      ctx.log.info({ event: 'member_removed', orgId: ctx.org.id, memberId: target.userId }, 'member removed');
      return { ok: true as const };
    }),
});
