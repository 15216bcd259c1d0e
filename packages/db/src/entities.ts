import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/core';
import { DELETION_STATUSES, DELETION_STEPS } from '@tenantry/core';
import { Alert, AlertRule, AlertState } from './alert-entities.js';
import {
  AUDIT_ACTOR_TYPES,
  DELIVERY_STATES,
  type FeatureOverrides,
  INVITATION_STATUSES,
  ORG_STATUSES,
  PLATFORM_ROLES,
  RESOURCE_STATUSES,
  RESOURCE_TYPES,
  ROLES,
  SHARE_ROLES,
  TIERS,
} from './types.js';

// The schema itself is owned by the hand-written migrations in ./migrations (RLS, roles and
// partial indexes are beyond what the schema generator expresses); these definitions mirror
// it so the ORM can load and persist rows. Keep both in step.

/** Global: a person who can sign in. Emails are stored lowercased. */
export const User = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    email: p.text().unique('users_email_unique'),
    name: p.text(),
    passwordHash: p.text().hidden(),
    platformRole: p.enum([...PLATFORM_ROLES]).default('user'),
    defaultOrgId: p.uuid().nullable(),
    createdAt: p
      .datetime()
      .columnType('timestamptz')
      .onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .columnType('timestamptz')
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});

/** Global: a signed-in browser session, looked up by the sha256 of its cookie token. */
export const Session = defineEntity({
  name: 'Session',
  tableName: 'sessions',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    tokenHash: p.text().unique('sessions_token_hash_unique'),
    userId: p.uuid(),
    activeOrgId: p.uuid().nullable(),
    createdAt: p
      .datetime()
      .columnType('timestamptz')
      .onCreate(() => new Date()),
    expiresAt: p.datetime().columnType('timestamptz'),
    lastSeenAt: p
      .datetime()
      .columnType('timestamptz')
      .onCreate(() => new Date()),
    ip: p.text().nullable(),
    userAgent: p.text().nullable(),
  },
});

/** Global: the tenant registry. */
export const Organization = defineEntity({
  name: 'Organization',
  tableName: 'organizations',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    slug: p.text().unique('organizations_slug_unique'),
    name: p.text(),
    description: p.text().nullable(),
    logoUrl: p.text().nullable(),
    billingEmail: p.text().nullable(),
    tier: p.enum([...TIERS]).default('free'),
    maxMembers: p.integer().nullable(),
    maxAgents: p.integer().nullable(),
    maxRequestsPerMinute: p.integer().nullable(),
    suspendedAt: p.datetime().columnType('timestamptz').nullable(),
    featureOverrides: p
      .json<FeatureOverrides>()
      .columnType('jsonb')
      .onCreate(() => ({})),
    isAdminTenancy: p.boolean().default(false),
    status: p.enum([...ORG_STATUSES]).default('active'),
    createdById: p.uuid().nullable(),
    createdAt: p
      .datetime()
      .columnType('timestamptz')
      .onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .columnType('timestamptz')
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});

/** Tenant table: a user's role in one org. Primary key `(org_id, user_id)`; guarded by RLS. */
export const Membership = defineEntity({
  name: 'Membership',
  tableName: 'memberships',
  properties: {
    orgId: p.uuid().primary(),
    userId: p.uuid().primary(),
    role: p.enum([...ROLES]),
    isShadow: p.boolean().default(false),
    addedById: p.uuid().nullable(),
    createdAt: p
      .datetime()
      .columnType('timestamptz')
      .onCreate(() => new Date()),
  },
  primaryKeys: ['orgId', 'userId'],
});

