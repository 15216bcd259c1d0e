import type { EntityManager } from '../db.js';
import type { AuditEventRow } from '../types.js';
import type { ListAuditEventsOptions } from './audit.js';
import { AUDIT_COLUMNS, mapAuditEvent } from './rows.js';

// Export reads the log oldest first, in pages bounded by the head seen when the export began:
// the log is append-only, so pages read in separate units of work add up to one consistent
// snapshot, whatever is appended meanwhile.

const MAX_PAGE = 5000;

/** The seq of the org's newest entry (0 for an empty log). */
export async function auditHeadSeq(em: EntityManager, orgId: string): Promise<number> {
  const [row] = await em.execute<{ seq: unknown }[]>(
    'select coalesce(max(seq), 0) as seq from audit_events where org_id = ?',
    [orgId],
  );
  return Number(row?.seq ?? 0);
}

/** Filters and bounds of one export page. */
export interface AuditExportPageOptions extends Omit<ListAuditEventsOptions, 'cursor' | 'limit'> {
  /** Entries after this seq (0 for the first page). */
  afterSeq: number;
  /** Entries up to and including this seq (the head when the export began). */
  throughSeq: number;
  /** 1–5000, default 1000. */
  limit?: number;
}

/** One page of the org's entries matching the filters, oldest (lowest seq) first. */
export async function listAuditEventsForExport(
  em: EntityManager,
  orgId: string,
  opts: AuditExportPageOptions,
): Promise<AuditEventRow[]> {
  const where = ['a.org_id = ?', 'a.seq > ?', 'a.seq <= ?'];
  const params: unknown[] = [orgId, Math.trunc(opts.afterSeq), Math.trunc(opts.throughSeq)];
  const add = (clause: string, value: unknown) => {
    where.push(clause);
    params.push(value);
  };
  if (opts.actorType) add('a.actor_type = ?', opts.actorType);
  if (opts.actorId) add('a.actor_id = ?', opts.actorId);
  if (opts.action) add('a.action = ?', opts.action);
  if (opts.from) add('a.occurred_at >= ?', opts.from);
  if (opts.to) add('a.occurred_at < ?', opts.to);
  const limit = Math.min(Math.max(Math.trunc(opts.limit ?? 1000), 1), MAX_PAGE);
  const rows = await em.execute(
    `select ${AUDIT_COLUMNS} from audit_events a where ${where.join(' and ')} order by a.seq limit ?`,
    [...params, limit],
  );
  return rows.map(mapAuditEvent);
}

/** One entry by seq, or null (e.g. to name the entry a chain check stopped at). */
export async function findAuditEvent(em: EntityManager, orgId: string, seq: number): Promise<AuditEventRow | null> {
  const [row] = await em.execute(`select ${AUDIT_COLUMNS} from audit_events a where a.org_id = ? and a.seq = ?`, [
    orgId,
    Math.trunc(seq),
  ]);
  return row ? mapAuditEvent(row) : null;
}
