import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { orgFilesPath } from '@tenantry/core';
import {
  addMembership,
  appendAuditEvent,
  createApiToken,
  createInvitation,
  createOrg,
  createUser,
  type Db,
  type OrgRow,
  setUserDefaultOrg,
  type UserRow,
} from '@tenantry/db';
import { sweepOrgRedisKeys } from '@tenantry/worker';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import pg from 'pg';

/**
 * Tenants full of data for the deletion tests: rows in every tenant table (through the
 * repositories where they exist, as the owner where the API of a table is not built yet),
 * Redis keys, queued jobs and stored files, and an owner's view to check what is left.
 */

/** A superuser connection to the test database: sees every row, RLS or not. */
export async function ownerClient(ownerUrl: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  return client;
}

/** Every table with an `org_id` column, as the catalog lists it now. */
export async function catalogTenantTables(owner: pg.Client): Promise<string[]> {
  const { rows } = await owner.query<{ table: string }>(
    `select c.relname as "table" from pg_class c
     join pg_namespace n on n.oid = c.relnamespace
     join pg_attribute a on a.attrelid = c.oid and a.attname = 'org_id' and not a.attisdropped
     where c.relkind = 'r' and n.nspname = current_schema() order by 1`,
  );
  return rows.map((r) => r.table);
}

/** Rows per tenant table of one org, through the catalog (so a table added later counts too). */
export async function rowCounts(owner: pg.Client, orgId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of await catalogTenantTables(owner)) {
    const { rows } = await owner.query<{ n: number }>(`select count(*)::int as n from "${table}" where org_id = $1`, [
      orgId,
    ]);
    counts[table] = rows[0]?.n ?? 0;
  }
  return counts;
}

/** A row-level security condition: the row belongs to the org in scope. */
const match = `org_id = nullif(current_setting('app.org_id', true), '')::uuid`;

/**
 * Adds two tenant tables the way a later migration would: one the app may delete from (in
 * the org's scope), one append-only whose rows only the organizations cascade removes.
 */
export async function addLaterTenantTables(owner: pg.Client): Promise<void> {
  await owner.query(`
    create table if not exists later_widgets (
      org_id uuid not null references organizations (id) on delete cascade,
      id integer not null,
      label text not null,
      primary key (org_id, id))`);
  await owner.query('alter table later_widgets enable row level security');
  await owner.query('alter table later_widgets force row level security');
  await owner.query(`drop policy if exists later_widgets_all on later_widgets`);
  await owner.query(`create policy later_widgets_all on later_widgets using (${match}) with check (${match})`);
  await owner.query('grant select, insert, update, delete on later_widgets to tenantry_app');
  await owner.query(`
    create table if not exists later_ledger (
      org_id uuid not null references organizations (id) on delete cascade,
      seq integer not null,
      primary key (org_id, seq))`);
  await owner.query('alter table later_ledger enable row level security');
  await owner.query('alter table later_ledger force row level security');
  await owner.query(`drop policy if exists later_ledger_read on later_ledger`);
  await owner.query(`create policy later_ledger_read on later_ledger for select using (${match})`);
  await owner.query('revoke all on later_ledger from tenantry_app');
  await owner.query('grant select, insert on later_ledger to tenantry_app');
}

/**
 * Adds `later_orphans` as a migration that forgot its foreign key would leave it: an `org_id`
 * with no cascade from organizations and no DELETE for the app, whose rows of an org only the
 * deletion's final check through the catalog can find. Drop it with `drop table later_orphans`.
 */
export async function addOrphanTenantTable(owner: pg.Client): Promise<void> {
  await owner.query('create table later_orphans (org_id uuid not null, n integer not null)');
  await owner.query('alter table later_orphans enable row level security');
  await owner.query('alter table later_orphans force row level security');
  await owner.query(`create policy later_orphans_read on later_orphans for select using (${match})`);
  await owner.query('grant select on later_orphans to tenantry_app');
}

/** What `seedTenant` made. */
export interface SeededTenant {
  org: OrgRow;
  owner: UserRow;
  /** A member of this org only (deleted with it). */
  soleMember: UserRow;
  /** A token bound to this org only. */
  soleTokenId: string;
}

let counter = 0;

/** A user with a unique email. */
export async function newUser(db: Db, name: string): Promise<UserRow> {
  counter += 1;
  return db.platform({}, (em) =>
    createUser(em, {
      email: `${name.toLowerCase()}-${counter}-${randomUUID().slice(0, 8)}@example.com`,
      name,
      passwordHash: 'not-a-real-hash',
    }),
  );
}

/**
 * An org with rows in every tenant table: members, invitations, audit entries, token
 * bindings, agents with `resourcesPerAgent` resources each, and the later tables if present.
 */
