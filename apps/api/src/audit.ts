import type { MembershipRow, UserRow } from '@tenantry/db';
import {
  type AuditEventInput,
  type AuditEventRow,
  appendAuditEvent,
  appendAuditEvents,
  type EntityManager,
} from '@tenantry/db';
import type { Actor } from './trpc.js';

/** What a procedure says about its change; the actor, address and org come from the request. */
export type AuditEntry = Omit<AuditEventInput, 'actorType' | 'actorId' | 'actorLabel' | 'ip'>;

/**
 * Who acted, as the audit log records it: a user (an `operator` when acting through a shadow
 * membership of the admin tenancy) or an API token.
 */
export function auditActor(
  actor: Actor,
  user: Pick<UserRow, 'email'>,
  membership: Pick<MembershipRow, 'isShadow'> | null,
): Pick<AuditEventInput, 'actorType' | 'actorId' | 'actorLabel'> {
  if (actor.kind === 'token') {
    return { actorType: 'token', actorId: actor.tokenId, actorLabel: `${actor.tokenName} (${user.email})` };
  }
  return { actorType: membership?.isShadow ? 'operator' : 'user', actorId: actor.userId, actorLabel: user.email };
}

const SECRET_KEY = /password|token|secret|key/i;
const MAX_DETAIL_CHARS = 4000;

/** A procedure's input as audit details: without the org reference, secrets or oversized values. */
export function inputDetails(raw: unknown): Record<string, unknown> {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return {};
  const details: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (key === 'orgId') continue;
    details[key] = SECRET_KEY.test(key) ? '[redacted]' : value;
  }
  const json = JSON.stringify(details);
  return json.length > MAX_DETAIL_CHARS ? { truncated: true, fields: Object.keys(details) } : details;
}

/** Appends an entry for the request's actor to the org's log, in the request's unit of work. */
export function appendRequestAudit(
  em: EntityManager,
  orgId: string,
  who: Pick<AuditEventInput, 'actorType' | 'actorId' | 'actorLabel'> & { ip: string | null },
  entry: AuditEntry,
): Promise<AuditEventRow> {
  return appendAuditEvent(em, orgId, { ...who, ...entry });
}

/**
 * Appends several entries for the request's actor at once, in order (one lock, one read of the
 * org's chain head, one insert), in the request's unit of work.
 */
export function appendRequestAudits(
  em: EntityManager,
  orgId: string,
  who: Pick<AuditEventInput, 'actorType' | 'actorId' | 'actorLabel'> & { ip: string | null },
  entries: readonly AuditEntry[],
): Promise<AuditEventRow[]> {
  return appendAuditEvents(
    em,
    orgId,
    entries.map((entry) => ({ ...who, ...entry })),
  );
}
