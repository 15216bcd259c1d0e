import { DomainError } from './errors.js';
import { can, ORG_ROLES, type OrgRole } from './permissions.js';

/** Default lifetime of an invitation (SPEC §4), overridable with INVITATION_TTL. */
export const DEFAULT_INVITATION_TTL_MS = 7 * 86_400_000;

export type InvitationStatus = 'pending' | 'accepted' | 'revoked' | 'expired';

export interface InvitationState {
  expiresAt: Date;
  acceptedAt?: Date | null;
  revokedAt?: Date | null;
}

/**
 * The status of an invitation at `now`. Expiry is computed on every read, so a missed
 * expiry run never lets an expired token through.
 */
export function invitationStatus(state: InvitationState, now: Date = new Date()): InvitationStatus {
  if (state.acceptedAt) return 'accepted';
  if (state.revokedAt) return 'revoked';
  if (state.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'pending';
}

/** Throws the code that says why an invitation cannot be accepted, resent or revoked. */
export function assertInvitationPending(state: InvitationState, now: Date = new Date()): void {
  const status = invitationStatus(state, now);
  if (status === 'accepted') throw new DomainError('INVITATION_USED');
  if (status === 'revoked') throw new DomainError('INVITATION_REVOKED');
  if (status === 'expired') throw new DomainError('INVITATION_EXPIRED');
}

/** Emails are compared case-insensitively and without surrounding spaces. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Whether `accepting` is the invited address (case and surrounding spaces aside). */
export function isInviteeEmail({ invited, accepting }: { invited: string; accepting: string }): boolean {
  return normalizeEmail(invited) === normalizeEmail(accepting);
}

/** What a person signed in with another address is told (the API's refusal and the web page say the same). */
export function inviteeMismatchMessage({ invited, accepting }: { invited: string; accepting: string }): string {
  return `This invitation was sent to ${invited}; you are signed in as ${accepting}. Sign out and open the link again, or ask for an invitation to your address.`;
}

/** Throws unless the accepting user's email is the invited one (THREATS: Grafana CVE-2022-39306). */
export function assertInviteeEmail({ invited, accepting }: { invited: string; accepting: string }): void {
  if (!isInviteeEmail({ invited, accepting })) {
    throw new DomainError('INVITATION_EMAIL_MISMATCH', inviteeMismatchMessage({ invited, accepting }));
  }
}

/**
 * The roles a member may invite someone with: none without `invitations.create`, and
 * `owner` only for owners (as when adding a member).
 */
export function invitableRoles(role: OrgRole): OrgRole[] {
  if (!can(role, 'invitations.create') || !can(role, 'members.add')) return [];
  return ORG_ROLES.filter((r) => r !== 'owner' || role === 'owner');
}

/** A budget of attempts: `points` per `seconds`. */
export interface AttemptBudget {
  points: number;
  seconds: number;
}

/**
 * How often an invitation may be tried (accepting it, or signing up with it), per invitation
 * and per client address. Tokens carry 256 random bits, so this is not what stops guessing;
 * it keeps a script from hammering one link or walking many, at little cost to a person who
 * mistypes a password a few times.
 */
export const INVITATION_ATTEMPT_LIMITS: { perInvitation: AttemptBudget; perAddress: AttemptBudget } = {
  perInvitation: { points: 10, seconds: 15 * 60 },
  perAddress: { points: 30, seconds: 15 * 60 },
};
