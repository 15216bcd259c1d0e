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

/** Lifecycle states of an organization. */
export const ORG_STATUSES = ['active', 'suspended', 'pending_deletion', 'deleting'] as const;
/** An organization's lifecycle state. */
export type OrgStatus = (typeof ORG_STATUSES)[number];

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
