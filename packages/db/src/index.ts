export { Alert, AlertRule, AlertState } from './alert-entities.js';
export { APP_ROLE } from './app-role.js';
export type { AppOrm, Db, DbOptions, EntityManager, PlatformScope, SqlStatement, TenantScope } from './db.js';
export { createDb } from './db.js';
export {
  Agent,
  ApiToken,
  ApiTokenOrg,
  AuditEvent,
  entities,
  IncomingShare,
  Invitation,
  Membership,
  Organization,
  OrgDeletion,
  OrgDeletionTable,
  PlatformSetting,
  Resource,
  Session,
  Share,
  User,
} from './entities.js';
export { isUniqueViolation, UNIQUE_CONSTRAINTS, uniqueViolationConstraint } from './errors.js';
export * from './repositories/alert-rules.js';
export * from './repositories/alerts.js';
export * from './repositories/api-tokens.js';
export * from './repositories/audit.js';
export * from './repositories/audit-export.js';
export * from './repositories/invitation-batches.js';
export * from './repositories/invitation-deliveries.js';
export * from './repositories/invitations.js';
export * from './repositories/memberships.js';
export * from './repositories/operations.js';
export * from './repositories/org-deletions.js';
export * from './repositories/orgs.js';
export * from './repositories/platform-settings.js';
export * from './repositories/resources.js';
export { inOrgScope } from './repositories/scope.js';
export * from './repositories/sessions.js';
export * from './repositories/tenants.js';
export * from './repositories/users.js';
export * from './types.js';
