import { randomUUID } from 'node:crypto';
import {
  assertCanAddMember,
  checkMemberLimit,
  distinctEmails,
  effectiveLimits,
  type InvitationRequest,
  planInvitations,
} from '@tenantry/core';
import {
  countMemberSeats,
  createInvitations,
  findMemberEmails,
  type InvitationRow,
  lockOrgInvitations,
  lockPendingInvitationsByEmail,
  prepareResends,
} from '@tenantry/db';
import {
  INVITATION_EMAIL_JOB_OPTIONS,
  INVITATION_EMAIL_QUEUE,
  type InvitationEmailJob,
  invitationEmailJobId,
} from '@tenantry/worker/queues/invitation-email';
import type { AuditEntry } from './audit.js';
import { newInvitationTokens } from './invitation-tokens.js';
import type { JobQueues } from './jobs.js';
import type { TenantCtx } from './trpc.js';

// Inviting and resending, for one invitation or a batch, in a constant number of statements
// whatever the batch size: the rows are written together, their audit entries appended in
// one go, and their mails enqueued with one `addBulk` once the unit of work has committed.

/** What sending invitations needs of a tenant procedure's context. */
export interface InviteCtx extends Pick<TenantCtx, 'em' | 'org' | 'membership' | 'afterCommit' | 'auditMany'> {
  user: { id: string; name: string; email: string };
  env: { PUBLIC_URL: string; INVITATION_TTL: number };
  queues: JobQueues;
}

/** An invitation written in this unit of work, with the raw token of the mail it gets. */
interface Send {
  invitation: InvitationRow;
  token: string;
}

/** What became of one distinct email of a batch. */
export type InvitationOutcome =
  | { index: number; email: string; outcome: 'created' | 'resent'; invitation: InvitationRow }
  | { index: number; email: string; outcome: 'skipped'; code: 'ALREADY_MEMBER' };

/** The outcome of a batch: one entry per distinct email, in request order. */
export interface InvitationBatchResult {
  outcomes: InvitationOutcome[];
  /** Requests that repeated an email of the batch. */
  duplicates: number;
}

const createdEntry = ({ invitation }: Send): AuditEntry => ({
  action: 'invitation.created',
  targetType: 'invitation',
  targetId: invitation.id,
  details: { email: invitation.email, role: invitation.role },
});

const resentEntry = ({ invitation }: Send): AuditEntry => ({
  action: 'invitation.resent',
  targetType: 'invitation',
  targetId: invitation.id,
  details: { email: invitation.email, sendCount: invitation.sendCount },
});

/**
 * Enqueues the mail of each (invitation, sendCount) once the request's unit of work has
 * committed, so the worker never reads a row that is not there yet, with a deterministic job
 * id, so a retried request never sends twice for one token. A superseded job of the previous
 * send that has not run yet is dropped (its link no longer works).
 */
function enqueueMails(ctx: InviteCtx, sends: readonly Send[]): void {
  const queue = ctx.queues.get<InvitationEmailJob>(INVITATION_EMAIL_QUEUE);
  if (!queue || sends.length === 0) return;
  const inviterName = ctx.user.name || ctx.user.email;
  const jobs = sends.map(({ invitation, token }) => ({
    name: 'send',
    data: {
      orgId: ctx.org.id,
      invitationId: invitation.id,
      sendCount: invitation.sendCount,
      token,
      email: invitation.email,
      orgName: ctx.org.name,
      inviterName,
      role: invitation.role,
      link: `${ctx.env.PUBLIC_URL}/invite/${token}`,
    } satisfies InvitationEmailJob,
    opts: {
      jobId: invitationEmailJobId(invitation.id, invitation.sendCount),
      ...INVITATION_EMAIL_JOB_OPTIONS,
      removeOnComplete: 1000,
      removeOnFail: 5000,
    },
  }));
  ctx.afterCommit(async () => {
    await queue.addBulk(jobs);
    const superseded = sends.filter((s) => s.invitation.sendCount > 1);
    await Promise.all(superseded.map((s) => dropWaitingMail(ctx.queues, s.invitation.id, s.invitation.sendCount - 1)));
  });
}

/** Removes the mail job of an earlier send if it has not started (a started one checks for itself). */
export async function dropWaitingMail(queues: JobQueues, invitationId: string, sendCount: number): Promise<void> {
  const queue = queues.get<InvitationEmailJob>(INVITATION_EMAIL_QUEUE);
  try {
    await queue?.remove(invitationEmailJobId(invitationId, sendCount));
  } catch {
    // Locked by a worker right now: it finds its send superseded when it records it.
  }
}

/**
 * A new token, expiry and send for each pending or expired invitation, in one statement (the
 * old links die at once). Answers the invitations it moved on; one that was accepted or
 * revoked meanwhile is left out.
 */
