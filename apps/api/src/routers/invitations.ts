import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  assertCanAddMember,
  assertInvitationPending,
  assertInviteeEmail,
  checkMemberLimit,
  DomainError,
  effectiveLimits,
  invitationStatus,
} from '@tenantry/core';
import {
  acceptInvitation,
  addMembership,
  appendAuditEvent,
  countActiveMembers,
  countPendingInvitations,
  createInvitation,
  type EntityManager,
  findInvitation,
  findMembership,
  findOrgById,
  findPendingInvitationByEmail,
  findUserByEmail,
  findUserById,
  InvitationPendingError,
  type InvitationRow,
  listInvitations,
  type OrgRow,
  prepareResend,
  recordInvitationToken,
  revokeInvitation,
  setUserDefaultOrg,
} from '@tenantry/db';
import {
  INVITATION_EMAIL_JOB_OPTIONS,
  INVITATION_EMAIL_QUEUE,
  type InvitationEmailJob,
  invitationEmailJobId,
} from '@tenantry/worker/queues/invitation-email';
import { z } from 'zod';
import type { JobQueues } from '../jobs.js';
import { emailInput, okOutput, orgRefInput, roleInput } from '../schemas.js';
import { type AuditFn, authedProcedure, orgProcedure, publicProcedure, requirePermission, router } from '../trpc.js';

const UUID_HEX = /^[0-9a-f]{32}$/;

