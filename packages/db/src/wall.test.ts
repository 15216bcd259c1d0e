import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { APP_ROLE } from './app-role.js';
import type { Db, EntityManager } from './db.js';
import { createAlertRule } from './repositories/alert-rules.js';
import { fireAlerts, recordAlertBreaches } from './repositories/alerts.js';
import { createApiToken } from './repositories/api-tokens.js';
import { appendAuditEvent } from './repositories/audit.js';
import { createInvitation } from './repositories/invitations.js';
import { createOrg } from './repositories/orgs.js';
import { inOrgScope } from './repositories/scope.js';
import { createUser } from './repositories/users.js';
import { createTestDatabase, type TestDatabase } from './testing.js';

// The database wall (SPEC §7): whatever query the app sends, PostgreSQL itself keeps each org's
// rows to that org. The tables are found through the catalog, so a tenant table added later is
// checked like the others (and fails here until the seed below gives org A a row in it).

vi.setConfig({ hookTimeout: 120_000, testTimeout: 120_000 });

type Row = Record<string, unknown>;

/**
 * Foreign keys that link two orgs' rows on purpose, and why. Any other foreign key between
 * tenant tables must carry the row's own org_id (Logto's fix: no cross-tenant attachment).
 */
const CROSS_ORG_LINKS: Record<string, string> = {
  incoming_shares_share_fkey: "the receiving org's side of a share points at the granting org's share",
};

interface TenantTable {
  name: string;
  rls: boolean;
  force: boolean;
  orgIdNotNull: boolean;
  /** Commands the app role holds a privilege for. */
  granted: ('select' | 'insert' | 'update' | 'delete')[];
  /** Commands some policy applies to (`all` covers every one). */
  policyCommands: string[];
  /** Policies whose expressions do not compare with `app.org_id`. */
  policiesWithoutOrg: string[];
  /** A column the app role may UPDATE, if any. */
  updatableColumn: string | null;
}

async function tenantTables(db: Db): Promise<TenantTable[]> {
  return db.platform({}, async (em) => {
    const rows = await em.execute<Row[]>(
      `select c.relname as name, c.relrowsecurity as rls, c.relforcerowsecurity as force,
              (select a.attnotnull from pg_attribute a where a.attrelid = c.oid and a.attname = 'org_id') as "orgIdNotNull",
              has_table_privilege(?, c.oid, 'SELECT') as sel,
              has_table_privilege(?, c.oid, 'INSERT') as ins,
              has_any_column_privilege(?, c.oid, 'UPDATE') as upd,
              has_table_privilege(?, c.oid, 'DELETE') as del,
              coalesce((select json_agg(p.polcmd::text) from pg_policy p where p.polrelid = c.oid), '[]')::text as cmds,
              coalesce((select json_agg(p.polname) from pg_policy p where p.polrelid = c.oid
                          and coalesce(pg_get_expr(p.polqual, p.polrelid), '') not like '%app.org_id%'
                          and coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') not like '%app.org_id%'), '[]')::text as "noOrg",
              (select a.attname from pg_attribute a
                where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                  and has_column_privilege(?, c.oid, a.attname, 'UPDATE')
                order by a.attnum desc limit 1) as "updatableColumn"
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind in ('r', 'p')
         and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'org_id' and not a.attisdropped)
       order by c.relname`,
      [APP_ROLE, APP_ROLE, APP_ROLE, APP_ROLE, APP_ROLE],
    );
    const commandNames: Record<string, string> = { r: 'select', a: 'insert', w: 'update', d: 'delete', '*': 'all' };
    return rows.map((r) => ({
      name: r.name as string,
      rls: r.rls as boolean,
      force: r.force as boolean,
      orgIdNotNull: r.orgIdNotNull as boolean,
      granted: (['select', 'insert', 'update', 'delete'] as const).filter(
        (_, i) => r[['sel', 'ins', 'upd', 'del'][i]!] === true,
      ),
      policyCommands: (JSON.parse(r.cmds as string) as string[]).map((c) => commandNames[c] ?? c),
      policiesWithoutOrg: JSON.parse(r.noOrg as string) as string[],
      updatableColumn: (r.updatableColumn as string | null) ?? null,
    }));
  });
}

