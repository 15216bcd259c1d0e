import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';
import { DomainError } from './errors.js';
import {
  assertInvitationPending,
  assertInviteeEmail,
  INVITATION_ATTEMPT_LIMITS,
  invitableRoles,
  invitationStatus,
  inviteeMismatchMessage,
  isInviteeEmail,
  normalizeEmail,
} from './invitations.js';

const now = new Date('2026-06-01T12:00:00Z');
const later = new Date('2026-06-08T12:00:00Z');

function code(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (error) {
    return error instanceof DomainError ? error.code : 'OTHER';
  }
}

describe('invitation status', () => {
  it('is pending until it expires, is accepted or is revoked', () => {
    expect(invitationStatus({ expiresAt: later }, now)).toBe('pending');
    expect(invitationStatus({ expiresAt: now }, now)).toBe('expired');
    expect(invitationStatus({ expiresAt: later, acceptedAt: now }, now)).toBe('accepted');
    expect(invitationStatus({ expiresAt: later, revokedAt: now }, now)).toBe('revoked');
  });

  it('answers a distinct code for each dead state', () => {
    expect(code(() => assertInvitationPending({ expiresAt: later }, now))).toBeNull();
    expect(code(() => assertInvitationPending({ expiresAt: now }, now))).toBe('INVITATION_EXPIRED');
    expect(code(() => assertInvitationPending({ expiresAt: later, acceptedAt: now }, now))).toBe('INVITATION_USED');
    expect(code(() => assertInvitationPending({ expiresAt: later, revokedAt: now }, now))).toBe('INVITATION_REVOKED');
  });
});

describe('invitee email', () => {
  it('matches case-insensitively', () => {
    expect(normalizeEmail('  Ann@Example.COM ')).toBe('ann@example.com');
    expect(code(() => assertInviteeEmail({ invited: 'ann@example.com', accepting: 'ANN@example.com' }))).toBeNull();
  });

  it('refuses another address and names both', () => {
    expect(() => assertInviteeEmail({ invited: 'ann@example.com', accepting: 'bob@example.com' })).toThrow(
      /ann@example\.com.*bob@example\.com/,
    );
  });
});

describe('when the accepting user signed in with another address', () => {
  it('is told which address the invitation is for and which one they use, with the code', () => {
    expect(isInviteeEmail({ invited: 'ann@example.com', accepting: ' Ann@Example.com' })).toBe(true);
    expect(isInviteeEmail({ invited: 'ann@example.com', accepting: 'bob@example.com' })).toBe(false);
    const message = inviteeMismatchMessage({ invited: 'ann@example.com', accepting: 'bob@example.com' });
    expect(message).toContain('sent to ann@example.com');
    expect(message).toContain('signed in as bob@example.com');
    let thrown: unknown;
    try {
      assertInviteeEmail({ invited: 'ann@example.com', accepting: 'bob@example.com' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'INVITATION_EMAIL_MISMATCH', status: 403, message });
  });
});

describe('roles a member may invite with', () => {
  it('lets owners invite with every role, admins with every role but owner, and nobody else', () => {
    expect(invitableRoles('owner')).toEqual(['owner', 'admin', 'editor', 'viewer']);
    expect(invitableRoles('admin')).toEqual(['admin', 'editor', 'viewer']);
    expect(invitableRoles('editor')).toEqual([]);
    expect(invitableRoles('viewer')).toEqual([]);
  });
});

describe('invitation attempt limits', () => {
  it('leave room for a person retrying and stop a script, per invitation before per address', () => {
    const { perInvitation, perAddress } = INVITATION_ATTEMPT_LIMITS;
    expect(perInvitation.points).toBeGreaterThanOrEqual(5);
    expect(perAddress.points).toBeGreaterThan(perInvitation.points);
    expect(perAddress.points / perAddress.seconds).toBeLessThanOrEqual(0.1);
  });
});

describe('durations', () => {
  it.each([
    ['7d', 604_800_000],
    ['12h', 43_200_000],
    ['30m', 1_800_000],
    ['45s', 45_000],
    ['500ms', 500],
    ['90', 90_000],
    ['1w', 604_800_000],
  ])('parses %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'seven days', '7 days', '-1d', '1y'])('refuses %s', (text) => {
    expect(parseDuration(text)).toBeNull();
  });
});
