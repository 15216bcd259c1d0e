import { randomUUID } from 'node:crypto';
import {
  assertCanAddMember,
  assertInvitationPending,
  checkMemberLimit,
  DomainError,
  effectiveLimits,
  invitationStatus,
} from '@tenantry/core';
import {
  countActiveMembers,
  countPendingInvitations,
  createInvitation,
  type EntityManager,
  findInvitation,
  findOrgById,
  findPendingInvitationByEmail,
  findUserById,
  InvitationPendingError,
  type InvitationRow,
  isMemberByEmail,
  listInvitations,
  type OrgRow,
  prepareResend,
  revokeInvitation,
  setSessionActiveOrg,
} from '@tenantry/db';
import {
  INVITATION_EMAIL_JOB_OPTIONS,
  INVITATION_EMAIL_QUEUE,
  type InvitationEmailJob,
  invitationEmailJobId,
} from '@tenantry/worker/queues/invitation-email';
import { z } from 'zod';
import {
  assertInvitationOrgOpen,
  beginInvitationAttempt,
  invitationTokenInput,
  joinThroughInvitation,
} from '../invitation-acceptance.js';
import { newInvitationToken, parseInvitationToken, tokenMatches } from '../invitation-tokens.js';
import type { JobQueues } from '../jobs.js';
import { emailInput, okOutput, orgRefInput, roleInput } from '../schemas.js';
import {
  type AuditFn,
  authedProcedure,
  orgProcedure,
  publicProcedure,
  requirePermission,
  requireSession,
  router,
  type TenantCtx,
} from '../trpc.js';

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

interface MailCtx extends Pick<TenantCtx, 'em' | 'org' | 'afterCommit' | 'audit'> {
  user: { id: string; name: string; email: string };
  env: { PUBLIC_URL: string; INVITATION_TTL: number };
  queues: JobQueues;
}

/**
 * Enqueues the mail of (invitation, sendCount) once the request's unit of work has committed,
 * so the worker never reads a row that is not there yet, with a deterministic job id, so a
 * retried request never sends twice for one token. A superseded job of the previous send that
 * has not run yet is dropped (its link no longer works).
 */
function enqueueMail(ctx: MailCtx, invitation: InvitationRow, sendCount: number, token: string): void {
  const queue = ctx.queues.get<InvitationEmailJob>(INVITATION_EMAIL_QUEUE);
  if (!queue) return;
  const data: InvitationEmailJob = {
    orgId: ctx.org.id,
    invitationId: invitation.id,
    sendCount,
    token,
    email: invitation.email,
    orgName: ctx.org.name,
    inviterName: ctx.user.name || ctx.user.email,
    role: invitation.role,
    link: `${ctx.env.PUBLIC_URL}/invite/${token}`,
  };
  ctx.afterCommit(async () => {
    await queue.add('send', data, {
      jobId: invitationEmailJobId(invitation.id, sendCount),
      ...INVITATION_EMAIL_JOB_OPTIONS,
      removeOnComplete: 1000,
      removeOnFail: 5000,
    });
    if (sendCount > 1) await dropWaitingMail(ctx.queues, invitation.id, sendCount - 1);
  });
}

/** Removes the mail job of an earlier send if it has not started (a started one checks for itself). */
async function dropWaitingMail(queues: JobQueues, invitationId: string, sendCount: number): Promise<void> {
  const queue = queues.get<InvitationEmailJob>(INVITATION_EMAIL_QUEUE);
  try {
    await queue?.remove(invitationEmailJobId(invitationId, sendCount));
  } catch {
    // Locked by a worker right now: it finds its send superseded when it records it.
  }
}

/** A new token, expiry and mail for a pending or expired invitation (the old link dies at once). */
async function resend(ctx: MailCtx & { audit: AuditFn }, invitation: InvitationRow): Promise<InvitationRow> {
  const { token, hash } = newInvitationToken(ctx.org.id, invitation.id);
  const expiresAt = new Date(Date.now() + ctx.env.INVITATION_TTL);
  const sendCount = await prepareResend(ctx.em, ctx.org.id, invitation.id, expiresAt, hash);
  if (sendCount === null) {
    assertInvitationPending(invitation);
    throw new DomainError('INVITATION_NOT_FOUND');
  }
  await ctx.audit({
    action: 'invitation.resent',
    targetType: 'invitation',
    targetId: invitation.id,
    details: { email: invitation.email, sendCount },
  });
  enqueueMail(ctx, invitation, sendCount, token);
  return (await findInvitation(ctx.em, ctx.org.id, invitation.id))!;
}

/**
 * With a member limit: the email's pending invitation, if any (re-inviting resends it, which
 * takes no new seat), else a refusal unless one more member fits, counting pending
 * invitations. Without a limit nothing is read: a pending invitation shows up on insert.
 */
async function pendingOrRoom(em: EntityManager, org: OrgRow, email: string): Promise<InvitationRow | null> {
  const limit = effectiveLimits(org.tier, { maxMembers: org.maxMembers }).maxMembers;
  if (limit === null) return null;
  const pending = await findPendingInvitationByEmail(em, org.id, email);
  if (pending) return pending;
  checkMemberLimit({
    members: await countActiveMembers(em, org.id),
    pending: await countPendingInvitations(em, org.id),
    limit,
  });
  return null;
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
      assertCanAddMember({ actorRole: ctx.membership.role, role: input.role });
      if (await isMemberByEmail(ctx.em, ctx.org.id, input.email)) throw new DomainError('ALREADY_MEMBER');
      const pending = await pendingOrRoom(ctx.em, ctx.org, input.email);
      if (pending) return toInvitationOutput(await resend(ctx, pending));
      const id = randomUUID();
      const { token, hash } = newInvitationToken(ctx.org.id, id);
      let invitation: InvitationRow;
      try {
        invitation = await createInvitation(ctx.em, {
          id,
          orgId: ctx.org.id,
          email: input.email,
          role: input.role,
          expiresAt: new Date(Date.now() + ctx.env.INVITATION_TTL),
          invitedById: ctx.user.id,
          tokenHash: hash,
        });
      } catch (error) {
        // The email holds a pending invitation already: re-inviting resends it.
        if (error instanceof InvitationPendingError) return toInvitationOutput(await resend(ctx, error.existing));
        throw error;
      }
      await ctx.audit({
        action: 'invitation.created',
        targetType: 'invitation',
        targetId: invitation.id,
        details: { email: invitation.email, role: invitation.role },
      });
      enqueueMail(ctx, invitation, invitation.sendCount, token);
      return toInvitationOutput(invitation);
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
      return toInvitationOutput(await resend(ctx, invitation));
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
