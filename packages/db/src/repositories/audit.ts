import { createHash, randomUUID } from 'node:crypto';
import type { EntityManager } from '../db.js';
import type { AuditActorType, AuditEventRow } from '../types.js';
import { AUDIT_COLUMNS, mapAuditEvent } from './rows.js';

// The audit log of an org is a hash chain: entry n stores the hash of entry n-1 and its own
// hash covers that link and every field, so editing a row breaks its hash and deleting one
// breaks the sequence or the next link. Appends of one org are serialised by an advisory lock
// held until the caller's transaction ends.

/** `prev_hash` of an org's first entry. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

// Two-key advisory locks (namespace, key) live apart from the one-key locks used elsewhere.
const AUDIT_LOCK_NAMESPACE = 7_261_004;
const VERIFY_BATCH = 1000;
const MAX_LIST_LIMIT = 1000;

/** What an audit entry records; the log adds seq, id, time and the hashes. */
export interface AuditEventInput {
  actorType: AuditActorType;
  actorId?: string | null;
  actorLabel?: string | null;
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  ip?: string | null;
  /** JSON-safe facts (stored as jsonb; undefined values are dropped, Dates become strings). */
  details?: Record<string, unknown>;
}

/** The fields an entry's hash covers, besides the previous hash. */
export type AuditHashFields = Omit<AuditEventRow, 'id' | 'prevHash' | 'hash'>;

/**
 * JSON with object keys sorted at every depth, so equal values always give equal text. The text
 * is that of `JSON.stringify` followed by sorting the keys of the parsed result (toJSON applied,
 * undefined, functions and symbols dropped from objects and null in arrays, non-finite numbers
 * null), written in one pass: audit entries are hashed on every append.
 */
export function canonicalJson(value: unknown): string {
  return serialise(value, '') ?? 'null';
}

function serialise(input: unknown, key: string): string | undefined {
  let value = input;
  if (typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON(key: string): unknown }).toJSON(key);
  }
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      // As JSON.stringify does.
      throw new TypeError('Do not know how to serialize a BigInt');
    case 'object': {
      if (value === null) return 'null';
      if (value instanceof Number || value instanceof String || value instanceof Boolean) {
        return serialise(value.valueOf(), key);
      }
      if (Array.isArray(value)) {
        const items: string[] = [];
        for (let i = 0; i < value.length; i += 1) items.push(serialise(value[i], String(i)) ?? 'null');
        return `[${items.join(',')}]`;
      }
      const obj = value as Record<string, unknown>;
      const members: string[] = [];
      for (const k of Object.keys(obj).sort()) {
        const text = serialise(obj[k], k);
        if (text !== undefined) members.push(`${JSON.stringify(k)}:${text}`);
      }
      return `{${members.join(',')}}`;
    }
    default:
      // undefined, functions and symbols
      return undefined;
  }
}

/** `sha256(prevHash + '\n' + canonicalJson(fields))`, hex, with `occurredAt` as ISO 8601. */
export function computeAuditHash(prevHash: string, fields: AuditHashFields): string {
  const payload = canonicalJson({
    orgId: fields.orgId,
    seq: fields.seq,
    occurredAt: fields.occurredAt.toISOString(),
    actorType: fields.actorType,
    actorId: fields.actorId,
    actorLabel: fields.actorLabel,
    action: fields.action,
    targetType: fields.targetType,
    targetId: fields.targetId,
    ip: fields.ip,
    details: fields.details,
  });
  return createHash('sha256').update(`${prevHash}\n${payload}`).digest('hex');
}

/** Second key of the org's append lock: the first 32 bits of its (random) UUID. */
function lockKeyOf(orgId: string): number {
  return Number.parseInt(orgId.slice(0, 8), 16) | 0;
}

/**
 * The two keys of the transaction-scoped advisory lock that serialises the org's appends, for
 * writers that append in bulk (take it, then read the head in a later statement).
 */
export function auditAppendLockKeys(orgId: string): [number, number] {
  return [AUDIT_LOCK_NAMESPACE, lockKeyOf(orgId)];
}

