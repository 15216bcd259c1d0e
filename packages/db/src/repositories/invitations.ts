import { normalizeEmail } from '@tenantry/core';
import type { EntityManager } from '../db.js';
import { UNIQUE_CONSTRAINTS } from '../errors.js';
import type { InvitationListRow, InvitationRow, InvitationStatus, Role } from '../types.js';
import { appendAuditEvent } from './audit.js';
import { createInvitations, prepareResends } from './invitation-batches.js';
import { INVITATION_COLUMNS, mapInvitation, mapInvitationListRow } from './rows.js';

// Every function takes the org id, filters by it and runs inside db.tenant({ orgId }).
// The mail job of an invitation is identified by (id, send_count): writes made on behalf of a
// job name the send_count they were enqueued with, so a stale or retried job of an earlier
// send can never touch the state of a newer one.

/** Longest delivery error kept (SMTP answers can be long). */
const MAX_ERROR_LENGTH = 2000;

/**
 * Raised by `createInvitation` when the email already has a pending invitation in the org.
 * The transaction is NOT aborted (the insert skips the conflict), so the caller may resend
 * `existing` in the same unit of work. Also satisfies
 * `isUniqueViolation(err, UNIQUE_CONSTRAINTS.pendingInvitation)`.
 */
export class InvitationPendingError extends Error {
  /** SQLSTATE of a unique violation, so `isUniqueViolation` recognises it. */
  readonly code = '23505';
  readonly constraint = UNIQUE_CONSTRAINTS.pendingInvitation;

  constructor(
    /** The invitation holding the email's pending slot; its `status` may read `expired`. */
    readonly existing: InvitationRow,
  ) {
    super(`An invitation to ${existing.email} is already pending in this organization`);
    this.name = 'InvitationPendingError';
  }
}

/** Fields of a new invitation. */
export interface CreateInvitationInput {
  /** Defaults to a random UUID (pass one to issue its token in the same statement). */
  id?: string;
  orgId: string;
  email: string;
  role: Role;
  expiresAt: Date;
  invitedById?: string | null;
  /** Hash of the token of its first mail; default none yet (`recordInvitationToken` later). */
  tokenHash?: string | null;
}

/**
 * Inserts a pending invitation (send_count 1, delivery queued, with the first mail's token hash
 * if given). If the email
 * already holds the org's pending slot, throws `InvitationPendingError` carrying that
 * invitation, also when the slot is held by one past its expiry that the sweep has not stored
 * as expired yet (resend it, which revives it).
 */
export async function createInvitation(em: EntityManager, input: CreateInvitationInput): Promise<InvitationRow> {
  const { created } = await createInvitations(em, input.orgId, [input]);
  if (created[0]) return created[0];
  const existing = await findPendingInvitationByEmail(em, input.orgId, input.email);
  if (!existing) throw new Error('invitation insert conflicted but no pending invitation was found');
  throw new InvitationPendingError(existing);
}

/** The invitation with this id in the org, or null. */
export async function findInvitation(em: EntityManager, orgId: string, id: string): Promise<InvitationRow | null> {
  const [row] = await em.execute(`select ${INVITATION_COLUMNS} from invitations i where i.org_id = ? and i.id = ?`, [
    orgId,
    id,
  ]);
  return row ? mapInvitation(row) : null;
}

/**
 * The invitation holding the email's pending slot in the org, or null. It may be past its
 * expiry (its `status` then reads `expired`) until the sweep runs: resending revives it.
 */
export async function findPendingInvitationByEmail(
  em: EntityManager,
  orgId: string,
  email: string,
): Promise<InvitationRow | null> {
  const [row] = await em.execute(
    `select ${INVITATION_COLUMNS} from invitations i where i.org_id = ? and i.email = ? and i.status = 'pending'`,
    [orgId, normalizeEmail(email)],
  );
  return row ? mapInvitation(row) : null;
}

