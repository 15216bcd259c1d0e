import { randomUUID } from 'node:crypto';
import { normalizeEmail } from '@tenantry/core';
import type { EntityManager } from '../db.js';
import type { InvitationRow } from '../types.js';
import type { CreateInvitationInput } from './invitations.js';
import { INVITATION_COLUMNS, mapInvitation } from './rows.js';

// Invitations of one org in batches (bulk invitations): each function is ONE statement
// whatever the batch size, with the batch as one JSON parameter (the driver inlines
// parameters, and thousands of them cost more than the statement). Same rules as
// invitations.ts: the org id is passed and filtered on, inside db.tenant({ orgId }).

// Two-key advisory locks (namespace, key), apart from the audit log's (7_261_004).
const INVITATION_LOCK_NAMESPACE = 7_261_005;

/** The texts of a JSON-array parameter, as a set to filter with. */
const TEXT_SET = '(select v from jsonb_array_elements_text(?::jsonb) v)';

/**
 * Serialises the org's invitation writes until the caller's transaction (db.tenant) ends, so
 * the member-limit count and the pending lookup of one batch still hold when it inserts: two
 * batches at once cannot both take the last seats, nor both insert one email. Take it first,
 * before reading; accepting and revoking do not take it (they lock the invitation's row).
 */
export async function lockOrgInvitations(em: EntityManager, orgId: string): Promise<void> {
  await em.execute('select pg_advisory_xact_lock(?::int, ?::int)', [
    INVITATION_LOCK_NAMESPACE,
    Number.parseInt(orgId.slice(0, 8), 16) | 0,
  ]);
}

/**
 * The emails among `emails` (normalized) of members of the org, shadow members included, in
 * one statement.
 */
export async function findMemberEmails(
  em: EntityManager,
  orgId: string,
  emails: readonly string[],
): Promise<Set<string>> {
  if (emails.length === 0) return new Set();
  const rows = await em.execute<{ email: string }[]>(
    `select u.email from memberships m join users u on u.id = m.user_id
     where m.org_id = ? and u.email in (${TEXT_SET})`,
    [orgId, JSON.stringify(emails.map(normalizeEmail))],
  );
  return new Set(rows.map((r) => r.email));
}

/** What the member limit counts at invite time: members (shadow ones excluded) and pending invitations. */
export interface MemberSeats {
  members: number;
  pending: number;
}

/** Members and pending (unexpired) invitations of the org, in one statement. */
export async function countMemberSeats(em: EntityManager, orgId: string): Promise<MemberSeats> {
  const [row] = await em.execute<{ members: number; pending: number }[]>(
    `select (select count(*)::int from memberships where org_id = ? and not is_shadow) as members,
       (select count(*)::int from invitations where org_id = ? and status = 'pending' and expires_at > now()) as pending`,
    [orgId, orgId],
  );
  return { members: Number(row?.members ?? 0), pending: Number(row?.pending ?? 0) };
}

/**
 * The pending invitations of the org for these emails (normalized), by email, in one
 * statement. The rows stay locked until the caller's transaction ends, so an accept or a
 * revoke cannot slip in before they are resent (locked in id order: concurrent batches
 * wait for each other instead of deadlocking).
 */
export async function lockPendingInvitationsByEmail(
  em: EntityManager,
  orgId: string,
  emails: readonly string[],
): Promise<Map<string, InvitationRow>> {
  if (emails.length === 0) return new Map();
  const rows = await em.execute(
    `select ${INVITATION_COLUMNS} from invitations i
     where i.org_id = ? and i.status = 'pending' and i.email in (${TEXT_SET})
     order by i.id for update of i`,
    [orgId, JSON.stringify(emails.map(normalizeEmail))],
  );
  return new Map(rows.map((r) => [r.email as string, mapInvitation(r)]));
}

/** What `createInvitations` made of a batch. */
export interface CreatedInvitations {
  /** The new invitations, in the order of the input. */
  created: InvitationRow[];
  /**
   * Normalized emails that already held the org's pending slot, so nothing was inserted for
   * them (e.g. a concurrent request invited them first): resend those instead.
   */
  conflicts: string[];
}

/**
 * Inserts pending invitations of one org in ONE statement (send_count 1, delivery queued, each
 * with its first mail's token hash if given), emails normalized. An email that already holds
 * the org's pending slot is skipped and reported in `conflicts`, without aborting the
 * caller's transaction.
 */
export async function createInvitations(
  em: EntityManager,
  orgId: string,
  inputs: readonly Omit<CreateInvitationInput, 'orgId'>[],
): Promise<CreatedInvitations> {
  if (inputs.length === 0) return { created: [], conflicts: [] };
  const records = inputs.map((input) => ({
    id: input.id ?? randomUUID(),
    email: normalizeEmail(input.email),
    role: input.role,
    expires_at: input.expiresAt.toISOString(),
    invited_by_id: input.invitedById ?? null,
    token_hash: input.tokenHash ?? null,
  }));
  // ON CONFLICT rather than catching the violation: an error would abort the caller's
  // transaction, and a concurrent insert of the same email waits here and then conflicts.
  // One JSON parameter for the whole batch: the driver inlines parameters.
  const rows = await em.execute(
    `insert into invitations as i (org_id, id, email, role, status, send_count, delivery_state, expires_at,
       invited_by_id, token_hash)
     select ?::uuid, x.id, x.email, x.role, 'pending', 1, 'queued', x.expires_at, x.invited_by_id, x.token_hash
     from jsonb_to_recordset(?::jsonb) as x(id uuid, email text, role text, expires_at timestamptz,
       invited_by_id uuid, token_hash text)
     on conflict (org_id, email) where status = 'pending' do nothing
     returning ${INVITATION_COLUMNS}`,
    [orgId, JSON.stringify(records)],
  );
  const byId = new Map(rows.map((r) => [r.id as string, mapInvitation(r)]));
  const created: InvitationRow[] = [];
  const conflicts: string[] = [];
  for (const record of records) {
    const row = byId.get(record.id);
    if (row) created.push(row);
    else conflicts.push(record.email);
  }
  return { created, conflicts };
}

/** One invitation to resend, with the hash of its new mail's token. */
export interface ResendInput {
  id: string;
  tokenHash?: string | null;
}

/**
 * `prepareResend` for several invitations of the org in ONE statement, all with the same new
 * expiry. Returns the invitations it moved on (with their new send_count), in no particular
 * order; one missing from the answer was accepted, revoked or is gone.
 */
export async function prepareResends(
  em: EntityManager,
  orgId: string,
  resends: readonly ResendInput[],
  expiresAt: Date,
): Promise<InvitationRow[]> {
  if (resends.length === 0) return [];
  const rows = await em.execute(
    `update invitations i set send_count = i.send_count + 1, token_hash = x.token_hash, expires_at = ?,
       status = 'pending', delivery_state = 'queued', delivery_attempts = 0, last_delivery_error = null,
       sent_at = null, updated_at = now()
     from jsonb_to_recordset(?::jsonb) as x(id uuid, token_hash text)
     where i.org_id = ? and i.id = x.id and i.status in ('pending', 'expired')
     returning ${INVITATION_COLUMNS}`,
    [expiresAt, JSON.stringify(resends.map((r) => ({ id: r.id, token_hash: r.tokenHash ?? null }))), orgId],
  );
  return rows.map((r) => mapInvitation(r));
}
