import { type AuditEventRow, appendAuditEvent, type EntityManager, inOrgScope, type UserRow } from '@tenantry/db';
import type { AuditEntry } from './audit.js';

/**
 * Records a platform administrator's action in the target org's own audit log, as an
 * `operator` action, inside the caller's unit of work (it commits or rolls back with the
 * change). The caller's org scope is restored afterwards.
 */
export function auditAsOperator(
  em: EntityManager,
  orgId: string,
  operator: Pick<UserRow, 'id' | 'email'>,
  ip: string | null,
  entry: AuditEntry,
): Promise<AuditEventRow> {
  return inOrgScope(em, orgId, () =>
    appendAuditEvent(em, orgId, {
      actorType: 'operator',
      actorId: operator.id,
      actorLabel: operator.email,
      ip,
      ...entry,
    }),
  );
}
