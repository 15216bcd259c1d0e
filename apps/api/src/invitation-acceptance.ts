import {
  assertInvitationPending,
  assertInviteeEmail,
  assertOrgServes,
  checkMemberLimit,
  DomainError,
  decideMultiTenantGate,
  effectiveLimits,
  isDomainError,
} from '@tenantry/core';
import {
  acceptInvitation,
  addMembership,
  appendAuditEvent,
  countActiveMembers,
  type EntityManager,
  findInvitation,
  findMembership,
  findOrgById,
  type InvitationRow,
  type OrgRow,
  setUserDefaultOrg,
  type UserRow,
} from '@tenantry/db';
import { z } from 'zod';
import type { Context } from './context.js';
import { invitationAttemptLimiter } from './invitation-rate-limit.js';
import { type ParsedInvitationToken, parseInvitationToken, tokenMatches } from './invitation-tokens.js';

/** The token of an invitation link, as paths and bodies carry it. */
export const invitationTokenInput = z.string().trim().min(1).max(200);

/** An invitation token that names an existing org, ready to be looked up in that org's scope. */
export interface InvitationTarget {
  parsed: ParsedInvitationToken;
  org: OrgRow;
}

type AttemptCtx = Pick<Context, 'db' | 'env' | 'license' | 'redis' | 'ip' | 'setHeader'>;

/**
 * Resolves a token to its org for an accept (or sign-up) attempt and spends one attempt of the
 * rate budgets first, so unknown tokens cost the same. Refuses unknown tokens
 * (INVITATION_NOT_FOUND), an org the gate closes (501/402) and an org that does not serve.
 */
export async function beginInvitationAttempt(ctx: AttemptCtx, token: string): Promise<InvitationTarget> {
  const parsed = parseInvitationToken(token);
  const org = parsed ? await ctx.db.platform({}, (em) => findOrgById(em, parsed.orgId)) : null;
  const limiter = invitationAttemptLimiter(ctx.redis);
  if (limiter) {
    try {
      await limiter.consume({
        orgId: org?.id ?? null,
        invitationId: org && parsed ? parsed.invitationId : null,
        ip: ctx.ip,
      });
    } catch (error) {
      const retryAfter = isDomainError(error) ? error.details?.retryAfter : undefined;
      if (retryAfter !== undefined) ctx.setHeader('retry-after', String(retryAfter));
      throw error;
    }
  }
  if (!parsed || !org) throw new DomainError('INVITATION_NOT_FOUND');
  await assertInvitationOrgOpen(ctx, org);
  return { parsed, org };
}

/** The 501/402 gate of the invitation's org (the default org always passes). */
export async function assertInvitationOrgOpen(ctx: Pick<Context, 'db' | 'env' | 'license'>, org: OrgRow) {
  const targetsDefaultOrg = org.id === ctx.db.defaultOrgId;
  const decision = decideMultiTenantGate({
    targetsDefaultOrg,
    multiTenantEnabled: ctx.env.MULTI_TENANT_ENABLED,
    licensed: !targetsDefaultOrg && ctx.env.MULTI_TENANT_ENABLED ? await ctx.license.isLicensed() : false,
  });
  if (!decision.allow) throw new DomainError(decision.code);
}

/**
 * The invitation a token names, in its org's open unit of work: it must exist, the token must
 * be its current one (compared in constant time), it must be pending and sent to `email`.
 */
export async function findAcceptableInvitation(
  em: EntityManager,
  target: InvitationTarget,
  email: string,
): Promise<InvitationRow> {
  const invitation = await findInvitation(em, target.org.id, target.parsed.invitationId);
  if (!invitation || !tokenMatches(invitation.tokenHash, target.parsed.hash)) {
    throw new DomainError('INVITATION_NOT_FOUND');
  }
  assertInvitationPending(invitation);
  assertOrgServes(target.org.status);
  assertInviteeEmail({ invited: invitation.email, accepting: email });
  return invitation;
}

/** What joining through an invitation gave. */
export interface JoinedOrg {
  orgId: string;
  slug: string;
  name: string;
  role: InvitationRow['role'];
}

/**
 * Accepts the invitation for `user` in its org's open unit of work: single use (a concurrent
 * attempt loses), the member limit checked again, the membership added with the invited role,
 * the org made the user's default if they had none, and `invitation.accepted` audited.
 */
export async function joinThroughInvitation(
  em: EntityManager,
  target: InvitationTarget,
  user: Pick<UserRow, 'id' | 'email' | 'defaultOrgId'>,
  ip: string | null,
): Promise<JoinedOrg> {
  const { org, parsed } = target;
  const invitation = await findAcceptableInvitation(em, target, user.email);
  if (await findMembership(em, org.id, user.id)) throw new DomainError('ALREADY_MEMBER');
  const limit = effectiveLimits(org.tier, { maxMembers: org.maxMembers }).maxMembers;
  if (limit !== null) checkMemberLimit({ members: await countActiveMembers(em, org.id), pending: 0, limit });
  const accepted = await acceptInvitation(em, org.id, invitation.id, user.id, parsed.hash);
  if (!accepted) {
    // Lost a race (accepted, revoked or resent meanwhile): say which.
    const again = await findInvitation(em, org.id, invitation.id);
    if (again) assertInvitationPending(again);
    throw new DomainError('INVITATION_NOT_FOUND');
  }
  await addMembership(em, { orgId: org.id, userId: user.id, role: accepted.role, addedById: accepted.invitedById });
  if (!user.defaultOrgId) await setUserDefaultOrg(em, user.id, org.id);
  await appendAuditEvent(em, org.id, {
    actorType: 'user',
    actorId: user.id,
    actorLabel: user.email,
    action: 'invitation.accepted',
    targetType: 'invitation',
    targetId: accepted.id,
    ip,
    details: { email: accepted.email, role: accepted.role },
  });
  return { orgId: org.id, slug: org.slug, name: org.name, role: accepted.role };
}