/** Filters of `listInvitations`. */
export interface ListInvitationsOptions {
  /** By read status: `pending` excludes lapsed ones, `expired` includes them. */
  status?: InvitationStatus;
  /** Default 500. */
  limit?: number;
}

const STATUS_FILTER: Record<InvitationStatus, string> = {
  pending: `i.status = 'pending' and i.expires_at > now()`,
  expired: `(i.status = 'expired' or (i.status = 'pending' and i.expires_at <= now()))`,
  accepted: `i.status = 'accepted'`,
  revoked: `i.status = 'revoked'`,
};

/** Invitations of the org, newest first, with the inviter's email and name. */
export async function listInvitations(
  em: EntityManager,
  orgId: string,
  opts: ListInvitationsOptions = {},
): Promise<InvitationListRow[]> {
  const filter = opts.status ? ` and ${STATUS_FILTER[opts.status]}` : '';
  const limit = Math.min(Math.max(Math.trunc(opts.limit ?? 500), 1), 5000);
  const rows = await em.execute(
    `select ${INVITATION_COLUMNS}, u.email as "invitedByEmail", u.name as "invitedByName"
     from invitations i left join users u on u.id = i.invited_by_id
     where i.org_id = ?${filter}
     order by i.created_at desc, i.id desc limit ?`,
    [orgId, limit],
  );
  const now = new Date();
  return rows.map((r) => mapInvitationListRow(r, now));
}

/** Whether the user with this email is already a member of the org (shadow members included). */
export async function isMemberByEmail(em: EntityManager, orgId: string, email: string): Promise<boolean> {
  const [row] = await em.execute<{ member: boolean }[]>(
    `select exists (select 1 from memberships m join users u on u.id = m.user_id
       where m.org_id = ? and u.email = ?) as member`,
    [orgId, normalizeEmail(email)],
  );
  return row?.member === true;
}

/** Invitations counted against the member limit: pending and not past their expiry. */
export async function countPendingInvitations(em: EntityManager, orgId: string): Promise<number> {
  const [row] = await em.execute<{ n: number }[]>(
    `select count(*)::int as n from invitations where org_id = ? and status = 'pending' and expires_at > now()`,
    [orgId],
  );
  return row?.n ?? 0;
}

/**
 * Stores the hash of the token the job of `sendCount` is about to mail. Returns false (and
 * changes nothing) if a resend has moved on since or the invitation is no longer pending, so a
 * stale job cannot replace the token of a newer mail: it must then drop its mail.
 */
export async function recordInvitationToken(
  em: EntityManager,
  orgId: string,
  id: string,
  tokenHash: string,
  sendCount: number,
): Promise<boolean> {
  const rows = await em.execute(
    `update invitations set token_hash = ?, updated_at = now()
     where org_id = ? and id = ? and send_count = ? and status = 'pending' returning id`,
    [tokenHash, orgId, id, sendCount],
  );
  return rows.length > 0;
}

/**
 * Records that the mail of `sendCount` was delivered (after `attempts` attempts, if given).
 * False if a resend has moved on.
 */
export async function markInvitationSent(
  em: EntityManager,
  orgId: string,
  id: string,
  sendCount: number,
  attempts?: number,
): Promise<boolean> {
  const rows = await em.execute(
    `update invitations set delivery_state = 'sent', sent_at = now(), last_delivery_error = null,
       delivery_attempts = coalesce(?, delivery_attempts), updated_at = now()
     where org_id = ? and id = ? and send_count = ? returning id`,
    [attempts ?? null, orgId, id, sendCount],
  );
  return rows.length > 0;
}

/** What a mail job should do about the mail of (invitation, sendCount). */
export type InvitationSendState =
  /** Send it: the invitation is pending on this send and nothing was recorded as delivered. */
  | 'due'
  /** Already delivered (a job that ran again after a crash): do not send it twice. */
  | 'sent'
  /** Resent since, accepted, revoked, expired or gone: its link no longer works, drop it. */
  | 'superseded';

