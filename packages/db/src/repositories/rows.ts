import { invitationStatus } from '@tenantry/core';
import type {
  AuditEventRow,
  InvitationListRow,
  InvitationRow,
  MemberRow,
  MembershipRow,
  OrgRow,
  SessionRow,
  UserOrgRow,
  UserRow,
} from '../types.js';

// Raw SQL selects alias columns to the camelCase row shape. Timestamps come back as strings
// from MikroORM's pg driver and as Dates from PGlite, so the mappers normalise them.

export type Raw = Record<string, unknown>;

function toDate(value: unknown): Date {
  return value instanceof Date ? value : new Date(value as string);
}

function toDateOrNull(value: unknown): Date | null {
  return value === null || value === undefined ? null : toDate(value);
}

/** Column list of `users` aliased to `UserRow` (`alias` prefixes each column). */
export function userColumns(alias = 'users', prefix = ''): string {
  const a = alias;
  return [
    `${a}.id as "${prefix}id"`,
    `${a}.email as "${prefix}email"`,
    `${a}.name as "${prefix}name"`,
    `${a}.password_hash as "${prefix}passwordHash"`,
    `${a}.platform_role as "${prefix}platformRole"`,
    `${a}.default_org_id as "${prefix}defaultOrgId"`,
    `${a}.created_at as "${prefix}createdAt"`,
    `${a}.updated_at as "${prefix}updatedAt"`,
  ].join(', ');
}

export function mapUser(r: Raw, prefix = ''): UserRow {
  return {
    id: r[`${prefix}id`] as string,
    email: r[`${prefix}email`] as string,
    name: r[`${prefix}name`] as string,
    passwordHash: r[`${prefix}passwordHash`] as string,
    platformRole: r[`${prefix}platformRole`] as UserRow['platformRole'],
    defaultOrgId: (r[`${prefix}defaultOrgId`] as string | null) ?? null,
    createdAt: toDate(r[`${prefix}createdAt`]),
    updatedAt: toDate(r[`${prefix}updatedAt`]),
  };
}

export const SESSION_COLUMNS = `sessions.id, sessions.token_hash as "tokenHash", sessions.user_id as "userId",
  sessions.active_org_id as "activeOrgId", sessions.created_at as "createdAt",
  sessions.expires_at as "expiresAt", sessions.last_seen_at as "lastSeenAt", sessions.ip,
  sessions.user_agent as "userAgent"`;

export function mapSession(r: Raw): SessionRow {
  return {
    id: r.id as string,
    tokenHash: r.tokenHash as string,
    userId: r.userId as string,
    activeOrgId: (r.activeOrgId as string | null) ?? null,
    createdAt: toDate(r.createdAt),
    expiresAt: toDate(r.expiresAt),
    lastSeenAt: toDate(r.lastSeenAt),
    ip: (r.ip as string | null) ?? null,
    userAgent: (r.userAgent as string | null) ?? null,
  };
}

export const ORG_COLUMNS = `o.id, o.slug, o.name, o.description, o.logo_url as "logoUrl",
  o.billing_email as "billingEmail", o.tier, o.max_members as "maxMembers",
  o.max_agents as "maxAgents", o.max_requests_per_minute as "maxRequestsPerMinute",
  o.suspended_at as "suspendedAt", o.feature_overrides as "featureOverrides",
  o.is_admin_tenancy as "isAdminTenancy", o.status, o.created_by_id as "createdById",
  o.created_at as "createdAt", o.updated_at as "updatedAt"`;

export function mapOrg(r: Raw): OrgRow {
  return {
    id: r.id as string,
    slug: r.slug as string,
    name: r.name as string,
    description: (r.description as string | null) ?? null,
    logoUrl: (r.logoUrl as string | null) ?? null,
    billingEmail: (r.billingEmail as string | null) ?? null,
    tier: r.tier as OrgRow['tier'],
    maxMembers: (r.maxMembers as number | null) ?? null,
    maxAgents: (r.maxAgents as number | null) ?? null,
    maxRequestsPerMinute: (r.maxRequestsPerMinute as number | null) ?? null,
    suspendedAt: toDateOrNull(r.suspendedAt),
    featureOverrides: (r.featureOverrides as OrgRow['featureOverrides']) ?? {},
    isAdminTenancy: r.isAdminTenancy as boolean,
    status: r.status as OrgRow['status'],
    createdById: (r.createdById as string | null) ?? null,
    createdAt: toDate(r.createdAt),
    updatedAt: toDate(r.updatedAt),
  };
}

