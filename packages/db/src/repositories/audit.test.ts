import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db, EntityManager } from '../db.js';
import { AuditEvent } from '../entities.js';
import { createTestDatabase, type TestDatabase } from '../testing.js';
import {
  AUDIT_GENESIS_HASH,
  type AuditEventInput,
  appendAuditEvent,
  appendAuditEvents,
  canonicalJson,
  computeAuditHash,
  listAuditEvents,
  verifyAuditChain,
} from './audit.js';
import { createOrg } from './orgs.js';
import { createUser } from './users.js';

// Opening PGlite takes seconds; these hold whatever the root config says.
vi.setConfig({ hookTimeout: 60_000, testTimeout: 30_000 });

type Row = Record<string, unknown>;

const event = (i: number, actorId: string | null = null): AuditEventInput => ({
  actorType: i % 5 === 0 ? 'system' : 'user',
  actorId: i % 5 === 0 ? null : actorId,
  actorLabel: i % 5 === 0 ? null : 'ines@audit.test',
  action: i % 2 === 0 ? 'invitation.created' : 'member.updated',
  targetType: 'invitation',
  targetId: `inv-${i}`,
  ip: '203.0.113.7',
  // Unsorted keys, nesting, a Date and an undefined value: all must hash as they read back.
  details: { z: i, a: { y: [1, 'two', null], b: true }, at: new Date(Date.UTC(2025, 0, i)), gone: undefined },
});

/** What canonicalJson means: JSON.stringify, then the parsed result written with its keys sorted. */
function referenceCanonicalJson(value: unknown): string {
  const write = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(write).join(',')}]`;
    if (v !== null && typeof v === 'object') {
      const obj = v as Record<string, unknown>;
      return `{${Object.keys(obj)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${write(obj[k])}`)
        .join(',')}}`;
    }
    return JSON.stringify(v);
  };
  const json = JSON.stringify(value);
  return json === undefined ? 'null' : write(JSON.parse(json));
}

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ y: 1, x: 2 }], c: undefined } })).toBe('{"a":{"d":[{"x":2,"y":1}]},"b":1}');
  });

  it('writes what JSON.stringify and sorting the parsed keys write, for every kind of value', () => {
    const withToJSON = { toJSON: (key: string) => ({ key, z: 1, a: [undefined] }) };
    // biome-ignore lint/suspicious/noSparseArray: a hole must read as null, as in JSON.stringify
    const holes = [1, , 3];
    const values: unknown[] = [
      null,
      undefined,
      0,
      -0,
      1.5e21,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      'plain',
      'quotes " and \\ and \n\t\u0001 and é 😀 and \ud800 alone',
      true,
      false,
      [],
      {},
      holes,
      [undefined, () => 1, Symbol('s'), null],
      { f: () => 1, s: Symbol('s'), u: undefined, n: null },
      { date: new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 6)), nested: { date: new Date(0) } },
      { custom: withToJSON, list: [withToJSON] },
      { boxed: [new Number(2), new String('s'), new Boolean(false)] },
      { b: { d: 1, c: [{ z: 1, y: { x: 2, w: 3 } }] }, a: '', A: 1, _: 2, '10': 3, '9': 4, é: 5 },
      { __proto__: null, inherited: 'no' },
      Object.assign(Object.create({ fromPrototype: 1 }), { own: 2 }),
      new Map([[1, 2]]),
    ];
    // Random JSON-like trees, from a fixed seed.
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const tree = (depth: number): unknown => {
      const r = random();
      if (depth > 3 || r < 0.3)
        return [null, 1, -2.25, 'x', true, undefined, new Date(Math.floor(random() * 1e12))][Math.floor(random() * 7)];
      if (r < 0.6) return Array.from({ length: Math.floor(random() * 4) }, () => tree(depth + 1));
      return Object.fromEntries(
        Array.from({ length: Math.floor(random() * 5) }, () => [
          Math.floor(random() * 1e6).toString(36),
          tree(depth + 1),
        ]),
      );
    };
    for (let i = 0; i < 300; i += 1) values.push(tree(0));
    for (const value of values) expect(canonicalJson(value)).toBe(referenceCanonicalJson(value));
    expect(() => canonicalJson({ big: 1n })).toThrow(TypeError);
  });
});

