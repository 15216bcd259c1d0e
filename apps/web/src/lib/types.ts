import type { RouterOutputs } from './trpc';

/** The signed-in user with their active org and memberships. */
export type Me = NonNullable<RouterOutputs['auth']['me']>;
export type Membership = Me['memberships'][number];
export type SystemConfig = RouterOutputs['system']['config'];
/** The active organization as `org.current` returns it (detail, role, modules, permissions). */
export type CurrentOrg = RouterOutputs['org']['current'];
export type Member = RouterOutputs['members']['list']['members'][number];
export type OrgRole = Member['role'];
export type Permission = CurrentOrg['permissions'][number];
export type LicenseStatus = RouterOutputs['admin']['license']['get'];
export type Invitation = RouterOutputs['invitations']['list']['invitations'][number];
export type InvitationPreview = RouterOutputs['invitations']['byToken'];
export type DevMailSummary = RouterOutputs['devInbox']['list']['mails'][number];
export type DevMail = RouterOutputs['devInbox']['byId'];

export const ORG_ROLES: readonly OrgRole[] = ['owner', 'admin', 'editor', 'viewer'];

/** Whether the signed-in member's role in `org` grants `permission` (decided by the server). */
export function allows(org: CurrentOrg | undefined, permission: Permission): boolean {
  return org?.permissions.includes(permission) ?? false;
}

/** Platform administrators manage the license and every tenant. */
export function isSuperadmin(me: Me | null | undefined): boolean {
  return me?.user.platformRole === 'superadmin';
}

/** Whether this user may create organizations on this server (`ORG_CREATION`). */
export function mayCreateOrgs(me: Me | null | undefined, config: SystemConfig | undefined): boolean {
  if (!config?.multiTenantEnabled) return false;
  return config.orgCreation === 'any' || isSuperadmin(me);
}