/** Where the mail of (invitation, sendCount) stands, for a mail job about to send it. */
export async function invitationSendState(
  em: EntityManager,
  orgId: string,
  id: string,
  sendCount: number,
): Promise<InvitationSendState> {
  const [row] = await em.execute<{ sendCount: number; status: string; deliveryState: string; expired: boolean }[]>(
    `select send_count as "sendCount", status, delivery_state as "deliveryState", expires_at <= now() as expired
     from invitations where org_id = ? and id = ?`,
    [orgId, id],
  );
  if (!row || Number(row.sendCount) !== sendCount) return 'superseded';
  if (row.deliveryState === 'sent') return 'sent';
  if (row.status !== 'pending' || row.expired) return 'superseded';
  return 'due';
}

/** A delivered invitation mail, as the worker records it. */
export interface InvitationDelivery {
  id: string;
  sendCount: number;
  email: string;
  /** Attempts it took (the job's attempts so far). */
  attempts: number;
}

/**
 * Marks the mail of (invitation, sendCount) sent and appends its `invitation.sent` audit entry
 * in the caller's unit of work (db.tenant of `orgId`). False, with nothing written, if a resend
 * has moved on or this send is recorded already.
 */
export async function recordInvitationSent(
  em: EntityManager,
  orgId: string,
  delivery: InvitationDelivery,
): Promise<boolean> {
  const rows = await em.execute(
    `update invitations set delivery_state = 'sent', sent_at = now(), last_delivery_error = null,
       delivery_attempts = ?, updated_at = now()
     where org_id = ? and id = ? and send_count = ? and delivery_state <> 'sent' returning id`,
    [delivery.attempts, orgId, delivery.id, delivery.sendCount],
  );
  if (rows.length === 0) return false;
  await appendAuditEvent(em, orgId, {
    actorType: 'system',
    action: 'invitation.sent',
    targetType: 'invitation',
    targetId: delivery.id,
    details: { email: delivery.email, sendCount: delivery.sendCount, attempts: delivery.attempts },
  });
  return true;
}

/** Records that the mail of `sendCount` failed for good. False if a resend has moved on. */
export async function markInvitationDeliveryFailed(
  em: EntityManager,
  orgId: string,
  id: string,
  sendCount: number,
  error: string,
): Promise<boolean> {
  const rows = await em.execute(
    `update invitations set delivery_state = 'failed', last_delivery_error = ?, updated_at = now()
     where org_id = ? and id = ? and send_count = ? returning id`,
    [error.slice(0, MAX_ERROR_LENGTH), orgId, id, sendCount],
  );
  return rows.length > 0;
}

/**
 * Counts one delivery attempt of the mail of `sendCount` (optionally with the error of the
 * previous one). Returns the attempts so far, or null if a resend has moved on.
 */
export async function incrementDeliveryAttempts(
  em: EntityManager,
  orgId: string,
  id: string,
  sendCount: number,
  error?: string | null,
): Promise<number | null> {
  const [row] = await em.execute<{ attempts: number }[]>(
    `update invitations set delivery_attempts = delivery_attempts + 1,
       last_delivery_error = coalesce(?, last_delivery_error), updated_at = now()
     where org_id = ? and id = ? and send_count = ? returning delivery_attempts as attempts`,
    [error ? error.slice(0, MAX_ERROR_LENGTH) : null, orgId, id, sendCount],
  );
  return row ? Number(row.attempts) : null;
}

/**
 * Prepares a new mail for an invitation that is pending or expired: send_count + 1, the old
 * token dies at once (token_hash becomes `tokenHash`, default NULL), new expiry, delivery
 * queued afresh; an expired one is pending again. Returns the new send_count (enqueue the job
 * with it), or null if there is no such invitation or it was accepted or revoked. Reviving an
 * expired invitation while another is pending for the same email raises a unique violation
 * (`UNIQUE_CONSTRAINTS.pendingInvitation`).
 */
