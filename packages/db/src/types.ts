/** Org roles, strongest first. Permission rules live in `@tenantry/core`. */
export const ROLES = ['owner', 'admin', 'editor', 'viewer'] as const;
/** An org-level role of a member. */
export type Role = (typeof ROLES)[number];

/** Platform-wide roles of a user. */
export const PLATFORM_ROLES = ['superadmin', 'user'] as const;
/** A user's platform role. */
export type PlatformRole = (typeof PLATFORM_ROLES)[number];

/** Subscription tiers. */
export const TIERS = ['free', 'pro', 'enterprise'] as const;
/** An organization's subscription tier. */
export type Tier = (typeof TIERS)[number];

import type { OrgStatus } from '@tenantry/core';

/** Lifecycle states of an organization (defined by core's tenancy rules). */
export { ORG_STATUSES, type OrgStatus } from '@tenantry/core';

/** Per-org module switches (`{ alerts: false }`); absent keys follow the license. */
export type FeatureOverrides = Record<string, boolean>;

/** A row of `users`. `passwordHash` never leaves the API. */
export interface UserRow {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
  platformRole: PlatformRole;
  defaultOrgId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A row of `sessions`. */
export interface SessionRow {
  id: string;
  tokenHash: string;
  userId: string;
  activeOrgId: string | null;
  createdAt: Date;
  expiresAt: Date;
  lastSeenAt: Date;
  ip: string | null;
  userAgent: string | null;
}

/** A row of `organizations` (the tenant registry). */
export interface OrgRow {
  id: string;
  slug: string;
  name: string;
  description: string | null;
  logoUrl: string | null;
  billingEmail: string | null;
  tier: Tier;
  maxMembers: number | null;
  maxAgents: number | null;
  /** Override of the tier's request budget per minute (null: the tier's). */
  maxRequestsPerMinute: number | null;
  /** When a platform admin suspended the org (null unless suspended). */
  suspendedAt: Date | null;
  featureOverrides: FeatureOverrides;
  isAdminTenancy: boolean;
  status: OrgStatus;
  createdById: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A row of `memberships` (tenant table). */
export interface MembershipRow {
  orgId: string;
  userId: string;
  role: Role;
  isShadow: boolean;
  addedById: string | null;
  createdAt: Date;
}

/** A membership joined with the member's identity, for member lists. */
export interface MemberRow extends MembershipRow {
  email: string;
  name: string;
}

/** An org the user belongs to, with the user's role there. */
export interface UserOrgRow extends OrgRow {
  role: Role;
  isShadow: boolean;
}

/** Stored states of an invitation (the read status is computed by core's `invitationStatus`). */
export const INVITATION_STATUSES = ['pending', 'accepted', 'revoked', 'expired'] as const;
/** An invitation's status. */
export type InvitationStatus = (typeof INVITATION_STATUSES)[number];

/** Delivery states of the current invitation mail. */
export const DELIVERY_STATES = ['queued', 'sent', 'failed'] as const;
/** Where the current invitation mail stands. */
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/**
 * A row of `invitations` (tenant table). `status` is computed from the timestamps on every
 * read, so a pending invitation past `expiresAt` reads `expired` before the sweep stores it.
 * `tokenHash` never leaves the API.
 */
export interface InvitationRow {
  orgId: string;
  id: string;
  email: string;
  role: Role;
  status: InvitationStatus;
  /** sha256 hex of the secret part of the current token; null until the first mail is prepared. */
  tokenHash: string | null;
  /** 1 on creation, +1 on every resend; part of the mail job id. */
  sendCount: number;
  deliveryState: DeliveryState;
  deliveryAttempts: number;
  lastDeliveryError: string | null;
  sentAt: Date | null;
  expiresAt: Date;
  invitedById: string | null;
  acceptedById: string | null;
  acceptedAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** An invitation with its inviter's identity, for lists. */
export interface InvitationListRow extends InvitationRow {
  invitedByEmail: string | null;
  invitedByName: string | null;
}

/** Who acted, in an audit entry. */
export const AUDIT_ACTOR_TYPES = ['user', 'token', 'agent', 'system', 'operator'] as const;
/** Kind of actor of an audit entry. */
export type AuditActorType = (typeof AUDIT_ACTOR_TYPES)[number];

/** A row of `audit_events` (tenant table, append-only, hash-chained per org). */
export interface AuditEventRow {
  orgId: string;
  /** 1, 2, 3… per org, without gaps. */
  seq: number;
  id: string;
  occurredAt: Date;
  actorType: AuditActorType;
  actorId: string | null;
  /** The actor as shown at the time (e.g. the user's email). */
  actorLabel: string | null;
  /** `<domain>.<verb>`, e.g. `invitation.created`. */
  action: string;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  details: Record<string, unknown>;
  /** `hash` of the previous entry of the org (64 zeros for the first). */
  prevHash: string;
  hash: string;
}

/** Kinds of monitored resources (SPEC §8). */
export const RESOURCE_TYPES = ['host', 'vm', 'container', 'storage'] as const;
/** A kind of monitored resource. */
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** Statuses an agent may report for a resource. */
export const RESOURCE_STATUSES = ['online', 'offline', 'running', 'stopped', 'paused', 'degraded', 'unknown'] as const;
/** A resource's reported status. */
export type ResourceStatus = (typeof RESOURCE_STATUSES)[number];

/** Roles of a share: read; read and update settings; also re-share. */
export const SHARE_ROLES = ['viewer', 'editor', 'admin'] as const;
/** The role a share grants the receiving org. */
export type ShareRole = (typeof SHARE_ROLES)[number];

/** A row of `api_tokens` (global). `tokenHash` never leaves the API. */
export interface ApiTokenRow {
  id: string;
  userId: string;
  name: string;
  tokenHash: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** A row of `api_token_orgs` (tenant table): an org a token reaches. */
export interface ApiTokenBindingRow {
  orgId: string;
  tokenId: string;
  userId: string;
  role: Role;
  createdAt: Date;
}