async function prepareSends(ctx: InviteCtx, invitations: readonly InvitationRow[]): Promise<Send[]> {
  if (invitations.length === 0) return [];
  const minted = newInvitationTokens(
    ctx.org.id,
    invitations.map((i) => i.id),
  );
  const tokens = new Map(invitations.map((i, k) => [i.id, minted[k]!]));
  const expiresAt = new Date(Date.now() + ctx.env.INVITATION_TTL);
  const rows = await prepareResends(
    ctx.em,
    ctx.org.id,
    invitations.map((i) => ({ id: i.id, tokenHash: tokens.get(i.id)!.hash })),
    expiresAt,
  );
  return rows.map((invitation) => ({ invitation, token: tokens.get(invitation.id)!.token }));
}

/** Resends one invitation; null if it was accepted or revoked (the caller says which). */
export async function resendInvitation(ctx: InviteCtx, invitation: InvitationRow): Promise<InvitationRow | null> {
  const [send] = await prepareSends(ctx, [invitation]);
  if (!send) return null;
  await ctx.auditMany([resentEntry(send)]);
  enqueueMails(ctx, [send]);
  return send.invitation;
}

/**
 * Invites a batch of people as `invitations.create` invites one: every requested role must
 * be one the actor may grant (or nothing happens), emails are normalized and de-duplicated,
 * members are skipped (ALREADY_MEMBER), a pending invitation is resent (new token, new expiry,
 * the old link dies), and the rest are created, if they all fit in the member limit with the
 * pending invitations (LIMIT_REACHED otherwise, before anything is written). The org's
 * invitation writes are serialised for the rest of the unit of work, so the counts hold.
 */
export async function inviteMany(
  ctx: InviteCtx,
  requests: readonly InvitationRequest[],
): Promise<InvitationBatchResult> {
  for (const role of new Set(requests.map((r) => r.role))) assertCanAddMember({ actorRole: ctx.membership.role, role });
  const orgId = ctx.org.id;
  const emails = distinctEmails(requests);
  await lockOrgInvitations(ctx.em, orgId);
  const members = await findMemberEmails(ctx.em, orgId, emails);
  const pending = await lockPendingInvitationsByEmail(
    ctx.em,
    orgId,
    emails.filter((e) => !members.has(e)),
  );
  const plan = planInvitations(requests, { members, pending });
  const limit = effectiveLimits(ctx.org.tier, { maxMembers: ctx.org.maxMembers }).maxMembers;
  if (limit !== null && plan.create.length > 0) {
    checkMemberLimit({ ...(await countMemberSeats(ctx.em, orgId)), limit, adding: plan.create.length });
  }

  const expiresAt = new Date(Date.now() + ctx.env.INVITATION_TTL);
  const ids = plan.create.map(() => randomUUID());
  const minted = newInvitationTokens(orgId, ids);
  const fresh = plan.create.map((p, k) => ({ ...p, id: ids[k]!, ...minted[k]! }));
  const { created, conflicts } = await createInvitations(
    ctx.em,
    orgId,
    fresh.map((f) => ({
      id: f.id,
      email: f.email,
      role: f.role,
      expiresAt,
      invitedById: ctx.user.id,
      tokenHash: f.hash,
    })),
  );
  // Only a writer that does not take the org's invitation lock can have filled these slots
  // since the lookup: their pending invitations are resent, as inviting them alone does.
  const raced = await lockPendingInvitationsByEmail(ctx.em, orgId, conflicts);
  if (raced.size < conflicts.length) throw new Error('an invitation insert conflicted with no pending invitation');
  const resent = await prepareSends(ctx, [...plan.resend.map((r) => r.pending), ...raced.values()]);

  const tokenOf = new Map<string, string>(fresh.map((f) => [f.id, f.token]));
  const createdSends = created.map((invitation) => ({ invitation, token: tokenOf.get(invitation.id)! }));
  await ctx.auditMany([...createdSends.map(createdEntry), ...resent.map(resentEntry)]);
  enqueueMails(ctx, [...createdSends, ...resent]);

  const sent = new Map<string, { outcome: 'created' | 'resent'; invitation: InvitationRow }>();
  for (const { invitation } of createdSends) sent.set(invitation.email, { outcome: 'created', invitation });
  for (const { invitation } of resent) sent.set(invitation.email, { outcome: 'resent', invitation });
  const outcomes: InvitationOutcome[] = [
    ...plan.skip.map((p) => ({
      index: p.index,
      email: p.email,
      outcome: 'skipped' as const,
      code: 'ALREADY_MEMBER' as const,
    })),
    ...[...plan.resend, ...plan.create].map((p) => {
      // The lookup locked the pending invitations: none can be accepted or revoked before the resend.
      const done = sent.get(p.email);
      if (!done) throw new Error(`the invitation of request ${p.index} was neither created nor resent`);
      return { index: p.index, email: p.email, ...done };
    }),
  ];
  outcomes.sort((a, b) => a.index - b.index);
  return { outcomes, duplicates: plan.duplicates };
}
