import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { APP_ROLE } from './app-role.js';
import type { Db, EntityManager } from './db.js';
import { Membership } from './entities.js';
import { addMembership } from './repositories/memberships.js';
import { createOrg } from './repositories/orgs.js';
import { createUser } from './repositories/users.js';
import { createTestDatabase, type TestDatabase } from './testing.js';

// Opening PGlite takes seconds; these hold whatever the root config says.
vi.setConfig({ hookTimeout: 60_000, testTimeout: 30_000 });

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type Row = Record<string, unknown>;

async function orgIdsOf(em: EntityManager): Promise<string[]> {
  const rows = await em.execute<{ org_id: string }[]>('select org_id from memberships');
  return rows.map((r) => r.org_id);
}

describe.each(['postgresql', 'pglite'] as const)('on %s', (kind) => {
  let t: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    t = await createTestDatabase({ kind, poolMax: 2 });
    db = t.db;
  });
  afterAll(async () => {
    await t?.drop();
  });

  describe('migrations', () => {
    it('create the default org with a random id', async () => {
      expect(db.kind).toBe(kind);
      expect(db.defaultOrgId).toMatch(UUID_V4);
      const [row] = await db.platform({}, (em) =>
        em.execute<Row[]>(`select id, name, tier, status from organizations where slug = 'default'`),
      );
      expect(row).toEqual({ id: db.defaultOrgId, name: 'Default', tier: 'enterprise', status: 'active' });
    });

    it('are idempotent', async () => {
      await db.migrate();
      await db.migrate();
      const rows = await db.platform({}, (em) =>
        em.execute<Row[]>(`select id from organizations where slug = 'default'`),
      );
      expect(rows).toEqual([{ id: db.defaultOrgId }]);
      const [who] = await db.orm.em.fork().execute<Row[]>('select current_user as role');
      expect(who?.role).toBe(APP_ROLE);
    });
  });

  describe('catalog', () => {
    it('forces RLS with a policy on every table that has org_id, and every index starts with org_id', async () => {
      const tables = await db.platform({}, (em) =>
        em.execute<{ name: string; rls: boolean; force: boolean; policies: number }[]>(`
          select c.relname as name, c.relrowsecurity as rls, c.relforcerowsecurity as force,
                 (select count(*) from pg_policy p where p.polrelid = c.oid)::int as policies
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'public' and c.relkind in ('r', 'p')
            and exists (select 1 from pg_attribute a
                        where a.attrelid = c.oid and a.attname = 'org_id' and not a.attisdropped)`),
      );
      expect(tables.map((x) => x.name)).toEqual(expect.arrayContaining(['memberships', 'invitations', 'audit_events']));
      for (const table of tables) {
        expect(table, table.name).toMatchObject({ rls: true, force: true });
        expect(table.policies, table.name).toBeGreaterThan(0);
      }
      // The audit log is append-only for the app: read and insert policies, and a delete policy
      // that only applies to an org being deleted (its entries go with it, in batches).
      expect(tables.find((x) => x.name === 'audit_events')?.policies).toBe(3);
      const auditPolicies = await db.platform({}, (em) =>
        em.execute<{ cmd: string; qual: string | null }[]>(
          `select polcmd as cmd, pg_get_expr(polqual, polrelid) as qual from pg_policy
           where polrelid = 'audit_events'::regclass order by polcmd`,
        ),
      );
      expect(auditPolicies.map((p) => p.cmd).sort()).toEqual(['a', 'd', 'r']);
      expect(auditPolicies.find((p) => p.cmd === 'd')?.qual).toContain("'deleting'");
      // Every policy reads the request's scope once per statement (an init plan), never per row.
      const policies = await db.platform({}, (em) =>
        em.execute<{ name: string; expr: string }[]>(
          `select polname as name, coalesce(pg_get_expr(polqual, polrelid), '') || ' ' ||
                  coalesce(pg_get_expr(polwithcheck, polrelid), '') as expr
           from pg_policy`,
        ),
      );
      expect(policies.length).toBeGreaterThan(40);
      for (const p of policies) {
        expect(p.expr, p.name).toMatch(/current_setting\('app\.(org|user)_id'/);
        expect(p.expr, p.name).not.toMatch(/(?<!SELECT )\(NULLIF\(current_setting\(/);
      }
      const indexes = await db.platform({}, (em) =>
        em.execute<{ tbl: string; idx: string; first: string | null }[]>(`
          select t.relname as tbl, ic.relname as idx, a.attname as first
          from pg_index i
          join pg_class t on t.oid = i.indrelid
          join pg_class ic on ic.oid = i.indexrelid
          join pg_namespace n on n.oid = t.relnamespace
          left join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
          where n.nspname = 'public'
            and exists (select 1 from pg_attribute x
                        where x.attrelid = t.oid and x.attname = 'org_id' and not x.attisdropped)`),
      );
      expect(new Set(indexes.map((x) => x.tbl))).toEqual(new Set(tables.map((x) => x.name)));
      expect(indexes.map((x) => x.idx)).toContain('invitations_pending_email_unique');
      for (const index of indexes) expect(index.first, `${index.tbl}.${index.idx}`).toBe('org_id');
    });

    it('runs the app as a role that owns nothing and cannot bypass RLS', async () => {
      const [role] = await db.platform({}, (em) =>
        em.execute<Row[]>(
          `select rolsuper, rolbypassrls,
                  (select count(*) from pg_class where relowner = r.oid)::int as owned
           from pg_roles r where rolname = ?`,
          [APP_ROLE],
        ),
      );
      expect(role).toEqual({ rolsuper: false, rolbypassrls: false, owned: 0 });
      const [inside] = await db.tenant({ orgId: db.defaultOrgId }, (em) =>
        em.execute<Row[]>('select current_user as role'),
      );
      expect(inside?.role).toBe(APP_ROLE);
    });
  });

  describe('row-level security on memberships', () => {
    let orgA: string;
    let orgB: string;
    let alice: string; // owner of A
    let bob: string; // owner of B
    let carol: string; // member of both

    beforeAll(async () => {
      await db.platform({}, async (em) => {
        const mk = (email: string) => createUser(em, { email, name: email, passwordHash: 'x' });
        alice = (await mk('alice@rls.test')).id;
        bob = (await mk('bob@rls.test')).id;
        carol = (await mk('carol@rls.test')).id;
        orgA = (await createOrg(em, { slug: 'rls-a', name: 'A', ownerId: alice })).id;
        orgB = (await createOrg(em, { slug: 'rls-b', name: 'B', ownerId: bob })).id;
      });
      await db.tenant({ orgId: orgA }, (em) => addMembership(em, { orgId: orgA, userId: carol, role: 'viewer' }));
      await db.tenant({ orgId: orgB }, (em) => addMembership(em, { orgId: orgB, userId: carol, role: 'editor' }));
    });

    it('shows only the scoped org to a SELECT that forgets the filter', async () => {
      const seen = await db.tenant({ orgId: orgB }, orgIdsOf);
      expect(seen.length).toBe(2);
      expect(new Set(seen)).toEqual(new Set([orgB]));
      const explicit = await db.tenant({ orgId: orgB }, (em) =>
        em.execute('select * from memberships where org_id = ?', [orgA]),
      );
      expect(explicit).toEqual([]);
      const viaOrm = await db.tenant({ orgId: orgB }, (em) => em.find(Membership, {}));
      expect(viaOrm.map((m) => m.orgId)).toEqual([orgB, orgB]);
    });

    it('refuses to INSERT into another org', async () => {
      await expect(
        db.tenant({ orgId: orgB }, (em) =>
          em.execute(`insert into memberships (org_id, user_id, role) values (?, ?, 'admin')`, [orgA, bob]),
        ),
      ).rejects.toThrow(/row-level security/);
      await expect(
        db.tenant({ orgId: orgB }, async (em) => {
          em.create(Membership, { orgId: orgA, userId: bob, role: 'admin' });
        }),
      ).rejects.toThrow(/row-level security/);
    });

    it('lets UPDATE and DELETE touch no row of another org', async () => {
      const updated = await db.tenant({ orgId: orgB }, (em) =>
        em.execute(`update memberships set role = 'viewer' where org_id = ? returning user_id`, [orgA]),
      );
      const deleted = await db.tenant({ orgId: orgB }, (em) =>
        em.execute('delete from memberships where org_id = ? returning user_id', [orgA]),
      );
      const unfiltered = await db.tenant({ orgId: orgB }, (em) =>
        em.execute(`update memberships set role = role where user_id = ? returning org_id`, [alice]),
      );
      expect([updated, deleted, unfiltered]).toEqual([[], [], []]);
      await expect(
        db.tenant({ orgId: orgB }, (em) =>
          em.execute('update memberships set org_id = ? where org_id = ?', [orgA, orgB]),
        ),
      ).rejects.toThrow(/row-level security/);
      const a = await db.tenant({ orgId: orgA }, (em) =>
        em.execute<Row[]>('select user_id, role from memberships order by role'),
      );
      expect(a).toEqual([
        { user_id: alice, role: 'owner' },
        { user_id: carol, role: 'viewer' },
      ]);
    });

    it('returns nothing and writes nothing with no org set', async () => {
      const rows = await db.platform({}, (em) => em.execute('select * from memberships'));
      expect(rows).toEqual([]);
      const unscoped = await db.orm.em.fork().execute('select * from memberships');
      expect(unscoped).toEqual([]);
      await expect(
        db.platform({}, (em) =>
          em.execute(`insert into memberships (org_id, user_id, role) values (?, ?, 'admin')`, [orgA, bob]),
        ),
      ).rejects.toThrow(/row-level security/);
    });

    it("shows a user their own memberships across orgs, and nobody else's", async () => {
      const own = await db.platform({ userId: carol }, (em) =>
        em.execute<Row[]>('select org_id, user_id from memberships order by role'),
      );
      expect(own).toEqual([
        { org_id: orgB, user_id: carol },
        { org_id: orgA, user_id: carol },
      ]);
      // Alice in org B's scope: B's rows plus her own row in A, but her A row stays read-only.
      const mixed = await db.tenant({ orgId: orgB, userId: alice }, orgIdsOf);
      expect(mixed.sort()).toEqual([orgA, orgB, orgB].sort());
      const removed = await db.tenant({ orgId: orgB, userId: alice }, (em) =>
        em.execute('delete from memberships where user_id = ? returning org_id', [alice]),
      );
      expect(removed).toEqual([]);
    });

    it('reads in one exchange under the scope, statements prepared once per connection, after failures too', async () => {
      const read = (orgId: string) =>
        db.readInOrg({ orgId }, [
          { sql: 'select org_id from memberships', params: [] },
          { sql: `select current_setting('app.org_id', true) as org, ?::text as echo`, params: [`it's ${orgId}`] },
          // PostgreSQL cannot infer this parameter's type for PREPARE: it runs as plain text.
          { sql: 'select ? is null as plain', params: ['as is'] },
        ]);
      for (let round = 0; round < 10; round++) {
        const results = await Promise.all([read(orgA), read(orgB), read(orgA)]);
        for (const [i, orgId] of [orgA, orgB, orgA].entries()) {
          const [members = [], settings = [], plains = []] = results[i]!;
          expect(members.length).toBeGreaterThan(0);
          expect(members.every((m) => m.org_id === orgId)).toBe(true);
          expect(settings).toEqual([{ org: orgId, echo: `it's ${orgId}` }]);
          expect(plains).toEqual([{ plain: false }]);
        }
        if (round === 4) {
          // A failed statement fails the read and leaves the connection clean for the next one.
          await expect(
            db.readInOrg({ orgId: orgA }, [{ sql: 'select 1 / (? - 1) as boom', params: [1] }]),
          ).rejects.toThrow(/division by zero/);
        }
      }
      if (kind === 'postgresql') {
        // The connection holds the scope's and the statements' plans, not the plain text's
        // (this statement, prepared too, is left out of the count).
        const [[prepared] = []] = await db.readInOrg({ orgId: orgA }, [
          {
            sql: `select count(*)::int as n, count(*) filter (where statement like '%$1 is null as%')::int as plain from pg_prepared_statements where name like 'tenantry\\_%' and statement not like '%pg_prepared_statements%'`,
            params: [],
          },
        ]);
        expect(prepared).toEqual({ n: expect.any(Number), plain: 0 });
        expect(prepared?.n as number).toBeGreaterThanOrEqual(3);
        // The scope and the two statements, and the failed one if it ran on this connection.
        expect(prepared?.n as number).toBeLessThanOrEqual(3 + 1);
      }
    });

    it('writes in one transaction under the scope, all or nothing, committing asynchronously when asked', async () => {
      const settings = {
        sql: `select current_setting('app.org_id', true) as org, current_setting('synchronous_commit') as sync`,
        params: [],
      };
      const note = (orgId: string, name: string) => ({
        sql: `insert into agents (org_id, id, name, token_hash) values (?, gen_random_uuid(), ?, ?) returning org_id`,
        params: [orgId, name, `hash-${name}`],
      });
      const [scoped = [], written = []] = await db.writeInOrg({ orgId: orgA }, [settings, note(orgA, 'w.one')], {
        asyncCommit: true,
      });
      expect(scoped).toEqual([{ org: orgA, sync: 'off' }]);
      expect(written).toEqual([{ org_id: orgA }]);
      // Asynchronous commit for that transaction only, and the default without asking.
      const [[plain] = []] = await db.writeInOrg({ orgId: orgA }, [settings]);
      expect(plain).toEqual({ org: orgA, sync: 'on' });
      const [[after] = []] = await db.readInOrg({ orgId: orgA }, [settings]);
      expect(after?.sync).toBe('on');
      // The scope's wall: org A's scope cannot write a row of org B.
      await expect(db.writeInOrg({ orgId: orgA }, [note(orgB, 'w.other')])).rejects.toThrow(/row-level security/);
      // A failing statement takes back the ones before it, and the connection serves the next write.
      await expect(
        db.writeInOrg({ orgId: orgA }, [note(orgA, 'w.undone'), { sql: 'select 1 / (? - 1) as boom', params: [1] }]),
      ).rejects.toThrow(/division by zero/);
      const agents = await db.tenant({ orgId: orgA }, (em) =>
        em.execute<Row[]>(`select name from agents where name like 'w.%' order by name`),
      );
      expect(agents.map((a) => a.name)).toEqual(['w.one']);
      await expect(db.writeInOrg({ orgId: 'not-a-uuid' }, [settings])).rejects.toThrow(/orgId/);
    });

    it.runIf(kind === 'postgresql')('keeps reading when a connection loses its prepared statements', async () => {
      const read = (orgId: string) =>
        db.readInOrg({ orgId }, [{ sql: `select current_setting('app.org_id', true) as org`, params: [] }]);
      for (let round = 0; round < 6; round++) {
        // Both pooled connections forget every prepared statement (as behind a pooler that
        // hands out another server connection); every read after it still answers.
        await Promise.all([0, 1].map(() => db.orm.em.fork().execute('select pg_sleep(0.05); deallocate all')));
        const answers = await Promise.all([read(orgA), read(orgB), read(orgA), read(orgB)]);
        expect(answers.map(([rows = []]) => rows[0]?.org)).toEqual([orgA, orgB, orgA, orgB]);
      }
    });

    it('does not carry the org into the next transaction on a pooled connection', async () => {
      const rounds = 30;
      const loop = async (orgId: string) => {
        for (let i = 0; i < rounds; i++) {
          const body = async (em: EntityManager) => {
            const [s] = await em.execute<Row[]>(`select current_setting('app.org_id', true) as org`);
            expect(s?.org).toBe(orgId);
            const seen = await orgIdsOf(em);
            expect(seen.length).toBeGreaterThan(0);
            expect(seen.every((o) => o === orgId)).toBe(true);
          };
          if (i % 4 === 3) {
            await expect(
              db.tenant({ orgId }, async (em) => {
                await body(em);
                throw new Error('abort on purpose');
              }),
            ).rejects.toThrow('abort on purpose');
          } else if (i % 4 === 1) {
            // An unscoped unit between tenant units must see nothing.
            expect(await db.platform({}, orgIdsOf)).toEqual([]);
            await db.tenant({ orgId }, body);
          } else {
            await db.tenant({ orgId }, body);
          }
        }
      };
      await Promise.all([loop(orgA), loop(orgB), loop(orgA)]);
      // Outside any unit of work, on whichever pooled connection comes up, the settings read empty.
      const reads = await Promise.all(
        Array.from({ length: 4 }, () =>
          db.orm.em
            .fork()
            .execute<Row[]>(
              `select current_setting('app.org_id', true) as org, current_setting('app.user_id', true) as usr, current_user as role`,
            ),
        ),
      );
      for (const [r] of reads) {
        expect(r?.org ?? '').toBe('');
        expect(r?.usr ?? '').toBe('');
        expect(r?.role).toBe(APP_ROLE);
      }
    });
  });
});
