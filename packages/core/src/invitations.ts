import { DomainError } from './errors.js';

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

/** Throws unless the accepting user's email is the invited one (THREATS: Grafana CVE-2022-39306). */
export function assertInviteeEmail({ invited, accepting }: { invited: string; accepting: string }): void {
  if (normalizeEmail(invited) !== normalizeEmail(accepting)) {
    throw new DomainError(
      'INVITATION_EMAIL_MISMATCH',
      `This invitation was sent to ${invited}; you are signed in as ${accepting}. Sign out and open the link again, or ask for an invitation to your address.`,
    );
  }
}