/**
 * Appends an entry to the org's audit log and returns it. Run it inside the unit of work that
 * made the change (db.tenant, READ COMMITTED), so the entry commits or rolls back with it. It
 * holds the org's append lock until that transaction ends: append late in the unit of work.
 */
export async function appendAuditEvent(
  em: EntityManager,
  orgId: string,
  event: AuditEventInput,
): Promise<AuditEventRow> {
  const [row] = await appendAuditEvents(em, orgId, [event]);
  if (!row) throw new Error('insert into audit_events returned no row');
  return row;
}

/**
 * Appends several entries at once, in order, with one lock, one read of the head and one
 * insert (e.g. every alert a report fired). Same rules as `appendAuditEvent`.
 */
export async function appendAuditEvents(
  em: EntityManager,
  orgId: string,
  events: readonly AuditEventInput[],
): Promise<AuditEventRow[]> {
  if (events.length === 0) return [];
  const run = async (tx: EntityManager): Promise<AuditEventRow[]> => {
    await tx.execute('select pg_advisory_xact_lock(?::int, ?::int)', [AUDIT_LOCK_NAMESPACE, lockKeyOf(orgId)]);
    // A statement after the lock: its snapshot includes every append committed before us.
    // The time comes from the database (one clock for every process), cut to milliseconds so
    // that it reads back exactly as it was hashed.
    const [head] = await tx.execute<{ seq: unknown; hash: string | null; ms: unknown }[]>(
      `select last.seq, last.hash, floor(extract(epoch from clock_timestamp()) * 1000)::float8 as ms
       from (select 1) one
       left join (select seq, hash from audit_events where org_id = ? order by seq desc limit 1) last on true`,
      [orgId],
    );
    let seq = head?.seq == null ? 0 : Number(head.seq);
    let prevHash = head?.hash ?? AUDIT_GENESIS_HASH;
    const occurredAt = new Date(Number(head?.ms ?? Date.now()));
    // One JSON parameter for the whole batch: the driver inlines parameters, and thousands of
    // them cost more than the insert itself.
    const records: Record<string, unknown>[] = [];
    for (const event of events) {
      seq += 1;
      const fields: AuditHashFields = {
        orgId,
        seq,
        occurredAt,
        actorType: event.actorType,
        actorId: event.actorId ?? null,
        actorLabel: event.actorLabel ?? null,
        action: event.action,
        targetType: event.targetType ?? null,
        targetId: event.targetId ?? null,
        ip: event.ip ?? null,
        details: JSON.parse(canonicalJson(event.details ?? {})) as Record<string, unknown>,
      };
      const hash = computeAuditHash(prevHash, fields);
      records.push({
        seq,
        id: randomUUID(),
        actor_type: fields.actorType,
        actor_id: fields.actorId,
        actor_label: fields.actorLabel,
        action: fields.action,
        target_type: fields.targetType,
        target_id: fields.targetId,
        ip: fields.ip,
        details: fields.details,
        prev_hash: prevHash,
        hash,
      });
      prevHash = hash;
    }
    const rows = await tx.execute(
      `insert into audit_events as a (org_id, seq, id, occurred_at, actor_type, actor_id, actor_label, action,
         target_type, target_id, ip, details, prev_hash, hash)
       select ?::uuid, x.seq, x.id, ?::timestamptz, x.actor_type, x.actor_id, x.actor_label, x.action,
         x.target_type, x.target_id, x.ip, x.details, x.prev_hash, x.hash
       from jsonb_to_recordset(?::jsonb) as x(seq bigint, id uuid, actor_type text, actor_id uuid, actor_label text,
         action text, target_type text, target_id text, ip text, details jsonb, prev_hash text, hash text)
       order by x.seq
       returning ${AUDIT_COLUMNS}`,
      [orgId, occurredAt.toISOString(), JSON.stringify(records)],
    );
    if (rows.length !== events.length) throw new Error('insert into audit_events returned fewer rows');
    return rows.map(mapAuditEvent).sort((a, b) => a.seq - b.seq);
  };
  // Outside a transaction the lock would be released before the insert.
  return em.isInTransaction() ? run(em) : em.transactional(run);
}

