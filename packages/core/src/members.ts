import { DomainError } from './errors.js';
import { can, type OrgRole } from './permissions.js';

/**
 * Membership rules of SPEC §2–3: every org keeps at least one owner, and only owners touch
 * ownership (grant it, take it away, or remove an owner).
 */

export interface RoleChange {
  actorRole: OrgRole;
  targetRole: OrgRole;
  newRole: OrgRole;
  /** owners of the org before the change */
  ownerCount: number;
}

/** Throws unless the actor may change the target's role to `newRole`. */
export function assertCanChangeRole({ actorRole, targetRole, newRole, ownerCount }: RoleChange): void {
  if (!can(actorRole, 'members.update')) throw new DomainError('PERMISSION_DENIED');
  if ((targetRole === 'owner' || newRole === 'owner') && actorRole !== 'owner') {
    throw new DomainError('OWNERSHIP_REQUIRED', 'Only an owner can grant or take away ownership.');
  }
  if (targetRole === 'owner' && newRole !== 'owner' && ownerCount <= 1) throw new DomainError('LAST_OWNER');
}

export interface MemberAddition {
  actorRole: OrgRole;
  role: OrgRole;
}

/** Throws unless the actor may add a member with `role`. */
export function assertCanAddMember({ actorRole, role }: MemberAddition): void {
  if (!can(actorRole, 'members.add')) throw new DomainError('PERMISSION_DENIED');
  if (role === 'owner' && actorRole !== 'owner') {
    throw new DomainError('OWNERSHIP_REQUIRED', 'Only an owner can add another owner.');
  }
}

export interface MemberRemoval {
  actorRole: OrgRole;
  targetRole: OrgRole;
  ownerCount: number;
  isSelf: boolean;
}

/** Throws unless the actor may remove the target (removing oneself is `leave`). */
export function assertCanRemoveMember({ actorRole, targetRole, ownerCount, isSelf }: MemberRemoval): void {
  if (!isSelf && !can(actorRole, 'members.remove')) throw new DomainError('PERMISSION_DENIED');
  if (!isSelf && targetRole === 'owner' && actorRole !== 'owner') {
    throw new DomainError('OWNERSHIP_REQUIRED', 'Only an owner can remove an owner.');
  }
  if (targetRole === 'owner' && ownerCount <= 1) throw new DomainError('LAST_OWNER');
}

/** Throws unless a member may leave: the last owner must hand over ownership first. */
export function assertCanLeave({ role, ownerCount }: { role: OrgRole; ownerCount: number }): void {
  if (role === 'owner' && ownerCount <= 1) throw new DomainError('LAST_OWNER');
}

/** Throws unless the actor may transfer ownership to the target member. */
export function assertCanTransferOwnership({ actorRole, isSelf }: { actorRole: OrgRole; isSelf: boolean }): void {
  if (!can(actorRole, 'org.transfer')) throw new DomainError('OWNERSHIP_REQUIRED');
  if (isSelf) throw new DomainError('VALIDATION_FAILED', 'You already own this organization: pick another member.');
}
