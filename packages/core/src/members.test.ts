import { describe, expect, it } from 'vitest';
import { DomainError, type ErrorCode } from './errors.js';
import {
  assertCanAddMember,
  assertCanChangeRole,
  assertCanLeave,
  assertCanRemoveMember,
  assertCanTransferOwnership,
} from './members.js';

function refusal(fn: () => void): ErrorCode | null {
  try {
    fn();
    return null;
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
}

describe('changing roles', () => {
  it('lets admins move members between admin, editor and viewer', () => {
    expect(
      refusal(() => assertCanChangeRole({ actorRole: 'admin', targetRole: 'viewer', newRole: 'admin', ownerCount: 1 })),
    ).toBeNull();
  });

  it('keeps ownership for owners', () => {
    expect(
      refusal(() => assertCanChangeRole({ actorRole: 'admin', targetRole: 'viewer', newRole: 'owner', ownerCount: 1 })),
    ).toBe('OWNERSHIP_REQUIRED');
    expect(
      refusal(() => assertCanChangeRole({ actorRole: 'admin', targetRole: 'owner', newRole: 'viewer', ownerCount: 2 })),
    ).toBe('OWNERSHIP_REQUIRED');
    expect(
      refusal(() => assertCanChangeRole({ actorRole: 'owner', targetRole: 'owner', newRole: 'admin', ownerCount: 2 })),
    ).toBeNull();
  });

  it('refuses editors and viewers', () => {
    expect(
      refusal(() =>
        assertCanChangeRole({ actorRole: 'editor', targetRole: 'viewer', newRole: 'editor', ownerCount: 1 }),
      ),
    ).toBe('PERMISSION_DENIED');
    expect(
      refusal(() =>
        assertCanChangeRole({ actorRole: 'viewer', targetRole: 'viewer', newRole: 'viewer', ownerCount: 1 }),
      ),
    ).toBe('PERMISSION_DENIED');
  });

  it('never demotes the last owner', () => {
    expect(
      refusal(() => assertCanChangeRole({ actorRole: 'owner', targetRole: 'owner', newRole: 'admin', ownerCount: 1 })),
    ).toBe('LAST_OWNER');
  });
});

describe('adding and removing members', () => {
  it('lets admins add non-owners only', () => {
    expect(refusal(() => assertCanAddMember({ actorRole: 'admin', role: 'editor' }))).toBeNull();
    expect(refusal(() => assertCanAddMember({ actorRole: 'admin', role: 'owner' }))).toBe('OWNERSHIP_REQUIRED');
    expect(refusal(() => assertCanAddMember({ actorRole: 'owner', role: 'owner' }))).toBeNull();
    expect(refusal(() => assertCanAddMember({ actorRole: 'editor', role: 'viewer' }))).toBe('PERMISSION_DENIED');
  });

  it('lets admins remove non-owners, and nobody the last owner', () => {
    expect(
      refusal(() => assertCanRemoveMember({ actorRole: 'admin', targetRole: 'editor', ownerCount: 1, isSelf: false })),
    ).toBeNull();
    expect(
      refusal(() => assertCanRemoveMember({ actorRole: 'admin', targetRole: 'owner', ownerCount: 2, isSelf: false })),
    ).toBe('OWNERSHIP_REQUIRED');
    expect(
      refusal(() => assertCanRemoveMember({ actorRole: 'owner', targetRole: 'owner', ownerCount: 2, isSelf: false })),
    ).toBeNull();
    expect(
      refusal(() => assertCanRemoveMember({ actorRole: 'owner', targetRole: 'owner', ownerCount: 1, isSelf: true })),
    ).toBe('LAST_OWNER');
    expect(
      refusal(() => assertCanRemoveMember({ actorRole: 'viewer', targetRole: 'viewer', ownerCount: 1, isSelf: false })),
    ).toBe('PERMISSION_DENIED');
  });
});

describe('leaving and transferring', () => {
  it('refuses the last owner leaving', () => {
    expect(refusal(() => assertCanLeave({ role: 'owner', ownerCount: 1 }))).toBe('LAST_OWNER');
    expect(refusal(() => assertCanLeave({ role: 'owner', ownerCount: 2 }))).toBeNull();
    expect(refusal(() => assertCanLeave({ role: 'viewer', ownerCount: 1 }))).toBeNull();
  });

  it('lets only owners transfer ownership, to someone else', () => {
    expect(refusal(() => assertCanTransferOwnership({ actorRole: 'owner', isSelf: false }))).toBeNull();
    expect(refusal(() => assertCanTransferOwnership({ actorRole: 'admin', isSelf: false }))).toBe('OWNERSHIP_REQUIRED');
    expect(refusal(() => assertCanTransferOwnership({ actorRole: 'owner', isSelf: true }))).toBe('VALIDATION_FAILED');
  });
});
