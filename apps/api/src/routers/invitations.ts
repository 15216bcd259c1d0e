import {
  assertCanAddMember,
  assertInvitationPending,
  DomainError,
  ERRORS,
  invitationStatus,
  MAX_INVITATIONS_PER_REQUEST,
} from '@tenantry/core';
import {
  findInvitation,
  findOrgById,
  findUserById,
  type InvitationRow,
  listInvitations,
  revokeInvitation,
  setSessionActiveOrg,
} from '@tenantry/db';
import { z } from 'zod';
import {
  assertInvitationOrgOpen,
  beginInvitationAttempt,
  invitationTokenInput,
  joinThroughInvitation,
} from '../invitation-acceptance.js';
import { dropWaitingMail, type InvitationOutcome, inviteMany, resendInvitation } from '../invitation-sending.js';
import { parseInvitationToken, tokenMatches } from '../invitation-tokens.js';
import { emailInput, okOutput, orgRefInput, roleInput } from '../schemas.js';
import { authedProcedure, orgProcedure, publicProcedure, requirePermission, requireSession, router } from '../trpc.js';

export { newInvitationToken, parseInvitationToken } from '../invitation-tokens.js';

const invitationOutput = z.object({
  id: z.string(),
  email: z.string(),
  role: z.string(),
  status: z.enum(['pending', 'accepted', 'revoked', 'expired']),
  deliveryState: z.enum(['queued', 'sent', 'failed']),
  /** Delivery attempts of the current send so far. */
  deliveryAttempts: z.number(),
  /** The SMTP error of the last failed attempt, if any. */
  lastDeliveryError: z.string().nullable(),
  sendCount: z.number(),
  expiresAt: z.string(),
  sentAt: z.string().nullable(),
  createdAt: z.string(),
  invitedById: z.string().nullable(),
});

function toInvitationOutput(row: InvitationRow): z.infer<typeof invitationOutput> {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    status: invitationStatus(row),
    deliveryState: row.deliveryState,
    deliveryAttempts: row.deliveryAttempts,
    lastDeliveryError: row.lastDeliveryError,
    sendCount: row.sendCount,
    expiresAt: row.expiresAt.toISOString(),
    sentAt: row.sentAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    invitedById: row.invitedById,
  };
}

const invitationPath = z.strictObject({ orgId: orgRefInput, invitationId: z.uuid() });
const tokenInput = z.strictObject({ token: invitationTokenInput });
const joinedOutput = z.object({ orgId: z.string(), slug: z.string(), name: z.string(), role: z.string() });

/** One person of a bulk invitation: validated as the single `create` validates its input. */
const invitationItemInput = z.strictObject({ email: emailInput, role: roleInput });

const batchOutcomeOutput = z.discriminatedUnion('outcome', [
  z.object({ index: z.number().int(), email: z.string(), outcome: z.literal('created'), invitation: invitationOutput }),
  z.object({ index: z.number().int(), email: z.string(), outcome: z.literal('resent'), invitation: invitationOutput }),
  z.object({
    index: z.number().int(),
    email: z.string(),
    outcome: z.literal('skipped'),
    code: z.literal('ALREADY_MEMBER'),
    message: z.string(),
  }),
]);

function toBatchOutcome(outcome: InvitationOutcome): z.infer<typeof batchOutcomeOutput> {
  if (outcome.outcome === 'skipped') return { ...outcome, message: ERRORS.ALREADY_MEMBER.message };
  return { ...outcome, invitation: toInvitationOutput(outcome.invitation) };
}