describe.each(['postgresql', 'pglite'] as const)('the database wall on %s', (kind) => {
  let t: TestDatabase;
  let db: Db;
  let tables: TenantTable[];
  let orgA: string;
  let orgB: string;
  let orgC: string;
  let userA: string;

  /** SQL as the owner of the tables, around RLS (PostgreSQL: the owner URL; PGlite: its superuser). */
  async function asOwner<T extends Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    if (t.ownerUrl) {
      const client = new pg.Client({ connectionString: t.ownerUrl });
      await client.connect();
      try {
        return (await client.query(sql, params)).rows as T[];
      } finally {
        await client.end();
      }
    }
    return db.orm.em.fork().transactional(async (em: EntityManager) => {
      await em.execute('set local role none');
      const ordered = [...sql.matchAll(/\$(\d+)/g)].map((m) => params[Number(m[1]) - 1]);
      return em.execute<T[]>(sql.replace(/\$\d+/g, '?'), ordered);
    });
  }

  /** A fingerprint of org A's rows of a table, read as the owner. */
  const fingerprint = async (table: string) =>
    (
      await asOwner<{ n: unknown; h: string }>(
        `select count(*)::int as n, md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as h
         from ${table} x where org_id = $1`,
        [orgA],
      )
    )[0];

  /** Rows of org A in every tenant table: every kind of data an org holds. */
  async function seedOrgA(): Promise<void> {
    const agentId = randomUUID();
    const resourceId = randomUUID();
    const foreignResource = randomUUID();
    await db.tenant({ orgId: orgA, userId: userA }, async (em) => {
      await createInvitation(em, {
        orgId: orgA,
        email: 'invitee@wall.test',
        role: 'viewer',
        expiresAt: new Date(Date.now() + 86_400_000),
      });
      await em.execute(`insert into agents (org_id, id, name, token_hash) values (?, ?, 'wall-agent', 'h')`, [
        orgA,
        agentId,
      ]);
      await em.execute(
        `insert into resources (org_id, id, agent_id, type, name, status, cpu) values (?, ?, ?, 'host', 'wall-1', 'online', 0.97)`,
        [orgA, resourceId, agentId],
      );
      const rule = await createAlertRule(em, {
        orgId: orgA,
        name: 'wall rule',
        metric: 'cpu',
        comparison: 'gt',
        threshold: 0.9,
        statusValue: null,
        durationSeconds: 60,
        resourceTypes: [],
        namePattern: null,
        resourceIds: [],
        recipients: ['ops@wall.test'],
        enabled: true,
      });
      await recordAlertBreaches(em, orgA, [{ ruleId: rule.id, resourceId, breachingSince: new Date() }]);
      await fireAlerts(
        em,
        orgA,
        [
          {
            ruleId: rule.id,
            resourceId,
            ruleName: rule.name,
            condition: 'CPU above 90%',
            metric: 'cpu',
            resourceName: 'wall-1',
            resourceType: 'host',
            firedValue: 0.97,
            recipients: rule.recipients,
            breachingSince: new Date(),
          },
        ],
        new Date(),
      );
      // A's outgoing share (to C), and C's share to A whose receiving side is A's.
      const outgoing = randomUUID();
      await em.execute(
        `insert into shares (org_id, id, target_org_id, resource_org_id, resource_id, resource_type, role)
         values (?, ?, ?, ?, ?, 'host', 'viewer')`,
        [orgA, outgoing, orgC, orgA, resourceId],
      );
      const incoming = randomUUID();
      await inOrgScope(em, orgC, () =>
        em.execute(
          `insert into shares (org_id, id, target_org_id, resource_org_id, resource_id, resource_type, role)
           values (?, ?, ?, ?, ?, 'vm', 'viewer')`,
          [orgC, incoming, orgA, orgC, foreignResource],
        ),
      );
      await em.execute(
        `insert into incoming_shares (org_id, share_id, granting_org_id, resource_org_id, resource_id, resource_type, role)
         values (?, ?, ?, ?, ?, 'vm', 'viewer')`,
        [orgA, incoming, orgC, orgC, foreignResource],
      );
      await appendAuditEvent(em, orgA, { actorType: 'system', action: 'wall.seeded' });
    });
    await db.platform({ userId: userA }, (em) =>
      createApiToken(em, {
        id: randomUUID(),
        userId: userA,
        name: 'wall token',
        tokenHash: randomUUID(),
        bindings: [{ orgId: orgA, role: 'viewer' }],
      }),
    );
  }

  beforeAll(async () => {
    t = await createTestDatabase({ kind, poolMax: 4 });
    db = t.db;
    await db.platform({}, async (em) => {
      userA = (await createUser(em, { email: 'a@wall.test', name: 'A', passwordHash: 'x' })).id;
      const userB = (await createUser(em, { email: 'b@wall.test', name: 'B', passwordHash: 'x' })).id;
      orgA = (await createOrg(em, { slug: 'wall-a', name: 'A', ownerId: userA })).id;
      orgB = (await createOrg(em, { slug: 'wall-b', name: 'B', ownerId: userB })).id;
      orgC = (await createOrg(em, { slug: 'wall-c', name: 'C', ownerId: userB })).id;
    });
    await seedOrgA();
    // B holds rows of its own, so that B's statements below have something to touch.
    await db.tenant({ orgId: orgB }, (em) => appendAuditEvent(em, orgB, { actorType: 'system', action: 'wall.b' }));
    tables = await tenantTables(db);
  });
  afterAll(async () => {
    await t?.drop();
  });

  describe('catalog', () => {
    it('finds the tenant tables, and org A has a row in each (seed a new table here)', async () => {
      expect(tables.map((x) => x.name)).toEqual(
        expect.arrayContaining(['memberships', 'audit_events', 'resources', 'alert_rules', 'alerts']),
      );
      const unseeded = [];
      for (const table of tables) if (Number((await fingerprint(table.name))?.n) === 0) unseeded.push(table.name);
      expect(unseeded).toEqual([]);
    });

    it('enables and forces RLS on every tenant table, with org_id NOT NULL and a policy for each command the app may run', () => {
      for (const table of tables) {
        expect({ table: table.name, rls: table.rls, force: table.force, notNull: table.orgIdNotNull }).toEqual({
          table: table.name,
          rls: true,
          force: true,
          notNull: true,
        });
        const uncovered = table.granted.filter(
          (cmd) => !table.policyCommands.includes(cmd) && !table.policyCommands.includes('all'),
        );
        expect({ table: table.name, uncovered }).toEqual({ table: table.name, uncovered: [] });
        expect({ table: table.name, policiesWithoutOrg: table.policiesWithoutOrg }).toEqual({
          table: table.name,
          policiesWithoutOrg: [],
        });
      }
      // The app never rewrites the audit log.
      expect(tables.find((x) => x.name === 'audit_events')?.granted).not.toContain('update');
    });

    it('starts every index and primary key with org_id', async () => {
      const indexes = await db.platform({}, (em) =>
        em.execute<Row[]>(`
          select t.relname as tbl, ic.relname as idx, a.attname as first
          from pg_index i
          join pg_class t on t.oid = i.indrelid
          join pg_class ic on ic.oid = i.indexrelid
          join pg_namespace n on n.oid = t.relnamespace
          left join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
          where n.nspname = 'public'
            and exists (select 1 from pg_attribute x where x.attrelid = t.oid and x.attname = 'org_id' and not x.attisdropped)`),
      );
      const offending = indexes.filter((i) => i.first !== 'org_id').map((i) => `${i.tbl}.${i.idx}`);
      expect(offending).toEqual([]);
      const withPk = new Set(indexes.filter((i) => String(i.idx).endsWith('_pkey')).map((i) => i.tbl));
      expect(tables.filter((x) => !withPk.has(x.name)).map((x) => x.name)).toEqual([]);
    });

    it('makes every foreign key between tenant tables carry org_id on both sides, and none point at resources', async () => {
      const fks = await db.platform({}, (em) =>
        em.execute<Row[]>(`
          select con.conname as name, src.relname as src, dst.relname as dst,
                 exists (select 1 from unnest(con.conkey, con.confkey) as k(s, d)
                         join pg_attribute sa on sa.attrelid = con.conrelid and sa.attnum = k.s
                         join pg_attribute da on da.attrelid = con.confrelid and da.attnum = k.d
                         where sa.attname = 'org_id' and da.attname = 'org_id') as "carriesOrg",
                 exists (select 1 from unnest(con.conkey, con.confkey) as k(s, d)
                         join pg_attribute sa on sa.attrelid = con.conrelid and sa.attnum = k.s
                         join pg_attribute da on da.attrelid = con.confrelid and da.attnum = k.d
                         where sa.attname like '%org_id' and da.attname = 'org_id') as "leadsWithOrg"
          from pg_constraint con
          join pg_class src on src.oid = con.conrelid
          join pg_class dst on dst.oid = con.confrelid
          join pg_namespace n on n.oid = src.relnamespace
          where con.contype = 'f' and n.nspname = 'public'`),
      );
      const tenant = new Set(tables.map((x) => x.name));
      const between = fks.filter((fk) => tenant.has(String(fk.src)) && tenant.has(String(fk.dst)));
      expect(between.length).toBeGreaterThan(0);
      const offending = between.filter((fk) => !fk.carriesOrg && !(String(fk.name) in CROSS_ORG_LINKS));
      expect(offending.map((fk) => fk.name)).toEqual([]);
      // The deliberate exceptions still look the other org's row up by its org id.
      for (const fk of between.filter((x) => String(x.name) in CROSS_ORG_LINKS)) {
        expect(fk.leadsWithOrg, String(fk.name)).toBe(true);
      }
      expect(fks.filter((fk) => fk.dst === 'resources').map((fk) => fk.name)).toEqual([]);
    });
  });

  describe('raw SQL through the app role', () => {
    /** Runs `fn` in B's scope, in the scope of no org, and on a bare pooled connection; rolls back. */
    const scopes = [
      { name: "B's scope", run: <T>(fn: (em: EntityManager) => Promise<T>) => db.tenant({ orgId: orgB }, fn) },
      { name: 'no org', run: <T>(fn: (em: EntityManager) => Promise<T>) => db.platform({}, fn) },
      {
        name: 'an org set to nothing by hand',
        run: <T>(fn: (em: EntityManager) => Promise<T>) =>
          db.orm.em.fork().transactional(async (em: EntityManager) => {
            await em.execute(`select set_config('app.org_id', '', true), set_config('app.user_id', '', true)`);
            return fn(em);
          }),
      },
    ];
    const refusal = /row-level security|permission denied/;
    const ROLLBACK = new Error('roll back on purpose');

    /** Runs `fn` and rolls its transaction back, returning what it returned. */
    async function rolledBack<T>(run: (typeof scopes)[number]['run'], fn: (em: EntityManager) => Promise<T>) {
      let result: T | undefined;
      await expect(
        run(async (em) => {
          result = await fn(em);
          throw ROLLBACK;
        }),
      ).rejects.toBe(ROLLBACK);
      return result as T;
    }

    it('SELECT sees no row of org A, with or without a filter', async () => {
      for (const scope of scopes) {
        for (const table of tables) {
          const rows = await scope.run((em) =>
            em.execute<Row[]>(`select org_id::text as org from ${table.name}`).catch((e: Error) => e),
          );
          const label = `${scope.name}: select from ${table.name}`;
          if (rows instanceof Error) {
            expect(rows.message, label).toMatch(refusal);
            continue;
          }
          expect(
            rows.filter((r) => r.org === orgA),
            label,
          ).toEqual([]);
          const filtered = await scope.run((em) =>
            em.execute<Row[]>(`select count(*)::int as n from ${table.name} where org_id = ?`, [orgA]),
          );
          expect(filtered[0]?.n, label).toBe(0);
        }
      }
      const bare = await db.orm.em.fork().execute<Row[]>('select count(*)::int as n from alerts');
      expect(bare[0]?.n).toBe(0);
    });

    it("INSERT of a copy of org A's row is refused", async () => {
      for (const table of tables) {
        const [row] = await asOwner<{ j: unknown }>(
          `select row_to_json(x)::text as j from ${table.name} x where org_id = $1 limit 1`,
          [orgA],
        );
        for (const scope of scopes) {
          await expect(
            scope.run((em) =>
              em.execute(`insert into ${table.name} select * from json_populate_record(null::${table.name}, ?::json)`, [
                row!.j,
              ]),
            ),
            `${scope.name}: insert into ${table.name}`,
          ).rejects.toThrow(refusal);
        }
      }
    });

    it('UPDATE and DELETE touch no row of org A', async () => {
      const before = new Map<string, unknown>();
      for (const table of tables) before.set(table.name, await fingerprint(table.name));
      for (const scope of scopes) {
        for (const table of tables) {
          const label = `${scope.name}: ${table.name}`;
          const column = table.updatableColumn;
          if (!column) {
            await expect(
              scope.run((em) => em.execute(`update ${table.name} set org_id = org_id`)),
              label,
            ).rejects.toThrow(refusal);
          } else {
            const updated = await rolledBack(scope.run, (em) =>
              em.execute<Row[]>(`update ${table.name} set ${column} = ${column} returning org_id::text as org`),
            );
            expect(
              updated.filter((r) => r.org === orgA),
              `update ${label}`,
            ).toEqual([]);
            const targeted = await rolledBack(scope.run, (em) =>
              em.execute<Row[]>(`update ${table.name} set ${column} = ${column} where org_id = ? returning 1`, [orgA]),
            );
            expect(targeted, `targeted update ${label}`).toEqual([]);
          }
          if (!table.granted.includes('delete')) {
            await expect(
              scope.run((em) => em.execute(`delete from ${table.name}`)),
              label,
            ).rejects.toThrow(refusal);
            continue;
          }
          const deleted = await rolledBack(scope.run, (em) =>
            em.execute<Row[]>(`delete from ${table.name} returning org_id::text as org`),
          );
          expect(
            deleted.filter((r) => r.org === orgA),
            `delete ${label}`,
          ).toEqual([]);
        }
      }
      for (const table of tables) expect(await fingerprint(table.name), table.name).toEqual(before.get(table.name));
    });
  });

  describe.runIf(kind === 'postgresql')('a small pool under load', () => {
    it('never carries an org into the next transaction: 500 concurrent units for two orgs over 4 connections, aborts mixed in', async () => {
      const orgs = [orgA, orgB];
      const leaked: string[] = [];
      const seenBy = (em: EntityManager) =>
        em.execute<Row[]>(
          `select current_setting('app.org_id', true) as setting,
                  (select coalesce(json_agg(distinct org_id), '[]')::text from audit_events) as audit,
                  (select coalesce(json_agg(distinct org_id), '[]')::text from memberships) as members`,
        );
      const check = (label: string, own: string | null, rows: Row[]) => {
        const [r] = rows;
        const seen = [
          ...(JSON.parse(r!.audit as string) as string[]),
          ...(JSON.parse(r!.members as string) as string[]),
        ];
        if ((r!.setting ?? '') !== (own ?? '')) leaked.push(`${label}: setting ${String(r!.setting)}`);
        if (seen.some((o) => o !== own)) leaked.push(`${label}: saw ${seen.join(',')}`);
        if (own !== null && seen.length === 0) leaked.push(`${label}: saw nothing of its own`);
      };
      const units = Array.from({ length: 500 }, async (_, i) => {
        const own = orgs[i % 2]!;
        const other = orgs[(i + 1) % 2]!;
        const label = `unit ${i}`;
        switch (i % 5) {
          case 0:
            // Aborts after switching to the other org mid-transaction: the switch must die with it.
            await db
              .tenant({ orgId: own }, async (em) => {
                check(label, own, await seenBy(em));
                await em.execute(`select set_config('app.org_id', ?, true)`, [other]);
                throw new Error('abort');
              })
              .catch(() => {});
            return;
          case 1:
            // Aborts after a write: the row must not survive, nor the scope.
            await db
              .tenant({ orgId: own }, async (em) => {
                await appendAuditEvent(em, own, { actorType: 'system', action: 'wall.aborted' });
                check(label, own, await seenBy(em));
                throw new Error('abort');
              })
              .catch(() => {});
            return;
          case 2:
            // A failing statement aborts the transaction from inside the database.
            await db
              .tenant({ orgId: own }, async (em) => {
                check(label, own, await seenBy(em));
                await em.execute('select 1 / 0');
              })
              .catch(() => {});
            return;
          case 3:
            check(label, null, await db.platform({}, seenBy));
            return;
          default:
            check(label, own, await db.tenant({ orgId: own }, seenBy));
        }
      });
      await Promise.all(units);
      expect(leaked).toEqual([]);
      const aborted = await asOwner(`select count(*)::int as n from audit_events where action = 'wall.aborted'`);
      expect(aborted[0]?.n).toBe(0);
      // And outside any unit of work, every pooled connection reads no org.
      const bare = await Promise.all(
        Array.from({ length: 8 }, () =>
          db.orm.em.fork().execute<Row[]>(`select current_setting('app.org_id', true) as org, current_user as role`),
        ),
      );
      for (const [r] of bare) expect([r?.org ?? '', r?.role]).toEqual(['', APP_ROLE]);
    });
  });
});
