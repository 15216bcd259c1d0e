export { APP_ROLE } from './app-role.js';
export type { AppOrm, Db, DbOptions, EntityManager, PlatformScope, TenantScope } from './db.js';
export { createDb } from './db.js';
export {
  AuditEvent,
  entities,
  Invitation,
  Membership,
  Organization,
  PlatformSetting,
  Session,
  User,
} from './entities.js';
export { isUniqueViolation, UNIQUE_CONSTRAINTS, uniqueViolationConstraint } from './errors.js';
export * from './repositories/audit.js';
export * from './repositories/invitations.js';
export * from './repositories/memberships.js';
export * from './repositories/orgs.js';
export * from './repositories/platform-settings.js';
export * from './repositories/sessions.js';
export * from './repositories/users.js';
export * from './types.js';