export async function prepareResend(
  em: EntityManager,
  orgId: string,
  id: string,
  expiresAt: Date,
  tokenHash: string | null = null,
): Promise<number | null> {
  const [row] = await prepareResends(em, orgId, [{ id, tokenHash }], expiresAt);
  return row ? row.sendCount : null;
}

/**
 * Revokes a pending or expired invitation; its token stops working. Returns the revoked
 * invitation, or null if there is none or it was already accepted or revoked.
 */
export async function revokeInvitation(em: EntityManager, orgId: string, id: string): Promise<InvitationRow | null> {
  const [row] = await em.execute(
    `update invitations i set status = 'revoked', revoked_at = now(), updated_at = now()
     where i.org_id = ? and i.id = ? and i.status in ('pending', 'expired')
     returning ${INVITATION_COLUMNS}`,
    [orgId, id],
  );
  return row ? mapInvitation(row) : null;
}

/**
 * Accepts the invitation for `userId` if it is still pending, unexpired and `tokenHash` is its
 * current token's hash; returns it, or null (then read it to say why). Single use under
 * concurrency: the conditional UPDATE locks the row, and a concurrent attempt re-checks
 * `status = 'pending'` after the winner commits and matches nothing. The caller adds the
 * membership in the same unit of work. Compare the token in constant time before calling.
 */
export async function acceptInvitation(
  em: EntityManager,
  orgId: string,
  id: string,
  userId: string,
  tokenHash: string,
): Promise<InvitationRow | null> {
  const [row] = await em.execute(
    `update invitations i set status = 'accepted', accepted_by_id = ?, accepted_at = now(), updated_at = now()
     where i.org_id = ? and i.id = ? and i.status = 'pending' and i.expires_at > now() and i.token_hash = ?
     returning ${INVITATION_COLUMNS}`,
    [userId, orgId, id, tokenHash],
  );
  return row ? mapInvitation(row) : null;
}

/** An invitation the expiry sweep stored as expired. */
export interface ExpiredInvitation {
  id: string;
  email: string;
  sendCount: number;
  expiresAt: Date;
}

/**
 * Stores `expired` on the org's pending invitations whose expiry is at or before `now`, and
 * returns them (for the audit log). Reads already treat them as expired; this frees their
 * pending slot. Concurrent sweeps of one org each get a disjoint set (the update locks rows).
 */
export async function expireInvitations(
  em: EntityManager,
  orgId: string,
  now: Date = new Date(),
): Promise<ExpiredInvitation[]> {
  const rows = await em.execute<{ id: string; email: string; sendCount: number; expiresAt: unknown }[]>(
    `update invitations set status = 'expired', updated_at = now()
     where org_id = ? and status = 'pending' and expires_at <= ?
     returning id, email, send_count as "sendCount", expires_at as "expiresAt"`,
    [orgId, now],
  );
  return rows.map((r) => ({
    id: r.id,
    email: r.email,
    sendCount: Number(r.sendCount),
    expiresAt: r.expiresAt instanceof Date ? r.expiresAt : new Date(String(r.expiresAt)),
  }));
}

/**
 * A page of the ids of orgs whose invitations the expiry sweep visits (every org not being
 * deleted), in id order after `after`. Organizations are a global table: run it in a
 * platform unit of work.
 */
export async function listOrgIdsForInvitationSweep(
  em: EntityManager,
  after: string | null,
  limit = 1000,
): Promise<string[]> {
  const rows = await em.execute<{ id: string }[]>(
    `select id from organizations where status <> 'deleting' and (?::uuid is null or id > ?::uuid) order by id limit ?`,
    [after, after, Math.min(Math.max(Math.trunc(limit), 1), 10_000)],
  );
  return rows.map((r) => r.id);
}
