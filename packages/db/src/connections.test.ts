import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { APP_ROLE } from './app-role.js';
import { createDb } from './db.js';
import { createOrg } from './repositories/orgs.js';
import { createUser } from './repositories/users.js';
import { createTestDatabase, type TestDatabase } from './testing.js';

// Opening PGlite takes seconds; these hold whatever the root config says.
vi.setConfig({ hookTimeout: 60_000, testTimeout: 30_000 });

const ADMIN_URL = process.env.TEST_PG_ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function urlAs(user: string, database: string): string {
  const url = new URL(ADMIN_URL);
  url.username = user;
  url.password = '';
  url.pathname = `/${database}`;
  return url.toString();
}

describe('on postgresql with a non-superuser owner in DATABASE_URL', () => {
  const suffix = randomBytes(5).toString('hex');
  const owner = `tenantry_t_owner_${suffix}`;
  const database = `tenantry_t_owned_${suffix}`;
  let helper: TestDatabase;

  beforeAll(async () => {
    // Makes sure the cluster has the app role (LOGIN), as a DBA would before the first start.
    helper = await createTestDatabase({ kind: 'postgresql' });
    await admin(`CREATE ROLE ${owner} LOGIN CREATEROLE`);
    await admin(`CREATE DATABASE ${database} OWNER ${owner}`);
  });
  afterAll(async () => {
    await helper?.drop();
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin(`DROP ROLE IF EXISTS ${owner}`);
  });

  it('migrates as the owner, then runs the app as the app role with RLS binding', async () => {
    const db = await createDb({ databaseUrl: urlAs(owner, database), dataDir: '' });
    try {
      const [who] = await db.orm.em
        .fork()
        .execute<{ role: string; session: string }[]>('select current_user as role, session_user as session');
      expect(who).toEqual({ role: APP_ROLE, session: owner });
      const org = await db.platform({}, async (em) => {
        const user = await createUser(em, { email: 'o@owner.test', name: 'O', passwordHash: 'x' });
        return createOrg(em, { slug: 'owned', name: 'Owned', ownerId: user.id });
      });
      expect(await db.tenant({ orgId: org.id }, (em) => em.execute('select 1 from memberships'))).toHaveLength(1);
      expect(await db.platform({}, (em) => em.execute('select 1 from memberships'))).toHaveLength(0);
      // Deleting the org cascades to its memberships although FORCE RLS binds the owner.
      await db.platform({}, (em) => em.execute('delete from organizations where id = ?', [org.id]));
      expect(await db.tenant({ orgId: org.id }, (em) => em.execute('select 1 from memberships'))).toHaveLength(0);
    } finally {
      await db.close();
    }
  });

  it('refuses to start when the app user cannot switch to the app role', async () => {
    const stranger = `tenantry_t_stranger_${suffix}`;
    await admin(`CREATE ROLE ${stranger} LOGIN`);
    try {
      await expect(
        createDb({ databaseUrl: urlAs(stranger, database), migrationUrl: urlAs(owner, database), dataDir: '' }),
      ).rejects.toThrow(/cannot switch to role tenantry_app.*GRANT tenantry_app TO/);
    } finally {
      await admin(`DROP ROLE IF EXISTS ${stranger}`);
    }
  });
});

describe('on pglite stored in a data directory', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tenantry-db-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps its data and default org across restarts', async () => {
    const first = await createDb({ dataDir });
    const defaultOrgId = first.defaultOrgId;
    await first.platform({}, (em) => createUser(em, { email: 'keep@pglite.test', name: 'K', passwordHash: 'x' }));
    await first.close();

    const second = await createDb({ dataDir });
    try {
      expect(second.defaultOrgId).toBe(defaultOrgId);
      const rows = await second.platform({}, (em) => em.execute('select email, platform_role from users'));
      expect(rows).toEqual([{ email: 'keep@pglite.test', platform_role: 'superadmin' }]);
    } finally {
      await second.close();
    }
  });
});
