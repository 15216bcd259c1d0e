import { describe, expect, it } from 'vitest';
import { DomainError } from './errors.js';
import {
  chunked,
  distinctEmails,
  isValidEmail,
  MAX_INVITATIONS_PER_REQUEST,
  parseInvitationList,
  planInvitations,
} from './invitation-batches.js';
import { checkMemberLimit } from './limits.js';

function refusal(fn: () => void): DomainError | null {
  try {
    fn();
    return null;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
}

describe('planning a batch of invitations', () => {
  const requests = [
    { email: ' Ann@Example.com ', role: 'editor' as const },
    { email: 'member@example.com', role: 'viewer' as const },
    { email: 'ann@example.com', role: 'admin' as const },
    { email: 'pending@example.com', role: 'admin' as const },
    { email: 'new@example.com', role: 'viewer' as const },
  ];

  it('lists each normalized email once, in order', () => {
    expect(distinctEmails(requests)).toEqual([
      'ann@example.com',
      'member@example.com',
      'pending@example.com',
      'new@example.com',
    ]);
  });

  it('skips members, resends pending invitations, creates the rest, and counts repeats once', () => {
    const plan = planInvitations(requests, {
      members: new Set(['member@example.com']),
      pending: new Map([['pending@example.com', { id: 'p1' }]]),
    });
    expect(plan.create).toEqual([
      { index: 0, email: 'ann@example.com', role: 'editor' },
      { index: 4, email: 'new@example.com', role: 'viewer' },
    ]);
    expect(plan.resend).toEqual([{ index: 3, email: 'pending@example.com', role: 'admin', pending: { id: 'p1' } }]);
    expect(plan.skip).toEqual([{ index: 1, email: 'member@example.com', role: 'viewer' }]);
    expect(plan.duplicates).toBe(1);
  });

  it('skips a member even when an invitation of theirs is still pending', () => {
    const plan = planInvitations([{ email: 'both@example.com', role: 'viewer' }], {
      members: new Set(['both@example.com']),
      pending: new Map([['both@example.com', 1]]),
    });
    expect(plan.skip).toHaveLength(1);
    expect(plan.resend).toHaveLength(0);
  });
});

describe('the member limit for a batch', () => {
  it('lets in as many new invitations as there are seats, and resends at the limit', () => {
    expect(refusal(() => checkMemberLimit({ members: 1, pending: 1, limit: 5, adding: 3 }))).toBeNull();
    expect(refusal(() => checkMemberLimit({ members: 3, pending: 2, limit: 5, adding: 0 }))).toBeNull();
    expect(refusal(() => checkMemberLimit({ members: 900, limit: null, adding: 500 }))).toBeNull();
  });

  it('refuses a batch that does not fit and says how many seats are left', () => {
    const error = refusal(() => checkMemberLimit({ members: 1, pending: 1, limit: 3, adding: 4 }));
    expect(error?.code).toBe('LIMIT_REACHED');
    expect(error?.message).toBe(
      'This organization is limited to 3 members and has 1 seat left (1 members, 1 pending invitations), not enough for 4 new invitations: invite at most 1, remove someone or raise the plan.',
    );
    expect(error?.details).toMatchObject({ limit: 3, left: 1, adding: 4 });
  });

  it('says so when no seat is left', () => {
    expect(refusal(() => checkMemberLimit({ members: 3, limit: 3 }))?.message).toMatch(
      /^This organization is limited to 3 members and has no seat left/,
    );
  });
});

describe('reading a pasted list of addresses', () => {
  it('takes one per line, or separated by commas, semicolons and spaces, normalized', () => {
    const list = parseInvitationList('ann@example.com\n Bob@Example.COM , cy@example.com; dee@example.com eve@x.io', {
      defaultRole: 'viewer',
    });
    expect(list.entries.map((e) => e.email)).toEqual([
      'ann@example.com',
      'bob@example.com',
      'cy@example.com',
      'dee@example.com',
      'eve@x.io',
    ]);
    expect(list.entries.every((e) => e.role === 'viewer')).toBe(true);
    expect(list.entries.map((e) => e.line)).toEqual([1, 2, 2, 2, 2]);
    expect(list.invalid).toEqual([]);
  });

  it('reads email,role CSV lines with a header, comments and blank lines', () => {
    const list = parseInvitationList(
      'email,role\n# the team\nann@example.com,admin\n\nbob@example.com, Editor\ncy@example.com',
      {
        defaultRole: 'viewer',
      },
    );
    expect(list.entries).toEqual([
      { line: 3, email: 'ann@example.com', role: 'admin' },
      { line: 5, email: 'bob@example.com', role: 'editor' },
      { line: 6, email: 'cy@example.com', role: 'viewer' },
    ]);
  });

  it('takes the address out of display names, as mail programs copy them', () => {
    const list = parseInvitationList('Ann Example <ann@example.com>; "Doe, Jane" <jane@example.com>', {
      defaultRole: 'editor',
    });
    expect(list.entries.map((e) => e.email)).toEqual(['ann@example.com', 'jane@example.com']);
    expect(list.invalid).toEqual([]);
  });

  it('names each invalid entry with its line and why, and counts repeats once', () => {
    const list = parseInvitationList(
      'ann@example.com\nnot-an-email\nbob@\nann@EXAMPLE.com\nviewer\ncy@example.com,manager',
      {
        defaultRole: 'viewer',
      },
    );
    expect(list.entries.map((e) => e.email)).toEqual(['ann@example.com', 'cy@example.com']);
    expect(list.duplicates).toBe(1);
    expect(list.invalid).toEqual([
      { line: 2, text: 'not-an-email', reason: 'neither an email address nor a role (owner, admin, editor, viewer)' },
      { line: 3, text: 'bob@', reason: 'not a valid email address' },
      { line: 5, text: 'viewer', reason: 'a role without an address before it' },
      { line: 6, text: 'manager', reason: 'neither an email address nor a role (owner, admin, editor, viewer)' },
    ]);
  });

  it('refuses roles the inviter may not grant', () => {
    const list = parseInvitationList('boss@example.com,owner\nann@example.com', {
      defaultRole: 'viewer',
      roles: ['admin', 'editor', 'viewer'],
    });
    expect(list.entries.map((e) => e.email)).toEqual(['ann@example.com']);
    expect(list.invalid).toEqual([{ line: 1, text: 'boss@example.com,owner', reason: 'you cannot invite as owner' }]);
  });

  it('accepts what the API accepts', () => {
    expect(isValidEmail('a.b+tag@sub.example.com')).toBe(true);
    expect(isValidEmail('a..b@example.com')).toBe(false);
    expect(isValidEmail(`${'a'.repeat(250)}@x.io`)).toBe(false);
  });
});

describe('chunks', () => {
  it('splits a long list into requests the API takes', () => {
    const items = Array.from({ length: 250 }, (_, i) => i);
    expect(chunked(items, 100).map((c) => c.length)).toEqual([100, 100, 50]);
    expect(chunked(items).every((c) => c.length <= MAX_INVITATIONS_PER_REQUEST)).toBe(true);
    expect(chunked([], 100)).toEqual([]);
  });
});