describe.each(['postgresql', 'pglite'] as const)('audit log on %s', (kind) => {
  let t: TestDatabase;
  let db: Db;
  let user: string;
  const newOrg = (slug: string) => db.platform({}, (em) => createOrg(em, { slug, name: slug, ownerId: user }));
  const verify = (orgId: string) => db.tenant({ orgId }, (em) => verifyAuditChain(em, orgId));
  const appendMany = (orgId: string, n: number) =>
    db.tenant({ orgId, userId: user }, async (em) => {
      for (let i = 1; i <= n; i++) await appendAuditEvent(em, orgId, event(i, user));
    });

  // Writes as the table owner, around RLS and the app role's missing privileges: PostgreSQL
  // through the owner URL; PGlite (one superuser session) by dropping the role for one
  // transaction.
  async function asOwner(sql: string, params: unknown[]): Promise<number> {
    if (t.ownerUrl) {
      const client = new pg.Client({ connectionString: t.ownerUrl });
      await client.connect();
      try {
        return (await client.query(sql, params)).rowCount ?? 0;
      } finally {
        await client.end();
      }
    }
    return db.orm.em.fork().transactional(async (em: EntityManager) => {
      await em.execute('set local role none');
      const order = [...sql.matchAll(/\$(\d+)/g)].map((m) => params[Number(m[1]) - 1]);
      const rows = await em.execute(`${sql.replace(/\$\d+/g, '?')} returning 1`, order);
      return rows.length;
    });
  }

  beforeAll(async () => {
    t = await createTestDatabase({ kind });
    db = t.db;
    user = (await db.platform({}, (em) => createUser(em, { email: 'ines@audit.test', name: 'I', passwordHash: 'x' })))
      .id;
  });
  afterAll(async () => {
    await t?.drop();
  });

  describe('a chain of 50 entries', () => {
    let orgId: string;
    beforeAll(async () => {
      orgId = (await newOrg('audit-chain')).id;
      for (let i = 1; i <= 50; i++) {
        await db.tenant({ orgId, userId: user }, (em) => appendAuditEvent(em, orgId, event(i, user)));
      }
    });

    it('numbers, links and hashes every entry, and verifies', async () => {
      const { events } = await db.tenant({ orgId }, (em) => listAuditEvents(em, orgId, { limit: 1000 }));
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 50 - i));
      const first = events[49]!;
      expect(first).toMatchObject({ seq: 1, prevHash: AUDIT_GENESIS_HASH, actorId: user, action: 'member.updated' });
      expect(first.occurredAt).toBeInstanceOf(Date);
      expect(first.details).toEqual({ z: 1, a: { y: [1, 'two', null], b: true }, at: '2025-01-01T00:00:00.000Z' });
      expect(computeAuditHash(first.prevHash, first)).toBe(first.hash);
      for (let i = 0; i < 49; i++) expect(events[i]!.prevHash).toBe(events[i + 1]!.hash);
      const result = await verify(orgId);
      expect(result).toEqual({ ok: true, checked: 50, head: { seq: 50, hash: events[0]!.hash } });
    });

    it('pages by cursor and filters by actor, action and time', async () => {
      const page = (opts: Parameters<typeof listAuditEvents>[2]) =>
        db.tenant({ orgId }, (em) => listAuditEvents(em, orgId, opts));
      const p1 = await page({ limit: 20 });
      const p2 = await page({ limit: 20, cursor: p1.nextCursor! });
      const p3 = await page({ limit: 20, cursor: p2.nextCursor! });
      expect([p1.nextCursor, p2.nextCursor, p3.nextCursor]).toEqual([31, 11, null]);
      expect([...p1.events, ...p2.events, ...p3.events].map((e) => e.seq)).toEqual(
        Array.from({ length: 50 }, (_, i) => 50 - i),
      );
      const system = await page({ actorType: 'system', limit: 100 });
      expect(system.events.map((e) => e.seq)).toEqual([50, 45, 40, 35, 30, 25, 20, 15, 10, 5]);
      const byUser = await page({ actorId: user, action: 'invitation.created', limit: 100 });
      expect(byUser.events).toHaveLength(20);
      expect(byUser.events.every((e) => e.action === 'invitation.created' && e.actorId === user)).toBe(true);
      const all = (await page({ limit: 100 })).events;
      const mid = all[25]!.occurredAt;
      const before = await page({ to: mid, limit: 100 });
      const after = await page({ from: mid, limit: 100 });
      expect(before.events.length + after.events.length).toBe(50);
      expect(before.events.every((e) => e.occurredAt < mid)).toBe(true);
      expect((await page({ from: new Date(Date.now() + 60_000) })).events).toEqual([]);
    });
  });

  describe('when a row is tampered with in the database', () => {
    it('names the edited entry', async () => {
      const orgId = (await newOrg('audit-edit')).id;
      await appendMany(orgId, 10);
      expect(
        await asOwner(`update audit_events set details = '{"z": 999}' where org_id = $1 and seq = $2`, [orgId, 7]),
      ).toBe(1);
      const result = await verify(orgId);
      expect(result).toMatchObject({ ok: false, checked: 6, firstBroken: { seq: 7, reason: 'hash_mismatch' } });
    });

    it('names the first missing entry when a middle row is deleted', async () => {
      const orgId = (await newOrg('audit-delete')).id;
      await appendMany(orgId, 10);
      expect(await asOwner('delete from audit_events where org_id = $1 and seq = $2', [orgId, 4])).toBe(1);
      expect(await verify(orgId)).toMatchObject({ ok: false, checked: 3, firstBroken: { seq: 4, reason: 'gap' } });
    });

    it('catches an edit whose own hash was recomputed at the next link', async () => {
      const orgId = (await newOrg('audit-rehash')).id;
      await appendMany(orgId, 6);
      const { events } = await db.tenant({ orgId }, (em) => listAuditEvents(em, orgId));
      const target = events.find((e) => e.seq === 3)!;
      const forged = { ...target, details: { forged: true } };
      const forgedHash = computeAuditHash(forged.prevHash, forged);
      await asOwner(`update audit_events set details = '{"forged": true}', hash = $3 where org_id = $1 and seq = $2`, [
        orgId,
        3,
        forgedHash,
      ]);
      expect(await verify(orgId)).toMatchObject({ ok: false, firstBroken: { seq: 4, reason: 'prev_mismatch' } });
    });
  });

  describe('the app role', () => {
    let orgA: string;
    let orgB: string;
    beforeAll(async () => {
      orgA = (await newOrg('audit-wall-a')).id;
      orgB = (await newOrg('audit-wall-b')).id;
      await appendMany(orgA, 3);
      await appendMany(orgB, 2);
    });

    it('cannot update or delete audit entries, even of its own org', async () => {
      const inA = <T>(fn: (em: EntityManager) => Promise<T>) => db.tenant({ orgId: orgA }, fn);
      await expect(
        inA((em) => em.execute(`update audit_events set details = '{}' where org_id = ?`, [orgA])),
      ).rejects.toThrow(/permission denied/);
      // Deleting is allowed only for an org being deleted (its policy): a live org's log stays whole.
      const deleted = await inA((em) =>
        em.execute<Row[]>('delete from audit_events where org_id = ? returning seq', [orgA]),
      );
      expect(deleted).toEqual([]);
      await expect(inA((em) => em.execute('truncate audit_events'))).rejects.toThrow(/permission denied/);
      expect(await verify(orgA)).toMatchObject({ ok: true, checked: 3 });
    });

    it("sees and writes none of another org's entries, even by raw SQL", async () => {
      const inB = <T>(fn: (em: EntityManager) => Promise<T>) => db.tenant({ orgId: orgB }, fn);
      const seen = await inB((em) => em.execute<Row[]>('select org_id, seq from audit_events order by seq'));
      expect(seen.map((r) => [r.org_id, Number(r.seq)])).toEqual([
        [orgB, 1],
        [orgB, 2],
      ]);
      expect(await inB((em) => em.execute('select * from audit_events where org_id = ?', [orgA]))).toEqual([]);
      const viaOrm = await inB((em) => em.find(AuditEvent, {}, { orderBy: { seq: 'asc' } }));
      expect(viaOrm.map((e) => [e.orgId, e.seq])).toEqual([
        [orgB, 1],
        [orgB, 2],
      ]);
      expect((await inB((em) => listAuditEvents(em, orgA))).events).toEqual([]);
      // B's scope sees no chain of A at all: verifying A from there finds nothing to check.
      expect(await inB((em) => verifyAuditChain(em, orgA))).toEqual({ ok: true, checked: 0, head: null });
      await expect(inB((em) => appendAuditEvent(em, orgA, event(1)))).rejects.toThrow(/row-level security/);
      expect(await db.platform({}, (em) => em.execute('select * from audit_events'))).toEqual([]);
      expect(await verify(orgA)).toMatchObject({ ok: true, checked: 3 });
    });
  });

  describe('appends', () => {
    it('stay gapless and verified under 20 concurrent appends to one org', async () => {
      const orgId = (await newOrg('audit-burst')).id;
      const other = (await newOrg('audit-burst-other')).id;
      const rows = await Promise.all(
        Array.from({ length: 24 }, (_, i) => {
          const target = i % 6 === 5 ? other : orgId;
          return db.tenant({ orgId: target, userId: user }, (em) => appendAuditEvent(em, target, event(i + 1, user)));
        }),
      );
      expect(
        rows
          .filter((r) => r.orgId === orgId)
          .map((r) => r.seq)
          .sort((a, b) => a - b),
      ).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(await verify(orgId)).toMatchObject({ ok: true, checked: 20 });
      expect(await verify(other)).toMatchObject({ ok: true, checked: 4 });
    });

    it('append a batch in order, chained to what came before and to what comes after', async () => {
      const orgId = (await newOrg('audit-batch')).id;
      await appendMany(orgId, 2);
      const batch = await db.tenant({ orgId }, (em) =>
        appendAuditEvents(em, orgId, [event(3), event(4), event(5), event(6)]),
      );
      expect(batch.map((e) => e.seq)).toEqual([3, 4, 5, 6]);
      expect(batch.map((e) => e.targetId)).toEqual(['inv-3', 'inv-4', 'inv-5', 'inv-6']);
      await db.tenant({ orgId }, (em) => appendAuditEvent(em, orgId, event(7)));
      expect(await db.tenant({ orgId }, (em) => appendAuditEvents(em, orgId, []))).toEqual([]);
      expect(await verify(orgId)).toMatchObject({ ok: true, checked: 7 });
    });

    it('roll back with their unit of work and leave no gap', async () => {
      const orgId = (await newOrg('audit-rollback')).id;
      await appendMany(orgId, 2);
      await expect(
        db.tenant({ orgId }, async (em) => {
          await appendAuditEvent(em, orgId, event(3));
          throw new Error('abort on purpose');
        }),
      ).rejects.toThrow('abort on purpose');
      const next = await db.tenant({ orgId }, (em) => appendAuditEvent(em, orgId, event(3)));
      expect(next.seq).toBe(3);
      expect(await verify(orgId)).toMatchObject({ ok: true, checked: 3 });
    });
  });
});
