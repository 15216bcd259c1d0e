import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { APP_ROLE } from './app-role.js';
import { createDb, type Db } from './db.js';
import { createOrgDeletion, type OrgDeletionRow } from './repositories/org-deletions.js';
import type { OrgRow } from './types.js';

/** A throwaway database for one test file. */
export interface TestDatabase {
  db: Db;
  kind: 'postgresql' | 'pglite';
  /** PostgreSQL only: the owner (migrations) URL of the database. */
  ownerUrl: string | null;
  /** PostgreSQL only: the URL the app connects with, as the LOGIN role `tenantry_app`. */
  appUrl: string | null;
  /** Closes the Db and drops the database. */
  drop(): Promise<void>;
}

/** Options of `createTestDatabase`. */
export interface TestDatabaseOptions {
  kind: 'postgresql' | 'pglite';
  /** App pool size (PostgreSQL). */
  poolMax?: number;
  debug?: boolean;
}

const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
// Serialises role set-up across test files running in parallel processes.
const ROLE_LOCK_KEY = 7_261_003;

function adminUrl(): string {
  return process.env.TEST_PG_ADMIN_URL || DEFAULT_ADMIN_URL;
}

function urlFor(base: string, database: string, user?: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  if (user !== undefined) {
    url.username = user;
    url.password = '';
  }
  return url.toString();
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Makes sure the cluster-global LOGIN role the app connects as exists (idempotent). */
async function ensureAppLoginRole(client: pg.Client): Promise<void> {
  await client.query('select pg_advisory_lock($1)', [ROLE_LOCK_KEY]);
  try {
    try {
      await client.query(`CREATE ROLE ${APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS`);
    } catch (err) {
      // Another process won the race (the advisory lock only covers this helper; a migration
      // elsewhere may create the role too).
      const code = (err as { code?: string }).code;
      if (code !== '42710' && code !== '23505') throw err;
    }
    const { rows } = await client.query<{ rolcanlogin: boolean }>(
      'select rolcanlogin from pg_roles where rolname = $1',
      [APP_ROLE],
    );
    // A migration run against this cluster creates the role NOLOGIN; tests log in with it.
    if (!rows[0]?.rolcanlogin) await client.query(`ALTER ROLE ${APP_ROLE} LOGIN`);
  } finally {
    await client.query('select pg_advisory_unlock($1)', [ROLE_LOCK_KEY]);
  }
}

/**
 * Creates a fresh, migrated database: on PostgreSQL a new `tenantry_t_<random>` database
 * (app connects as `tenantry_app`, migrations as the admin user, `TEST_PG_ADMIN_URL`,
 * default `postgres://postgres@127.0.0.1:5432/postgres`); on PGlite an in-memory instance.
 */
export async function createTestDatabase(opts: TestDatabaseOptions): Promise<TestDatabase> {
  if (opts.kind === 'pglite') {
    const db = await createDb({ dataDir: '', memory: true, debug: opts.debug });
    return { db, kind: 'pglite', ownerUrl: null, appUrl: null, drop: () => db.close() };
  }

  const name = `tenantry_t_${randomBytes(6).toString('hex')}`;
  await withAdmin(async (client) => {
    await ensureAppLoginRole(client);
    await client.query(`CREATE DATABASE ${name}`);
  });
  const dropDatabase = () =>
    withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined);

  const ownerUrl = urlFor(adminUrl(), name);
  const appUrl = urlFor(adminUrl(), name, APP_ROLE);
  let db: Db;
  try {
    db = await createDb({
      databaseUrl: appUrl,
      migrationUrl: ownerUrl,
      dataDir: '',
      poolMax: opts.poolMax,
      debug: opts.debug,
    });
  } catch (err) {
    await dropDatabase();
    throw err;
  }
  return {
    db,
    kind: 'postgresql',
    ownerUrl,
    appUrl,
    async drop() {
      try {
        await db.close();
      } finally {
        await dropDatabase();
      }
    },
  };
}

/** Records a deletion of `org` as a platform admin asks for it: due now, no grace period. */
export function requestDueDeletion(db: Db, org: OrgRow): Promise<OrgDeletionRow> {
  return db.platform({}, (em) =>
    createOrgDeletion(em, {
      id: randomUUID(),
      org,
      requestedById: null,
      requestedAs: 'platform_admin',
      runAfter: new Date(),
      graceful: false,
    }),
  );
}