/** Filters and page of `listAuditEvents`. */
export interface ListAuditEventsOptions {
  actorType?: AuditActorType;
  actorId?: string;
  /** Exact action, e.g. `invitation.created`. */
  action?: string;
  /** Occurred at or after. */
  from?: Date;
  /** Occurred before. */
  to?: Date;
  /** `nextCursor` of the previous page: entries with a lower seq. */
  cursor?: number;
  /** 1–1000, default 50. */
  limit?: number;
}

/** A page of audit entries, newest first. */
export interface AuditEventPage {
  events: AuditEventRow[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: number | null;
}

/** The org's audit entries matching the filters, newest (highest seq) first. */
export async function listAuditEvents(
  em: EntityManager,
  orgId: string,
  opts: ListAuditEventsOptions = {},
): Promise<AuditEventPage> {
  const where = ['a.org_id = ?'];
  const params: unknown[] = [orgId];
  const add = (clause: string, value: unknown) => {
    where.push(clause);
    params.push(value);
  };
  if (opts.actorType) add('a.actor_type = ?', opts.actorType);
  if (opts.actorId) add('a.actor_id = ?', opts.actorId);
  if (opts.action) add('a.action = ?', opts.action);
  if (opts.from) add('a.occurred_at >= ?', opts.from);
  if (opts.to) add('a.occurred_at < ?', opts.to);
  if (opts.cursor !== undefined) add('a.seq < ?', Math.trunc(opts.cursor));
  const limit = Math.min(Math.max(Math.trunc(opts.limit ?? 50), 1), MAX_LIST_LIMIT);
  const rows = await em.execute(
    `select ${AUDIT_COLUMNS} from audit_events a where ${where.join(' and ')} order by a.seq desc limit ?`,
    [...params, limit + 1],
  );
  const events = rows.slice(0, limit).map(mapAuditEvent);
  const more = rows.length > limit;
  return { events, nextCursor: more ? (events[events.length - 1]?.seq ?? null) : null };
}

/** Where and why an audit chain breaks. */
export interface AuditChainBreak {
  /** The first entry that is missing (`gap`) or does not match (`hash_mismatch`, `prev_mismatch`). */
  seq: number;
  /** `gap`: entry `seq` is missing; `prev_mismatch`: its link to the previous entry is wrong; `hash_mismatch`: its content was changed. */
  reason: 'hash_mismatch' | 'gap' | 'prev_mismatch';
}

/** The outcome of `verifyAuditChain`. */
export interface AuditChainVerification {
  ok: boolean;
  /** Entries found intact, in order, before the first break (all of them when ok). */
  checked: number;
  /** The last entry read: keep it to detect a later truncation of the log's tail. */
  head: { seq: number; hash: string } | null;
  firstBroken?: AuditChainBreak;
}

/**
 * Recomputes the org's chain from its first entry, in batches, and reports the first break.
 * Detects edited entries and entries deleted anywhere but at the end; a deleted tail leaves a
 * valid shorter chain, which only a `head` recorded earlier elsewhere reveals.
 */
export async function verifyAuditChain(em: EntityManager, orgId: string): Promise<AuditChainVerification> {
  let expectedSeq = 1;
  let prevHash = AUDIT_GENESIS_HASH;
  let head: AuditChainVerification['head'] = null;
  for (;;) {
    const rows = await em.execute(
      `select ${AUDIT_COLUMNS} from audit_events a where a.org_id = ? and a.seq >= ? order by a.seq limit ?`,
      [orgId, expectedSeq, VERIFY_BATCH],
    );
    for (const raw of rows) {
      const e = mapAuditEvent(raw);
      head = { seq: e.seq, hash: e.hash };
      const checked = expectedSeq - 1;
      const broken = (seq: number, reason: AuditChainBreak['reason']): AuditChainVerification => ({
        ok: false,
        checked,
        head,
        firstBroken: { seq, reason },
      });
      if (e.seq !== expectedSeq) return broken(expectedSeq, 'gap');
      if (e.prevHash !== prevHash) return broken(e.seq, 'prev_mismatch');
      if (computeAuditHash(e.prevHash, e) !== e.hash) return broken(e.seq, 'hash_mismatch');
      prevHash = e.hash;
      expectedSeq++;
    }
    if (rows.length < VERIFY_BATCH) return { ok: true, checked: expectedSeq - 1, head };
  }
}
