import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { APP_ROLE } from '../app-role.js';
import type { Db } from '../db.js';
import { AUDIT_GENESIS_HASH, type AuditHashFields, auditAppendLockKeys, computeAuditHash } from './audit.js';
import { type InvitationDelivery, recordInvitationSent } from './invitations.js';

/** A delivered invitation mail and the org it belongs to. */
export interface OrgInvitationDelivery extends InvitationDelivery {
  orgId: string;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_EMAIL = 320;

function assertDelivery(d: OrgInvitationDelivery): void {
  if (!UUID_RE.test(d.orgId) || !UUID_RE.test(d.id)) throw new TypeError('delivery ids must be UUIDs');
  if (!Number.isInteger(d.sendCount) || d.sendCount < 1 || !Number.isInteger(d.attempts) || d.attempts < 0) {
    throw new TypeError('sendCount and attempts must be non-negative integers');
  }
  if (typeof d.email !== 'string' || d.email.length > MAX_EMAIL) throw new TypeError('email must be a short string');
}

const lit = (value: string) => pg.escapeLiteral(value);

/**
 * Records many delivered invitation mails, of any orgs, in one transaction and two round trips
 * (PostgreSQL): each org's rows are marked sent and its `invitation.sent` audit entries appended
 * to its hash chain, each under that org's own `app.org_id`, so row-level security checks every
 * write as in `db.tenant`. Orgs are locked in id order (no deadlock between workers). Returns,
 * in the order given, whether each delivery was recorded (false: resent since, already recorded,
 * or gone). All or nothing: on error nothing is recorded. On PGlite, one unit of work per org.
 */
export async function recordInvitationsSent(db: Db, deliveries: OrgInvitationDelivery[]): Promise<boolean[]> {
  if (deliveries.length === 0) return [];
  for (const d of deliveries) assertDelivery(d);
  const byOrg = new Map<string, OrgInvitationDelivery[]>();
  for (const d of deliveries) {
    const orgId = d.orgId.toLowerCase();
    byOrg.set(orgId, [...(byOrg.get(orgId) ?? []), d]);
  }
  const orgs = [...byOrg.keys()].sort();
  const recorded = new Set<string>();
  const keyOf = (orgId: string, id: string, sendCount: number) => `${orgId}/${id.toLowerCase()}/${sendCount}`;

  if (db.kind !== 'postgresql') {
    for (const orgId of orgs) {
      await db.tenant({ orgId }, async (em) => {
        for (const d of byOrg.get(orgId)!) {
          if (await recordInvitationSent(em, orgId, d)) recorded.add(keyOf(orgId, d.id, d.sendCount));
        }
      });
    }
    return deliveries.map((d) => recorded.has(keyOf(d.orgId.toLowerCase(), d.id, d.sendCount)));
  }

  const knex = db.orm.em.getConnection().getKnex();
  // A pooled app connection: it runs as the app role (SET ROLE when the pool created it).
  const client = (await knex.client.acquireConnection()) as pg.ClientBase;
  try {
    // Round trip 1: per org, scope, mark sent, take the audit lock, then (a later statement,
    // so its snapshot sees every append committed before the lock) read the chain's head.
    const first = ['BEGIN', `select set_config('role', ${lit(APP_ROLE)}, true)`];
    for (const orgId of orgs) {
      const values = byOrg
        .get(orgId)!
        .map((d) => `(${lit(d.id)}::uuid, ${d.sendCount}, ${d.attempts})`)
        .join(', ');
      const [namespace, key] = auditAppendLockKeys(orgId);
      first.push(
        `select set_config('app.org_id', ${lit(orgId)}, true), set_config('app.user_id', '', true)`,
        `update invitations as i set delivery_state = 'sent', sent_at = now(), last_delivery_error = null,
           delivery_attempts = v.attempts, updated_at = now()
         from (values ${values}) as v (id, send_count, attempts)
         where i.org_id = ${lit(orgId)}::uuid and i.id = v.id and i.send_count = v.send_count
           and i.delivery_state <> 'sent'
         returning i.id, i.send_count as "sendCount"`,
        `select pg_advisory_xact_lock(${namespace}::int, ${key}::int)`,
        `select last.seq, last.hash, floor(extract(epoch from clock_timestamp()) * 1000)::float8 as ms
         from (select 1) one
         left join (select seq, hash from audit_events where org_id = ${lit(orgId)}::uuid
                    order by seq desc limit 1) last on true`,
      );
    }
    const results = (await client.query(`${first.join(';\n')};`)) as unknown as pg.QueryResult[];

    // Round trip 2: the audit entries, chained in Node as appendAuditEvent does, and commit.
    const second: string[] = [];
    orgs.forEach((orgId, i) => {
      const base = 2 + i * 4;
      const updated = results[base + 1]!.rows as { id: string; sendCount: number }[];
      if (updated.length === 0) return;
      const head = results[base + 3]!.rows[0] as { seq: unknown; hash: string | null; ms: unknown };
      let seq = head.seq == null ? 0 : Number(head.seq);
      let prevHash = head.hash ?? AUDIT_GENESIS_HASH;
      if (!/^[0-9a-f]{64}$/.test(prevHash)) throw new Error(`the audit chain of org ${orgId} ends in a malformed hash`);
      const occurredAt = new Date(Number(head.ms));
      // In the order given (RETURNING has none), each send once.
      const done = new Set(updated.map((row) => `${row.id}/${Number(row.sendCount)}`));
      const rows: string[] = [];
      for (const d of byOrg.get(orgId)!) {
        const key = `${d.id.toLowerCase()}/${d.sendCount}`;
        if (!done.delete(key)) continue;
        const targetId = d.id.toLowerCase();
        recorded.add(keyOf(orgId, d.id, d.sendCount));
        seq += 1;
        const fields: AuditHashFields = {
          orgId,
          seq,
          occurredAt,
          actorType: 'system',
          actorId: null,
          actorLabel: null,
          action: 'invitation.sent',
          targetType: 'invitation',
          targetId,
          ip: null,
          // JSON-safe already (checked by assertDelivery), in canonical key order.
          details: { attempts: d.attempts, email: d.email, sendCount: d.sendCount },
        };
        const hash = computeAuditHash(prevHash, fields);
        // Ids (checked UUIDs), the timestamp and the hashes (hex) need no escaping; the email does.
        rows.push(
          `('${orgId}'::uuid, ${seq}, '${randomUUID()}'::uuid, '${occurredAt.toISOString()}'::timestamptz,
            'system', null, null, 'invitation.sent', 'invitation', '${targetId}', null,
            ${lit(JSON.stringify(fields.details))}::jsonb, '${prevHash}', '${hash}')`,
        );
        prevHash = hash;
      }
      if (rows.length === 0) return;
      second.push(
        `select set_config('app.org_id', ${lit(orgId)}, true)`,
        `insert into audit_events (org_id, seq, id, occurred_at, actor_type, actor_id, actor_label, action,
           target_type, target_id, ip, details, prev_hash, hash) values ${rows.join(',\n')}`,
      );
    });
    second.push('COMMIT');
    await client.query(`${second.join(';\n')};`);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await knex.client.releaseConnection(client);
  }
  return deliveries.map((d) => recorded.has(keyOf(d.orgId.toLowerCase(), d.id, d.sendCount)));
}
