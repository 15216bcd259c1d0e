import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MikroORM, type Options } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { type AbstractSqlDriver, PostgreSqlDriver, type SqlEntityManager } from '@mikro-orm/postgresql';
import { APP_ROLE } from './app-role.js';
import { entities } from './entities.js';
import { migrationsList } from './migrations/index.js';

/** The EntityManager handed to units of work and taken by every repository function. */
export type EntityManager = SqlEntityManager;

/** The app's ORM (PostgreSQL or PGlite driver). */
export type AppOrm = MikroORM<AbstractSqlDriver, EntityManager>;

/** How to reach the database. */
export interface DbOptions {
  /** PostgreSQL URL of the app connection. Unset: embedded PGlite under `dataDir`. */
  databaseUrl?: string;
  /** PostgreSQL URL of the owner that runs migrations. Default: `databaseUrl`. */
  migrationUrl?: string;
  /** Where embedded PGlite keeps its files (`${dataDir}/pglite`). */
  dataDir: string;
  /** Embedded PGlite only: keep the database in memory and ignore `dataDir` (tests). */
  memory?: boolean;
  /** Log every query. */
  debug?: boolean;
  /** Max pooled app connections (PostgreSQL; PGlite always has exactly one). Default 10. */
  poolMax?: number;
}

/** Who a unit of work acts for, inside one organization. */
export interface TenantScope {
  orgId: string;
  userId?: string | null;
}

/** Who a unit of work acts for, outside any organization. */
export interface PlatformScope {
  userId?: string | null;
}

/** One SQL statement with `?` placeholders and its parameters. */
export interface SqlStatement {
  sql: string;
  params: readonly unknown[];
}