export async function seedTenant(
  db: Db,
  owner: pg.Client,
  slug: string,
  sizes: { agents: number; resourcesPerAgent: number; audit: number; invitations: number; widgets?: number },
): Promise<SeededTenant> {
  const ownerUser = await newUser(db, `${slug}-owner`);
  const soleMember = await newUser(db, `${slug}-member`);
  const org = await db.platform({ userId: ownerUser.id }, async (em) => {
    const created = await createOrg(em, {
      slug,
      name: slug.toUpperCase(),
      ownerId: ownerUser.id,
      createdById: ownerUser.id,
    });
    await setUserDefaultOrg(em, ownerUser.id, created.id);
    await setUserDefaultOrg(em, soleMember.id, created.id);
    return created;
  });
  const soleTokenId = randomUUID();
  await db.tenant({ orgId: org.id, userId: ownerUser.id }, async (em) => {
    await addMembership(em, { orgId: org.id, userId: soleMember.id, role: 'viewer' });
    for (let i = 0; i < sizes.invitations; i++) {
      await createInvitation(em, {
        orgId: org.id,
        email: `invitee-${i}-${slug}@example.com`,
        role: 'viewer',
        expiresAt: new Date(Date.now() + 86_400_000),
      });
    }
    for (let i = 0; i < sizes.audit; i++) {
      await appendAuditEvent(em, org.id, { actorType: 'system', action: 'fixture.seeded', details: { i } });
    }
    await createApiToken(em, {
      id: soleTokenId,
      userId: ownerUser.id,
      name: 'ci',
      tokenHash: `hash-${soleTokenId}`,
      bindings: [{ orgId: org.id, role: 'viewer' }],
    });
  });
  await owner.query(
    `insert into agents (org_id, id, name, token_hash)
     select $1, gen_random_uuid(), 'agent-' || g, md5(random()::text) from generate_series(1, $2) g`,
    [org.id, sizes.agents],
  );
  await owner.query(
    `insert into resources (org_id, id, agent_id, type, name, status, cpu, memory, disk)
     select a.org_id, gen_random_uuid(), a.id, 'vm', a.name || '-vm-' || g, 'running', 0.5, 0.5, 0.5
     from agents a cross join generate_series(1, $2) g where a.org_id = $1`,
    [org.id, sizes.resourcesPerAgent],
  );
  if (sizes.widgets) {
    await owner.query(
      `insert into later_widgets (org_id, id, label) select $1, g, 'w' || g from generate_series(1, $2) g`,
      [org.id, sizes.widgets],
    );
    await owner.query(`insert into later_ledger (org_id, seq) select $1, g from generate_series(1, $2) g`, [
      org.id,
      Math.ceil(sizes.widgets / 10),
    ]);
  }
  return { org, owner: ownerUser, soleMember, soleTokenId };
}

/** Orgs given keys by seedOrgKeys, for clearSeededOrgKeys. */
const seededKeyOrgs = new Set<string>();

/** Redis keys under the org's namespace, of several types. */
export async function seedOrgKeys(redis: Redis, orgId: string, n: number): Promise<void> {
  seededKeyOrgs.add(orgId);
  const pipeline = redis.pipeline();
  for (let i = 0; i < n; i++) pipeline.set(`org:${orgId}:cache:${i}`, 'x');
  pipeline.hset(`org:${orgId}:rl:summary`, 'hits', '3');
  pipeline.zadd(`org:${orgId}:live:cursor`, 1, 'a');
  await pipeline.exec();
}

/**
 * Removes what seedOrgKeys left under the namespaces of orgs that were not deleted, so test runs
 * leave nothing in the machine's Redis (the keys have no expiry).
 */
export async function clearSeededOrgKeys(redis: Redis): Promise<void> {
  for (const orgId of seededKeyOrgs) await sweepOrgRedisKeys(redis, orgId, async () => {});
  seededKeyOrgs.clear();
}

/** Keys left under the org's namespace (SCAN). */
export async function orgKeysLeft(redis: Redis, orgId: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `org:${orgId}:*`, 'COUNT', 1000);
    cursor = next;
    n += keys.length;
  } while (cursor !== '0');
  return n;
}

/** A waiting and a delayed job of the org in `queue`. */
export async function seedOrgJobs(queue: Queue, orgId: string): Promise<void> {
  await queue.add('work', { orgId, what: 'now' });
  await queue.add('work', { orgId, what: 'later' }, { delay: 3_600_000 });
}

/** Jobs of the org that have not run yet in `queue`. */
export async function orgJobsLeft(queue: Queue, orgId: string): Promise<number> {
  const jobs = await queue.getJobs(['waiting', 'delayed', 'prioritized'], 0, -1);
  return jobs.filter((j) => (j?.data as { orgId?: string } | undefined)?.orgId === orgId).length;
}

/** Two stored files of the org under `dataDir`. */
export function seedOrgFiles(dataDir: string, orgId: string): void {
  mkdirSync(orgFilesPath(dataDir, orgId, 'exports'), { recursive: true });
  writeFileSync(orgFilesPath(dataDir, orgId, 'logo'), 'png');
  writeFileSync(orgFilesPath(dataDir, orgId, 'exports', 'audit.ndjson'), '{}\n');
}