export const invitationsRouter = router({
  list: orgProcedure
    .use(requirePermission('invitations.read'))
    .meta({
      openapi: { method: 'GET', path: '/orgs/{orgId}/invitations', tags: ['invitations'], summary: 'List invitations' },
    })
    .input(z.strictObject({ orgId: orgRefInput }))
    .output(z.object({ invitations: z.array(invitationOutput) }))
    .query(async ({ ctx }) => ({
      invitations: (await listInvitations(ctx.em, ctx.org.id)).map(toInvitationOutput),
    })),

  /** Invites an email; a pending invitation of the same email is resent instead. */
  create: orgProcedure
    .use(requirePermission('invitations.create'))
    .meta({
      openapi: { method: 'POST', path: '/orgs/{orgId}/invitations', tags: ['invitations'], summary: 'Invite' },
    })
    .input(z.strictObject({ orgId: orgRefInput, email: emailInput, role: roleInput }))
    .output(invitationOutput)
    .mutation(async ({ ctx, input }) => {
      const { outcomes } = await inviteMany(ctx, [{ email: input.email, role: input.role }]);
      const [outcome] = outcomes;
      if (!outcome || outcome.outcome === 'skipped') throw new DomainError('ALREADY_MEMBER');
      return toInvitationOutput(outcome.invitation);
    }),

  /**
   * Invites up to 500 people at once, each as `create` would: one outcome per distinct email
   * (created, resent, or skipped as a member). All or nothing: a role the caller may not grant
   * or new invitations beyond the member limit refuse the whole request.
   */
  createMany: orgProcedure
    .use(requirePermission('invitations.create'))
    .meta({
      audit: false,
      openapi: {
        method: 'POST',
        path: '/orgs/{orgId}/invitations/bulk',
        tags: ['invitations'],
        summary: `Invite several people (up to ${MAX_INVITATIONS_PER_REQUEST})`,
        description:
          'Each email is invited as POST /orgs/{orgId}/invitations does: members are skipped (ALREADY_MEMBER), pending invitations resent, the rest created. Emails are normalized and de-duplicated; a role above yours (OWNERSHIP_REQUIRED) or more new invitations than the member limit leaves room for (LIMIT_REACHED) refuses the whole request, and nothing is written.',
      },
    })
    .input(
      z.strictObject({
        orgId: orgRefInput,
        invitations: z.array(invitationItemInput).min(1).max(MAX_INVITATIONS_PER_REQUEST),
      }),
    )
    .output(
      z.object({
        /** One per distinct email, in request order; `index` is its first position in the request. */
        results: z.array(batchOutcomeOutput),
        created: z.number().int(),
        resent: z.number().int(),
        skipped: z.number().int(),
        /** Items that repeated an email of the request. */
        duplicates: z.number().int(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const { outcomes, duplicates } = await inviteMany(ctx, input.invitations);
      const count = (kind: InvitationOutcome['outcome']) => outcomes.filter((o) => o.outcome === kind).length;
      return {
        results: outcomes.map(toBatchOutcome),
        created: count('created'),
        resent: count('resent'),
        skipped: count('skipped'),
        duplicates,
      };
    }),

  revoke: orgProcedure
    .use(requirePermission('invitations.revoke'))
    .meta({
      openapi: {
        method: 'DELETE',
        path: '/orgs/{orgId}/invitations/{invitationId}',
        tags: ['invitations'],
        summary: 'Revoke an invitation',
      },
    })
    .input(invitationPath)
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      const invitation = await findInvitation(ctx.em, ctx.org.id, input.invitationId);
      if (!invitation) throw new DomainError('INVITATION_NOT_FOUND');
      const revoked = await revokeInvitation(ctx.em, ctx.org.id, invitation.id);
      if (!revoked) {
        assertInvitationPending(invitation);
        throw new DomainError('INVITATION_NOT_FOUND');
      }
      await ctx.audit({
        action: 'invitation.revoked',
        targetType: 'invitation',
        targetId: invitation.id,
        details: { email: invitation.email },
      });
      ctx.afterCommit(() => dropWaitingMail(ctx.queues, invitation.id, invitation.sendCount));
      return { ok: true as const };
    }),

  resend: orgProcedure
    .use(requirePermission('invitations.create'))
    .meta({
      openapi: {
        method: 'POST',
        path: '/orgs/{orgId}/invitations/{invitationId}/resend',
        tags: ['invitations'],
        summary: 'Resend an invitation (new token, new expiry)',
      },
    })
    .input(invitationPath)
    .output(invitationOutput)
    .mutation(async ({ ctx, input }) => {
      const invitation = await findInvitation(ctx.em, ctx.org.id, input.invitationId);
      if (!invitation) throw new DomainError('INVITATION_NOT_FOUND');
      assertCanAddMember({ actorRole: ctx.membership.role, role: invitation.role });
      const resent = await resendInvitation(ctx, invitation);
      if (!resent) {
        assertInvitationPending(invitation);
        throw new DomainError('INVITATION_NOT_FOUND');
      }
      return toInvitationOutput(resent);
    }),

  /** What the acceptance page shows. Reading never consumes the token. */
  byToken: publicProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/invitations/{token}',
        tags: ['invitations'],
        summary: 'Read an invitation',
        protect: false,
      },
    })
    .input(tokenInput)
    .output(
      z.object({
        orgName: z.string(),
        orgSlug: z.string(),
        inviterName: z.string().nullable(),
        email: z.string(),
        role: z.string(),
        status: z.enum(['pending', 'accepted', 'revoked', 'expired']),
        expiresAt: z.string(),
      }),
    )
    .query(async ({ ctx, input }) => {
      const parsed = parseInvitationToken(input.token);
      if (!parsed) throw new DomainError('INVITATION_NOT_FOUND');
      const org = await ctx.db.platform({}, (em) => findOrgById(em, parsed.orgId));
      if (!org) throw new DomainError('INVITATION_NOT_FOUND');
      await assertInvitationOrgOpen(ctx, org);
      const invitation = await ctx.db.tenant({ orgId: org.id }, (em) =>
        findInvitation(em, org.id, parsed.invitationId),
      );
      if (!invitation || !tokenMatches(invitation.tokenHash, parsed.hash)) {
        throw new DomainError('INVITATION_NOT_FOUND');
      }
      const inviter = invitation.invitedById
        ? await ctx.db.platform({}, (em) => findUserById(em, invitation.invitedById!))
        : null;
      return {
        orgName: org.name,
        orgSlug: org.slug,
        inviterName: inviter ? inviter.name || inviter.email : null,
        email: invitation.email,
        role: invitation.role,
        status: invitationStatus(invitation),
        expiresAt: invitation.expiresAt.toISOString(),
      };
    }),

  /**
   * Accepts an invitation as the signed-in person, whose email must be the invited one, and
   * makes its org the session's active one. Attempts are rate-limited per invitation and address.
   */
  accept: authedProcedure
    .use(requireSession)
    .meta({
      openapi: {
        method: 'POST',
        path: '/invitations/{token}/accept',
        tags: ['invitations'],
        summary: 'Accept an invitation',
      },
    })
    .input(tokenInput)
    .output(joinedOutput)
    .mutation(async ({ ctx, input }) => {
      const target = await beginInvitationAttempt(ctx, input.token);
      const joined = await ctx.db.tenant({ orgId: target.org.id, userId: ctx.user.id }, async (em) => {
        const result = await joinThroughInvitation(em, target, ctx.user, ctx.ip);
        await setSessionActiveOrg(em, ctx.session.id, target.org.id);
        return result;
      });
      ctx.log.info({ event: 'invitation_accepted', orgId: joined.orgId, role: joined.role }, 'invitation accepted');
      return joined;
    }),
});