export function mapUserOrg(r: Raw): UserOrgRow {
  return { ...mapOrg(r), role: r.role as UserOrgRow['role'], isShadow: r.isShadow as boolean };
}

export const MEMBERSHIP_COLUMNS = `m.org_id as "orgId", m.user_id as "userId", m.role,
  m.is_shadow as "isShadow", m.added_by_id as "addedById", m.created_at as "createdAt"`;

export function mapMembership(r: Raw): MembershipRow {
  return {
    orgId: r.orgId as string,
    userId: r.userId as string,
    role: r.role as MembershipRow['role'],
    isShadow: r.isShadow as boolean,
    addedById: (r.addedById as string | null) ?? null,
    createdAt: toDate(r.createdAt),
  };
}

export function mapMember(r: Raw): MemberRow {
  return { ...mapMembership(r), email: r.email as string, name: r.name as string };
}

export const INVITATION_COLUMNS = `i.org_id as "orgId", i.id, i.email, i.role, i.status,
  i.token_hash as "tokenHash", i.send_count as "sendCount", i.delivery_state as "deliveryState",
  i.delivery_attempts as "deliveryAttempts", i.last_delivery_error as "lastDeliveryError",
  i.sent_at as "sentAt", i.expires_at as "expiresAt", i.invited_by_id as "invitedById",
  i.accepted_by_id as "acceptedById", i.accepted_at as "acceptedAt", i.revoked_at as "revokedAt",
  i.created_at as "createdAt", i.updated_at as "updatedAt"`;

/** Maps an invitation row; `status` is computed at `now` (expiry is checked on every read). */
export function mapInvitation(r: Raw, now: Date = new Date()): InvitationRow {
  const expiresAt = toDate(r.expiresAt);
  const acceptedAt = toDateOrNull(r.acceptedAt);
  const revokedAt = toDateOrNull(r.revokedAt);
  return {
    orgId: r.orgId as string,
    id: r.id as string,
    email: r.email as string,
    role: r.role as InvitationRow['role'],
    status: invitationStatus({ expiresAt, acceptedAt, revokedAt }, now),
    tokenHash: (r.tokenHash as string | null) ?? null,
    sendCount: Number(r.sendCount),
    deliveryState: r.deliveryState as InvitationRow['deliveryState'],
    deliveryAttempts: Number(r.deliveryAttempts),
    lastDeliveryError: (r.lastDeliveryError as string | null) ?? null,
    sentAt: toDateOrNull(r.sentAt),
    expiresAt,
    invitedById: (r.invitedById as string | null) ?? null,
    acceptedById: (r.acceptedById as string | null) ?? null,
    acceptedAt,
    revokedAt,
    createdAt: toDate(r.createdAt),
    updatedAt: toDate(r.updatedAt),
  };
}

export function mapInvitationListRow(r: Raw, now?: Date): InvitationListRow {
  return {
    ...mapInvitation(r, now),
    invitedByEmail: (r.invitedByEmail as string | null) ?? null,
    invitedByName: (r.invitedByName as string | null) ?? null,
  };
}

export const AUDIT_COLUMNS = `a.org_id as "orgId", a.seq, a.id, a.occurred_at as "occurredAt",
  a.actor_type as "actorType", a.actor_id as "actorId", a.actor_label as "actorLabel", a.action,
  a.target_type as "targetType", a.target_id as "targetId", a.ip, a.details,
  a.prev_hash as "prevHash", a.hash`;

export function mapAuditEvent(r: Raw): AuditEventRow {
  // bigint arrives as a string from pg and as a number or bigint from PGlite.
  return {
    orgId: r.orgId as string,
    seq: Number(r.seq),
    id: r.id as string,
    occurredAt: toDate(r.occurredAt),
    actorType: r.actorType as AuditEventRow['actorType'],
    actorId: (r.actorId as string | null) ?? null,
    actorLabel: (r.actorLabel as string | null) ?? null,
    action: r.action as string,
    targetType: (r.targetType as string | null) ?? null,
    targetId: (r.targetId as string | null) ?? null,
    ip: (r.ip as string | null) ?? null,
    details: parseJsonObject(r.details),
    prevHash: r.prevHash as string,
    hash: r.hash as string,
  };
}

function parseJsonObject(value: unknown): Record<string, unknown> {
  const parsed = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
}