/** Global key/value settings of the install (e.g. the activated license key). */
export const PlatformSetting = defineEntity({
  name: 'PlatformSetting',
  tableName: 'platform_settings',
  properties: {
    key: p.text().primary(),
    value: p.json<unknown>().columnType('jsonb'),
    updatedAt: p
      .datetime()
      .columnType('timestamptz')
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});

/**
 * Tenant table: an invitation to join an org by email. Primary key `(org_id, id)`; guarded
 * by RLS. `status` here is the stored one; the repositories compute the read status.
 */
export const Invitation = defineEntity({
  name: 'Invitation',
  tableName: 'invitations',
  properties: {
    orgId: p.uuid().primary(),
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    email: p.text(),
    role: p.enum([...ROLES]),
    status: p.enum([...INVITATION_STATUSES]).default('pending'),
    tokenHash: p.text().nullable().hidden(),
    sendCount: p.integer().default(0),
    deliveryState: p.enum([...DELIVERY_STATES]).default('queued'),
    deliveryAttempts: p.integer().default(0),
    lastDeliveryError: p.text().nullable(),
    sentAt: p.datetime().columnType('timestamptz').nullable(),
    expiresAt: p.datetime().columnType('timestamptz'),
    invitedById: p.uuid().nullable(),
    acceptedById: p.uuid().nullable(),
    acceptedAt: p.datetime().columnType('timestamptz').nullable(),
    revokedAt: p.datetime().columnType('timestamptz').nullable(),
    createdAt: p
      .datetime()
      .columnType('timestamptz')
      .onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .columnType('timestamptz')
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
  primaryKeys: ['orgId', 'id'],
});

/**
 * Tenant table: one entry of an org's hash-chained audit log. Primary key `(org_id, seq)`.
 * Read-only for the ORM: entries are written only by `appendAuditEvent`, which chains them.
 */
export const AuditEvent = defineEntity({
  name: 'AuditEvent',
  tableName: 'audit_events',
  readonly: true,
  properties: {
    orgId: p.uuid().primary(),
    seq: p.bigint('number').primary(),
    id: p.uuid(),
    occurredAt: p.datetime().columnType('timestamptz'),
    actorType: p.enum([...AUDIT_ACTOR_TYPES]),
    actorId: p.uuid().nullable(),
    actorLabel: p.text().nullable(),
    action: p.text(),
    targetType: p.text().nullable(),
    targetId: p.text().nullable(),
    ip: p.text().nullable(),
    details: p.json<Record<string, unknown>>().columnType('jsonb'),
    prevHash: p.text(),
    hash: p.text(),
  },
  primaryKeys: ['orgId', 'seq'],
});

const timestamp = () =>
  p
    .datetime()
    .columnType('timestamptz')
    .onCreate(() => new Date());

/** Global: a user's API token; only the sha256 of the secret is stored. */
export const ApiToken = defineEntity({
  name: 'ApiToken',
  tableName: 'api_tokens',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    userId: p.uuid(),
    name: p.text(),
    tokenHash: p.text().unique('api_tokens_token_hash_unique').hidden(),
    createdAt: timestamp(),
    expiresAt: p.datetime().columnType('timestamptz').nullable(),
    lastUsedAt: p.datetime().columnType('timestamptz').nullable(),
    revokedAt: p.datetime().columnType('timestamptz').nullable(),
  },
});

/** Tenant table: an org a token reaches, with its role there. Primary key `(org_id, token_id)`. */
export const ApiTokenOrg = defineEntity({
  name: 'ApiTokenOrg',
  tableName: 'api_token_orgs',
  properties: {
    orgId: p.uuid().primary(),
    tokenId: p.uuid().primary(),
    userId: p.uuid(),
    role: p.enum([...ROLES]),
    createdAt: timestamp(),
  },
  primaryKeys: ['orgId', 'tokenId'],
});

/** Tenant table: an agent reporting resources, with an org-bound token. */
export const Agent = defineEntity({
  name: 'Agent',
  tableName: 'agents',
  properties: {
    orgId: p.uuid().primary(),
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    name: p.text(),
    tokenHash: p.text().hidden(),
    createdById: p.uuid().nullable(),
    createdAt: timestamp(),
    lastSeenAt: p.datetime().columnType('timestamptz').nullable(),
    lastIp: p.text().nullable(),
    version: p.text().nullable(),
  },
  primaryKeys: ['orgId', 'id'],
});

/** Tenant table: a host, VM, container or storage as its agent last reported it. */
export const Resource = defineEntity({
  name: 'Resource',
  tableName: 'resources',
  properties: {
    orgId: p.uuid().primary(),
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    agentId: p.uuid(),
    type: p.enum([...RESOURCE_TYPES]),
    name: p.text(),
    status: p.enum([...RESOURCE_STATUSES]),
    cpu: p.float().nullable(),
    memory: p.float().nullable(),
    disk: p.float().nullable(),
    notes: p.text().nullable(),
    tags: p.array().default([]),
    createdAt: timestamp(),
    updatedAt: timestamp(),
    reportedAt: timestamp(),
  },
  primaryKeys: ['orgId', 'id'],
});

/** Tenant table (granting org): a resource shared with another org. */
export const Share = defineEntity({
  name: 'Share',
  tableName: 'shares',
  properties: {
    orgId: p.uuid().primary(),
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    targetOrgId: p.uuid(),
    resourceOrgId: p.uuid(),
    resourceId: p.uuid(),
    resourceType: p.enum([...RESOURCE_TYPES]),
    role: p.enum([...SHARE_ROLES]),
    parentShareId: p.uuid().nullable(),
    createdById: p.uuid().nullable(),
    createdAt: timestamp(),
  },
  primaryKeys: ['orgId', 'id'],
});

/** Tenant table (receiving org): its side of a share. */
export const IncomingShare = defineEntity({
  name: 'IncomingShare',
  tableName: 'incoming_shares',
  properties: {
    orgId: p.uuid().primary(),
    shareId: p.uuid().primary(),
    grantingOrgId: p.uuid(),
    resourceOrgId: p.uuid(),
    resourceId: p.uuid(),
    resourceType: p.enum([...RESOURCE_TYPES]),
    role: p.enum([...SHARE_ROLES]),
    createdAt: timestamp(),
  },
  primaryKeys: ['orgId', 'shareId'],
});

/**
 * Global: the deletion of an org, its recorded step and final report. Outlives the org (no
 * org_id, no foreign key to organizations). Written only by the org-deletions repository.
 */
export const OrgDeletion = defineEntity({
  name: 'OrgDeletion',
  tableName: 'org_deletions',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    deletedOrgId: p.uuid(),
    orgSlug: p.text(),
    orgName: p.text(),
    requestedById: p.uuid().nullable(),
    requestedAs: p.enum(['owner', 'platform_admin']),
    orgStatusBefore: p.text(),
    status: p.enum([...DELETION_STATUSES]).default('scheduled'),
    step: p.enum([...DELETION_STEPS]).default('prepare'),
    runAfter: p.datetime().columnType('timestamptz'),
    memberUserIds: p.array().columnType('uuid[]').default([]),
    tokenIds: p.array().columnType('uuid[]').default([]),
    usersDone: p.integer().default(0),
    usersDeleted: p.integer().default(0),
    usersRepointed: p.integer().default(0),
    sessionsCleared: p.integer().default(0),
    tokensDeleted: p.integer().default(0),
    jobsRemoved: p.integer().default(0),
    redisKeysDeleted: p.integer().default(0),
    filesDeleted: p.integer().default(0),
    batches: p.integer().default(0),
    longestBatchMs: p.float().default(0),
    attempts: p.integer().default(0),
    error: p.text().nullable(),
    report: p.json<Record<string, unknown>>().columnType('jsonb').nullable(),
    requestedAt: timestamp(),
    startedAt: p.datetime().columnType('timestamptz').nullable(),
    finishedAt: p.datetime().columnType('timestamptz').nullable(),
    updatedAt: timestamp(),
  },
});

/** Global: one tenant table of a deletion, with the rows counted at the start and deleted so far. */
export const OrgDeletionTable = defineEntity({
  name: 'OrgDeletionTable',
  tableName: 'org_deletion_tables',
  properties: {
    deletionId: p.uuid().primary(),
    tableName: p.text().primary(),
    position: p.integer(),
    total: p.bigint('number'),
    deleted: p.bigint('number').default(0),
    done: p.boolean().default(false),
    byCascade: p.boolean().default(false),
  },
  primaryKeys: ['deletionId', 'tableName'],
});

/** Every entity, for `MikroORM.init`. */
export const entities = [
  User,
  Session,
  Organization,
  Membership,
  PlatformSetting,
  Invitation,
  AuditEvent,
  ApiToken,
  ApiTokenOrg,
  Agent,
  Resource,
  Share,
  IncomingShare,
  OrgDeletion,
  OrgDeletionTable,
  AlertRule,
  AlertState,
  Alert,
];
