import { DomainError } from './errors.js';
import { minRole, type OrgRole, roleAtLeast } from './permissions.js';

/** Lifecycle states of an organization (SPEC §2). */
export const ORG_STATUSES = ['active', 'suspended', 'pending_deletion', 'deleting'] as const;
export type OrgStatus = (typeof ORG_STATUSES)[number];

/**
 * Throws unless an org in `status` serves its data. A suspended org answers ORG_SUSPENDED, an
 * org waiting for or undergoing deletion ORG_DELETION_PENDING. Procedures that let members see
 * the state and leave (the org's own detail, switching, leaving, restoring) opt out.
 */
export function assertOrgServes(status: OrgStatus): void {
  if (status === 'suspended') throw new DomainError('ORG_SUSPENDED');
  if (status === 'pending_deletion' || status === 'deleting') throw new DomainError('ORG_DELETION_PENDING');
}

/** Whether an org in `status` serves its data (live connections and tokens of others are cut). */
export function orgServes(status: OrgStatus): boolean {
  return status === 'active';
}

/**
 * The role an API token acts with in one org: its binding's role, never more than the user's
 * own role there today (a demoted user's tokens are demoted with them).
 */
export function tokenRole(memberRole: OrgRole, bindingRole: OrgRole): OrgRole {
  return minRole(memberRole, bindingRole);
}

/** Throws unless a user with `memberRole` may bind a token to the org with `requested`. */
export function assertTokenBinding({ memberRole, requested }: { memberRole: OrgRole; requested: OrgRole }): void {
  if (!roleAtLeast(memberRole, requested)) {
    throw new DomainError(
      'PERMISSION_DENIED',
      `A token cannot hold more than your own role: you are ${memberRole} in this organization, the token asked for ${requested}.`,
    );
  }
}

/**
 * Redis keys and pub/sub channels of an org all start with `org:{orgId}:` (SPEC §7), so a
 * deletion can sweep them by pattern and nothing of one org is ever read under another's key.
 */
export function orgKey(orgId: string, ...parts: string[]): string {
  return ['org', orgId, ...parts].join(':');
}

/** The Redis pattern matching every key of an org (for deletion sweeps). */
export function orgKeyPattern(orgId: string): string {
  return `org:${orgId}:*`;
}