/** `<base64url(orgId 16 bytes + invitationId 16 bytes)>.<base64url(32 random bytes)>` and the secret's hash. */
export function newInvitationToken(orgId: string, invitationId: string): { token: string; hash: string } {
  const ids = Buffer.from(`${orgId}${invitationId}`.replace(/-/g, ''), 'hex');
  const secret = randomBytes(32).toString('base64url');
  return { token: `${ids.toString('base64url')}.${secret}`, hash: hashSecret(secret) };
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function uuidOf(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Splits a token into its ids and the hash of its secret; null if it is not shaped like one. */
export function parseInvitationToken(token: string): { orgId: string; invitationId: string; hash: string } | null {
  const [ids, secret, extra] = token.split('.');
  if (!ids || !secret || extra !== undefined || !/^[\w-]+$/.test(ids) || !/^[\w-]{43}$/.test(secret)) return null;
  const hex = Buffer.from(ids, 'base64url').toString('hex');
  if (hex.length !== 64) return null;
  const org = hex.slice(0, 32);
  const inv = hex.slice(32);
  if (!UUID_HEX.test(org) || !UUID_HEX.test(inv)) return null;
  return { orgId: uuidOf(org), invitationId: uuidOf(inv), hash: hashSecret(secret) };
}

/** Constant-time comparison of the presented secret's hash with the stored one. */
function tokenMatches(stored: string | null, presented: string): boolean {
  if (!stored) return false;
  const a = Buffer.from(stored, 'hex');
  const b = Buffer.from(presented, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

const invitationOutput = z.object({
  id: z.string(),
  email: z.string(),
  role: z.string(),
  status: z.enum(['pending', 'accepted', 'revoked', 'expired']),
  deliveryState: z.string(),
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
    sendCount: row.sendCount,
    expiresAt: row.expiresAt.toISOString(),
    sentAt: row.sentAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    invitedById: row.invitedById,
  };
}

const invitationPath = z.strictObject({ orgId: orgRefInput, invitationId: z.uuid() });
const tokenInput = z.strictObject({ token: z.string().trim().min(1).max(200) });

interface MailCtx {
  em: EntityManager;
  org: OrgRow;
  user: { id: string; name: string; email: string };
  env: { PUBLIC_URL: string };
  queues: JobQueues;
}

/**
 * Issues the token of the mail of `sendCount`, stores its hash and enqueues the mail with a
 * deterministic job id, so a retried request never sends twice for one token.
 */
async function enqueueMail(ctx: MailCtx, invitation: InvitationRow, sendCount: number): Promise<void> {
  const { token, hash } = newInvitationToken(ctx.org.id, invitation.id);
  if (!(await recordInvitationToken(ctx.em, ctx.org.id, invitation.id, hash, sendCount))) return;
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
  await queue.add('send', data, {
    jobId: invitationEmailJobId(invitation.id, sendCount),
    ...INVITATION_EMAIL_JOB_OPTIONS,
    removeOnComplete: 1000,
    removeOnFail: 5000,
  });
}

async function resend(ctx: MailCtx & { audit: AuditFn }, invitation: InvitationRow, ttl: number) {
  const sendCount = await prepareResend(ctx.em, ctx.org.id, invitation.id, new Date(Date.now() + ttl));
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
  const fresh = (await findInvitation(ctx.em, ctx.org.id, invitation.id))!;
  await enqueueMail(ctx, fresh, sendCount);
  return (await findInvitation(ctx.em, ctx.org.id, invitation.id))!;
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
      const existingUser = await findUserByEmail(ctx.em, input.email);
      if (existingUser && (await findMembership(ctx.em, ctx.org.id, existingUser.id))) {
        throw new DomainError('ALREADY_MEMBER');
      }
      const mailCtx = ctx;
      const pending = await findPendingInvitationByEmail(ctx.em, ctx.org.id, input.email);
      if (pending) return toInvitationOutput(await resend(mailCtx, pending, ctx.env.INVITATION_TTL));
      const limit = effectiveLimits(ctx.org.tier, { maxMembers: ctx.org.maxMembers }).maxMembers;
      checkMemberLimit({
        members: await countActiveMembers(ctx.em, ctx.org.id),
        pending: await countPendingInvitations(ctx.em, ctx.org.id),
        limit,
      });
      let invitation: InvitationRow;
      try {
        invitation = await createInvitation(ctx.em, {
          orgId: ctx.org.id,
          email: input.email,
          role: input.role,
          expiresAt: new Date(Date.now() + ctx.env.INVITATION_TTL),
          invitedById: ctx.user.id,
        });
      } catch (error) {
        if (error instanceof InvitationPendingError) {
          return toInvitationOutput(await resend(mailCtx, error.existing, ctx.env.INVITATION_TTL));
        }
        throw error;
      }
      await ctx.audit({
        action: 'invitation.created',
        targetType: 'invitation',
        targetId: invitation.id,
        details: { email: invitation.email, role: invitation.role },
      });
      await enqueueMail(mailCtx, invitation, invitation.sendCount);
      return toInvitationOutput((await findInvitation(ctx.em, ctx.org.id, invitation.id))!);
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
      return toInvitationOutput(await resend(ctx, invitation, ctx.env.INVITATION_TTL));
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
      const invitation = await ctx.db.tenant({ orgId: parsed.orgId }, (em) =>
        findInvitation(em, parsed.orgId, parsed.invitationId),
      );
      if (!invitation || !tokenMatches(invitation.tokenHash, parsed.hash))
        throw new DomainError('INVITATION_NOT_FOUND');
      const { org, inviter } = await ctx.db.platform({}, async (em) => ({
        org: await findOrgById(em, parsed.orgId),
        inviter: invitation.invitedById ? await findUserById(em, invitation.invitedById) : null,
      }));
      if (!org) throw new DomainError('INVITATION_NOT_FOUND');
      return {
        orgName: org.name,
        inviterName: inviter ? inviter.name || inviter.email : null,
        email: invitation.email,
        role: invitation.role,
        status: invitationStatus(invitation),
        expiresAt: invitation.expiresAt.toISOString(),
      };
    }),

  /** Accepts an invitation as the signed-in user, whose email must be the invited one. */
  accept: authedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/invitations/{token}/accept',
        tags: ['invitations'],
        summary: 'Accept an invitation',
      },
    })
    .input(tokenInput)
    .output(z.object({ orgId: z.string(), slug: z.string(), name: z.string(), role: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const parsed = parseInvitationToken(input.token);
      if (!parsed) throw new DomainError('INVITATION_NOT_FOUND');
      const org = await ctx.db.platform({ userId: ctx.user.id }, (em) => findOrgById(em, parsed.orgId));
      if (!org) throw new DomainError('INVITATION_NOT_FOUND');
      return ctx.db.tenant({ orgId: org.id, userId: ctx.user.id }, async (em) => {
        const invitation = await findInvitation(em, org.id, parsed.invitationId);
        if (!invitation || !tokenMatches(invitation.tokenHash, parsed.hash)) {
          throw new DomainError('INVITATION_NOT_FOUND');
        }
        assertInvitationPending(invitation);
        assertInviteeEmail({ invited: invitation.email, accepting: ctx.user.email });
        if (await findMembership(em, org.id, ctx.user.id)) throw new DomainError('ALREADY_MEMBER');
        const limit = effectiveLimits(org.tier, { maxMembers: org.maxMembers }).maxMembers;
        checkMemberLimit({ members: await countActiveMembers(em, org.id), pending: 0, limit });
        const accepted = await acceptInvitation(em, org.id, invitation.id, ctx.user.id, parsed.hash);
        if (!accepted) {
          const again = await findInvitation(em, org.id, invitation.id);
          if (again) assertInvitationPending(again);
          throw new DomainError('INVITATION_NOT_FOUND');
        }
        await addMembership(em, {
          orgId: org.id,
          userId: ctx.user.id,
          role: accepted.role,
          addedById: accepted.invitedById,
        });
        if (!ctx.user.defaultOrgId) await setUserDefaultOrg(em, ctx.user.id, org.id);
        await appendAuditEvent(em, org.id, {
          actorType: 'user',
          actorId: ctx.user.id,
          actorLabel: ctx.user.email,
          action: 'invitation.accepted',
          targetType: 'invitation',
          targetId: accepted.id,
          ip: ctx.ip,
          details: { email: accepted.email, role: accepted.role },
        });
        ctx.log.info({ event: 'invitation_accepted', orgId: org.id, role: accepted.role }, 'invitation accepted');
        return { orgId: org.id, slug: org.slug, name: org.name, role: accepted.role };
      });
    }),
});