/** An open database: the app ORM and its scoped units of work. */
export interface Db {
  /** App connection: effective role `tenantry_app` on every connection. Prefer `tenant()`. */
  orm: AppOrm;
  kind: 'postgresql' | 'pglite';
  /** Id of the org with slug `default`, resolved after migrating. */
  defaultOrgId: string;
  /**
   * Unit of work for one org: forks the EM, opens a transaction, sets `app.org_id` and
   * `app.user_id` transaction-locally in one round trip, runs `fn`, flushes and commits
   * (rolls back if `fn` throws). Do not nest units of work: PGlite has a single connection.
   */
  tenant<T>(scope: TenantScope, fn: (em: EntityManager) => Promise<T>): Promise<T>;
  /**
   * Reads in one round trip: the statements run in a read-only transaction scoped like
   * `tenant()` (role, `app.org_id`, `app.user_id`), sent together with BEGIN and COMMIT, so a
   * hot read costs the database one exchange instead of four. Answers each statement's rows.
   * (PGlite, which has no network, runs them in a unit of work.)
   */
  readInOrg(scope: TenantScope, statements: readonly SqlStatement[]): Promise<Record<string, unknown>[][]>;
  /**
   * Writes in one round trip: the statements run in one transaction scoped like `tenant()`,
   * sent together with BEGIN and COMMIT, so the transaction holds its locks for one exchange
   * instead of five. With `asyncCommit`, it commits without waiting for its WAL to reach the
   * disk (`synchronous_commit` off for this transaction only). Answers each statement's rows;
   * a statement that fails rolls the whole transaction back. For short, repeated writes such
   * as deletion batches. (PGlite, which has no network, runs them in a unit of work.)
   */
  writeInOrg(
    scope: TenantScope,
    statements: readonly SqlStatement[],
    opts?: { asyncCommit?: boolean },
  ): Promise<Record<string, unknown>[][]>;
  /** Unit of work with no org set: global tables, plus the given user's own memberships. */
  platform<T>(scope: PlatformScope, fn: (em: EntityManager) => Promise<T>): Promise<T>;
  /** Runs pending migrations as the owner. Idempotent. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Role, org and user in ONE statement right after BEGIN. The role is set again although every
// connection already runs as the app role: it costs nothing here and keeps the wall up even
// if something reset the session role (PGlite shares one session with migrations).
const SCOPE_SQL = `select set_config('role', '${APP_ROLE}', true), set_config('app.org_id', ?, true), set_config('app.user_id', ?, true)`;

// Serialises migrations of processes that start together (API and worker) on one database.
const MIGRATION_LOCK_KEY = 7_261_001;

function assertUuid(value: string, what: string): void {
  if (!UUID_RE.test(value)) throw new TypeError(`${what} must be a UUID, got ${JSON.stringify(value)}`);
}

/** URL without its password, for error messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}

function baseOptions(debug: boolean) {
  return {
    entities,
    debug,
    ensureDatabase: false,
    allowGlobalContext: false,
    extensions: [Migrator],
    migrations: {
      migrationsList,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      disableForeignKeys: false,
      silent: true,
    },
  } satisfies Partial<Options>;
}

/** Runs pending migrations on an ORM whose connection is the owner (or the PGlite superuser). */
async function runMigrations(orm: AppOrm, lock: boolean): Promise<void> {
  const em = orm.em.fork();
  // The owner ORM has a pool of one, so the session lock and the migrations share a connection.
  if (lock) await em.execute('select pg_advisory_lock(?)', [MIGRATION_LOCK_KEY]);
  try {
    await orm.migrator.up();
  } finally {
    if (lock) await em.execute('select pg_advisory_unlock(?)', [MIGRATION_LOCK_KEY]);
  }
}

/** Fails unless the connection's effective role is the unprivileged app role. */
async function assertAppRole(orm: AppOrm, who: string): Promise<void> {
  let row: { role: string; super: boolean; bypass: boolean } | undefined;
  try {
    [row] = await orm.em
      .fork()
      .execute<{ role: string; super: boolean; bypass: boolean }[]>(
        'select current_user as role, rolsuper as super, rolbypassrls as bypass from pg_roles where rolname = current_user',
      );
  } catch (err) {
    throw new Error(
      `The app connection (${who}) cannot switch to role ${APP_ROLE}: ${(err as Error).message}. ` +
        `Connect as ${APP_ROLE}, or run "GRANT ${APP_ROLE} TO <user>" for the user of DATABASE_URL.`,
      { cause: err },
    );
  }
  if (!row || row.role !== APP_ROLE) {
    throw new Error(`The app connection (${who}) runs as ${row?.role ?? 'unknown'}, expected ${APP_ROLE}.`);
  }
  if (row.super || row.bypass) {
    throw new Error(
      `Role ${APP_ROLE} must be NOSUPERUSER NOBYPASSRLS, or row-level security does not apply: ` +
        `ALTER ROLE ${APP_ROLE} NOSUPERUSER NOBYPASSRLS.`,
    );
  }
}

async function resolveDefaultOrgId(db: Pick<Db, 'platform'>): Promise<string> {
  const id = await db.platform({}, async (em) => {
    const [row] = await em.execute<{ id: string }[]>(`select id from organizations where slug = 'default'`);
    return row?.id;
  });
  if (!id) throw new Error('The default organization is missing: the migrations did not run completely.');
  return id;
}

interface RawPgConnection {
  query(text: string): Promise<{ rows: Record<string, unknown>[] } | { rows: Record<string, unknown>[] }[]>;
}

interface KnexClientLike {
  acquireConnection(): Promise<RawPgConnection>;
  releaseConnection(conn: RawPgConnection): Promise<void>;
}

/** Most statements `readInOrg` keeps prepared on one connection; others run as plain text. */
const MAX_PREPARED_PER_CONNECTION = 64;
/** Texts PostgreSQL would not prepare (a parameter type it cannot infer): they run as plain text. */
const unpreparable = new Set<string>();

/**
 * `?` placeholders as `$1…$n` for PREPARE, or null when the text cannot be numbered the way the
 * ORM formats it (identifier `??` or escaped `\?` placeholders, or a count that does not match).
 */
export function numberedPlaceholders(sql: string, params: number): string | null {
  if (sql.includes('??') || sql.includes('\\?')) return null;
  let n = 0;
  const numbered = sql.replace(/\?/g, () => `$${++n}`);
  return n === params ? numbered : null;
}

/** The name a statement text is prepared under (the same text, the same name, on every connection). */
function preparedName(sql: string): string {
  return `tenantry_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
}

/**
 * Runs `fn` on one pooled connection of the app ORM, outside the ORM. If `fn` fails, a failed
 * statement may have left the transaction aborted: it is rolled back before the pool reuses
 * the connection.
 */
async function onPooledConnection<T>(orm: AppOrm, fn: (conn: RawPgConnection) => Promise<T>): Promise<T> {
  const client = (orm.em.getConnection().getKnex() as unknown as { client: KnexClientLike }).client;
  const conn = await client.acquireConnection();
  try {
    return await fn(conn);
  } catch (error) {
    await conn.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    await client.releaseConnection(conn);
  }
}

/**
 * `readInOrg` over one pooled connection: one multi-statement exchange. Each statement (the
 * scope too) is prepared on the connection the first time it comes there (one PREPARE each,
 * outside any transaction, before the exchange) and executed by name from then on, so the
 * database plans it once per connection instead of on every request: planning costs several
 * times what these short reads cost to execute.
 */
function pgReadInOrg(orm: AppOrm): Db['readInOrg'] {
  const preparedOn = new WeakMap<RawPgConnection, Set<string>>();
  // Connections that lost their prepared statements once, and those that did twice (plain text).
  const lostPrepared = new WeakSet<RawPgConnection>();
  const unprepared = new WeakSet<RawPgConnection>();
  return async (scope, statements) => {
    assertUuid(scope.orgId, 'orgId');
    if (scope.userId) assertUuid(scope.userId, 'userId');
    const platform = orm.em.getPlatform();
    const all: SqlStatement[] = [{ sql: SCOPE_SQL, params: [scope.orgId, scope.userId ?? ''] }, ...statements];
    return onPooledConnection(orm, async (conn) => {
      const known = preparedOn.get(conn) ?? new Set<string>();
      preparedOn.set(conn, known);
      if (!unprepared.has(conn)) {
        for (const s of all) {
          const name = preparedName(s.sql);
          if (known.has(name) || unpreparable.has(s.sql) || known.size >= MAX_PREPARED_PER_CONNECTION) continue;
          const numbered = numberedPlaceholders(s.sql, s.params.length);
          if (!numbered) continue;
          try {
            await conn.query(`prepare ${name} as ${numbered}`);
            known.add(name);
          } catch (error) {
            // 42P05: prepared already (under this name, so this text) without our knowing.
            if ((error as { code?: unknown } | null)?.code === '42P05') {
              known.add(name);
              continue;
            }
            if (!isPrepareError(error)) throw error;
            // A text PostgreSQL will not prepare runs as plain text from now on.
            unpreparable.add(s.sql);
          }
        }
      }
      // Parameters are rendered by the ORM's own escaping, as for every other query of the app.
      const exchange = (byName: boolean) =>
        [
          'begin read only',
          ...all.map((s) => {
            const name = preparedName(s.sql);
            if (!byName || !known.has(name)) return platform.formatQuery(s.sql, [...s.params]);
            const args = s.params.map(() => '?').join(', ');
            return platform.formatQuery(args ? `execute ${name}(${args})` : `execute ${name}`, [...s.params]);
          }),
          'commit',
        ].join(';\n');
      let results: Awaited<ReturnType<RawPgConnection['query']>>;
      try {
        results = await conn.query(exchange(true));
      } catch (error) {
        if ((error as { code?: unknown } | null)?.code !== '26000') throw error;
        // The connection lost prepared statements (DEALLOCATE, or a pooler in front of
        // PostgreSQL handing out another server connection): it drops the rest too and this
        // read runs as plain text; the next one prepares again, and a connection that loses
        // them twice stays plain.
        await conn.query('rollback; deallocate all');
        known.clear();
        if (lostPrepared.has(conn)) unprepared.add(conn);
        lostPrepared.add(conn);
        results = await conn.query(exchange(false));
      }
      const list = Array.isArray(results) ? results : [results];
      return list.slice(2, 2 + statements.length).map((r) => r.rows);
    });
  };
}

/** Commits the current transaction without waiting for its WAL to reach the disk. */
export const ASYNC_COMMIT_SQL = `select set_config('synchronous_commit', 'off', true)`;

/**
 * `writeInOrg` over one pooled connection: BEGIN, the scope, the statements and COMMIT in one
 * multi-statement exchange (PostgreSQL stops at a failing statement).
 */
function pgWriteInOrg(orm: AppOrm): Db['writeInOrg'] {
  return async (scope, statements, opts = {}) => {
    assertUuid(scope.orgId, 'orgId');
    if (scope.userId) assertUuid(scope.userId, 'userId');
    const platform = orm.em.getPlatform();
    const head: SqlStatement[] = [{ sql: SCOPE_SQL, params: [scope.orgId, scope.userId ?? ''] }];
    if (opts.asyncCommit) head.push({ sql: ASYNC_COMMIT_SQL, params: [] });
    const text = [
      'begin',
      ...[...head, ...statements].map((s) => platform.formatQuery(s.sql, [...s.params])),
      'commit',
    ].join(';\n');
    return onPooledConnection(orm, async (conn) => {
      const results = await conn.query(text);
      const list = Array.isArray(results) ? results : [results];
      return list.slice(1 + head.length, 1 + head.length + statements.length).map((r) => r.rows);
    });
  };
}

/** Whether PREPARE refused a text (it could not infer a parameter's type, and the like). */
function isPrepareError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  // 42P18 indeterminate_datatype, 42P08 ambiguous_parameter, 42804 datatype_mismatch, 42601
  // syntax_error (PREPARE takes SELECT, INSERT, UPDATE, DELETE, MERGE and VALUES only; a
  // statement wrong in itself fails again, plain, with its own error).
  return code === '42P18' || code === '42P08' || code === '42804' || code === '42601';
}

/** Runs the statements one after another in the unit of work; answers each one's rows. */
async function executeEach(
  em: EntityManager,
  statements: readonly SqlStatement[],
): Promise<Record<string, unknown>[][]> {
  const out: Record<string, unknown>[][] = [];
  for (const s of statements) out.push(await em.execute(s.sql, [...s.params]));
  return out;
}

function unitsOfWork(orm: AppOrm): Pick<Db, 'tenant' | 'platform' | 'readInOrg' | 'writeInOrg'> {
  const tenant: Db['tenant'] = (scope, fn) => {
    assertUuid(scope.orgId, 'orgId');
    if (scope.userId) assertUuid(scope.userId, 'userId');
    return orm.em.fork().transactional(async (em) => {
      await em.execute(SCOPE_SQL, [scope.orgId, scope.userId ?? '']);
      return fn(em);
    });
  };
  return {
    tenant,
    // The portable form: one statement after another in a unit of work (PostgreSQL replaces it).
    readInOrg: (scope, statements) => tenant(scope, (em) => executeEach(em, statements)),
    writeInOrg: async (scope, statements, opts = {}) =>
      tenant(scope, async (em) => {
        if (opts.asyncCommit) await em.execute(ASYNC_COMMIT_SQL);
        return executeEach(em, statements);
      }),
    platform(scope, fn) {
      if (scope.userId) assertUuid(scope.userId, 'userId');
      return orm.em.fork().transactional(async (em) => {
        // The org is cleared explicitly: the wall must not depend on the pool's history.
        await em.execute(SCOPE_SQL, ['', scope.userId ?? '']);
        return fn(em);
      });
    },
  };
}

async function createPostgresDb(opts: DbOptions & { databaseUrl: string }): Promise<Db> {
  const debug = opts.debug ?? false;
  const ownerUrl = opts.migrationUrl ?? opts.databaseUrl;
  const migrate = async () => {
    const owner = (await MikroORM.init({
      ...baseOptions(debug),
      driver: PostgreSqlDriver,
      clientUrl: ownerUrl,
      pool: { min: 0, max: 1 },
    })) as unknown as AppOrm;
    try {
      await runMigrations(owner, true);
    } finally {
      await owner.close(true);
    }
  };
  await migrate();

  const orm = (await MikroORM.init({
    ...baseOptions(debug),
    driver: PostgreSqlDriver,
    clientUrl: opts.databaseUrl,
    pool: {
      min: 0,
      max: opts.poolMax ?? 10,
      // Every pooled connection becomes the app role before its first use, so even a query
      // outside tenant()/platform() is subject to RLS.
      afterCreate: (conn: PgClientLike, done: (err: Error | null, conn: PgClientLike) => void) => {
        conn.query(`SET ROLE ${APP_ROLE}`, (err) => done(err ?? null, conn));
      },
    },
  })) as unknown as AppOrm;
  try {
    await assertAppRole(orm, redact(opts.databaseUrl));
    const units = unitsOfWork(orm);
    const defaultOrgId = await resolveDefaultOrgId(units);
    return {
      orm,
      kind: 'postgresql',
      defaultOrgId,
      ...units,
      readInOrg: pgReadInOrg(orm),
      writeInOrg: pgWriteInOrg(orm),
      migrate,
      close: () => orm.close(true),
    };
  } catch (err) {
    await orm.close(true);
    throw err;
  }
}

interface PgClientLike {
  query(sql: string, cb: (err: Error | undefined) => void): void;
}

async function createPgliteDb(opts: DbOptions): Promise<Db> {
  // Loaded lazily: the WASM build is large and unused with PostgreSQL.
  const [{ PGlite }, { PGliteDriver }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('mikro-orm-pglite'),
  ]);
  let dataDir: string | undefined;
  if (!opts.memory) {
    dataDir = join(opts.dataDir, 'pglite');
    mkdirSync(dataDir, { recursive: true });
  }
  const pglite = await PGlite.create(dataDir);
  // PGlite has one session, shared by migrations (superuser) and the app. The session runs as
  // the app role except while migrating; `roleReady` keeps a re-created knex connection (same
  // session underneath) in the right role.
  let roleReady = false;
  let orm: AppOrm;
  try {
    orm = (await MikroORM.init({
      ...baseOptions(opts.debug ?? false),
      driver: PGliteDriver,
      dbName: 'postgres',
      // Borrowed instance: MikroORM does not close it; close() below does.
      driverOptions: { connection: { pglite: () => pglite } },
      pool: {
        afterCreate: (conn: typeof pglite, done: (err: Error | null, conn: unknown) => void) => {
          if (!roleReady) return done(null, conn);
          conn.query(`SET ROLE ${APP_ROLE}`).then(
            () => done(null, conn),
            (err: Error) => done(err, conn),
          );
        },
      },
    } as Options)) as unknown as AppOrm;
  } catch (err) {
    await pglite.close();
    throw err;
  }

  const migrate = async () => {
    const em = orm.em.fork();
    roleReady = false;
    await em.execute('RESET ROLE');
    try {
      await runMigrations(orm, false);
    } finally {
      await em.execute(`SET ROLE ${APP_ROLE}`);
      roleReady = true;
    }
  };
  const close = async () => {
    await orm.close(true);
    await pglite.close();
  };

  try {
    await migrate();
    await assertAppRole(orm, 'embedded PGlite');
    const units = unitsOfWork(orm);
    const defaultOrgId = await resolveDefaultOrgId(units);
    return { orm, kind: 'pglite', defaultOrgId, ...units, migrate, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Opens the database, runs pending migrations (always; idempotent) and resolves the default
 * org. With `databaseUrl` unset, opens embedded PGlite.
 */
export async function createDb(opts: DbOptions): Promise<Db> {
  if (opts.databaseUrl) return createPostgresDb({ ...opts, databaseUrl: opts.databaseUrl });
  return createPgliteDb(opts);
}
