import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { orgFilesPath } from '@tenantry/core';
import {
  addMembership,
  createApiToken,
  type Db,
  findOrgById,
  findOrgDeletion,
  findUserById,
  listOrgDeletionTables,
  type OrgDeletionRow,
  type OrgRow,
  setUserDefaultOrg,
} from '@tenantry/db';
import { createTestDatabase, requestDueDeletion, type TestDatabase } from '@tenantry/db/testing';
import {
  createLogger,
  enqueueOrgDeletion,
  INVITATION_EMAIL_QUEUE,
  loadWorkerEnv,
  ORG_DELETION_QUEUE,
  type OrgDeletionJob,
  REGISTRY,
  type RunningWorker,
  startWorker,
} from '@tenantry/worker';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, run, type Spawned } from '../ops/helpers.js';
import {
  addLaterTenantTables,
  addOrphanTenantTable,
  catalogTenantTables,
  clearSeededOrgKeys,
  newUser,
  orgJobsLeft,
  orgKeysLeft,
  ownerClient,
  rowCounts,
  type SeededTenant,
  seedOrgFiles,
  seedOrgJobs,
  seedOrgKeys,
  seedTenant,
} from './deletion-fixtures.js';

/**
 * Cascade deletion end to end: a real worker (in this process, then as a child process that
 * is killed with SIGKILL mid-batch and restarted) deletes a tenant from PostgreSQL, Redis,
 * the queues and the disk, and leaves every other tenant exactly as it was.
 */

const REDIS_URL = 'redis://127.0.0.1:6379';
const silent = createLogger('silent');
const prefix = `tt-del-${randomUUID().slice(0, 8)}`;

let tdb: TestDatabase;
let db: Db;
let owner: pg.Client;
let redis: Redis;
let dataDir: string;
let deletions: Queue<OrgDeletionJob>;
let work: Queue;
let mails: Queue;

beforeAll(async () => {
  tdb = await createTestDatabase({ kind: 'postgresql', poolMax: 6 });
  db = tdb.db;
  owner = await ownerClient(tdb.ownerUrl!);
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-deletion-'));
  deletions = new Queue(ORG_DELETION_QUEUE, { connection: redis, prefix });
  work = new Queue(`fixture-work`, { connection: redis, prefix });
  mails = new Queue(INVITATION_EMAIL_QUEUE, { connection: redis, prefix });
  // Tables a later migration adds: the deletion must cover them without being told.
  await addLaterTenantTables(owner);
  // The first account of an install is the platform superadmin, whom no deletion removes.
  await newUser(db, 'platform-admin');
});

afterAll(async () => {
  for (const q of [deletions, work, mails]) {
    await q?.obliterate({ force: true }).catch(() => undefined);
    await q?.close();
  }
  if (redis) await clearSeededOrgKeys(redis).catch(() => undefined);
  redis?.disconnect();
  await owner?.end();
  await tdb?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function requestDeletion(org: OrgRow): Promise<OrgDeletionRow> {
  const deletion = await requestDueDeletion(db, org);
  await enqueueOrgDeletion(deletions, deletion);
  return deletion;
}

async function waitForDeletion(id: string, timeoutMs: number): Promise<OrgDeletionRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await db.platform({}, (em) => findOrgDeletion(em, id));
    if (row?.status === 'completed' || row?.status === 'failed') return row;
    if (Date.now() > deadline) throw new Error(`deletion ${id} still ${row?.status} at step ${row?.step}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function rowsDeletedSoFar(id: string): Promise<number> {
  const tables = await db.platform({}, (em) => listOrgDeletionTables(em, id));
  return tables.reduce((n, t) => n + t.deleted, 0);
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

describe('deleting a tenant', () => {
  let doomed: SeededTenant;
  let kept: SeededTenant;
  let sharedUserId: string;
  let keptBefore: Record<string, number>;
  let deletion: OrgDeletionRow;
  let worker: RunningWorker;

  beforeAll(async () => {
    doomed = await seedTenant(db, owner, 'doomed', {
      agents: 12,
      resourcesPerAgent: 40,
      audit: 30,
      invitations: 4,
      widgets: 900,
    });
    kept = await seedTenant(db, owner, 'kept', {
      agents: 3,
      resourcesPerAgent: 10,
      audit: 8,
      invitations: 2,
      widgets: 50,
    });
    // Someone in both orgs, landing in the doomed one, with a token that reaches both.
    const shared = await newUser(db, 'shared');
    sharedUserId = shared.id;
    for (const org of [doomed.org, kept.org]) {
      await db.tenant({ orgId: org.id }, (em) =>
        addMembership(em, { orgId: org.id, userId: shared.id, role: 'editor' }),
      );
    }
    await db.platform({ userId: shared.id }, async (em) => {
      await setUserDefaultOrg(em, shared.id, doomed.org.id);
      await createApiToken(em, {
        id: randomUUID(),
        userId: shared.id,
        name: 'msp',
        tokenHash: `hash-${randomUUID()}`,
        bindings: [
          { orgId: doomed.org.id, role: 'viewer' },
          { orgId: kept.org.id, role: 'viewer' },
        ],
      });
    });
    for (const t of [doomed, kept]) {
      await seedOrgKeys(redis, t.org.id, 1200);
      await seedOrgJobs(work, t.org.id);
      await seedOrgJobs(mails, t.org.id);
      seedOrgFiles(dataDir, t.org.id);
    }
    keptBefore = await rowCounts(owner, kept.org.id);
    expect(sum(await rowCounts(owner, doomed.org.id))).toBeGreaterThan(1400);

    const deletionRegistration = REGISTRY.filter((q) => q.name === ORG_DELETION_QUEUE);
    worker = await startWorker({
      env: loadWorkerEnv({ REDIS_URL, DATA_DIR: dataDir, DELETION_BATCH_ROWS: '200' }),
      db,
      prefix,
      logger: silent,
      queues: deletionRegistration,
    });
    deletion = await requestDeletion(doomed.org);
    deletion = await waitForDeletion(deletion.id, 60_000);
  }, 120_000);

  afterAll(async () => {
    await worker?.close();
    // The mail queue holds fixture jobs no mail worker should ever pick up.
    await mails.obliterate({ force: true });
  });

  it('completes and leaves zero rows of the org in every tenant table of the catalog', async () => {
    expect(deletion.status).toBe('completed');
    const tables = await catalogTenantTables(owner);
    expect(tables).toEqual(expect.arrayContaining(['later_widgets', 'later_ledger', 'resources', 'audit_events']));
    const left = await rowCounts(owner, doomed.org.id);
    expect(Object.entries(left).filter(([, n]) => n > 0)).toEqual([]);
    expect(await db.platform({}, (em) => findOrgById(em, doomed.org.id))).toBeNull();
  });

  it("leaves every other org's row counts unchanged", async () => {
    expect(await rowCounts(owner, kept.org.id)).toEqual(keptBefore);
  });

  it('emptied the tables in batches, the append-only one through the organization cascade', async () => {
    const tables = await db.platform({}, (em) => listOrgDeletionTables(em, deletion.id));
    const byName = Object.fromEntries(tables.map((t) => [t.table, t]));
    expect(byName.later_widgets).toMatchObject({ total: 900, deleted: 900, done: true, byCascade: false });
    expect(byName.later_ledger).toMatchObject({ total: 90, byCascade: true, done: true });
    expect(byName.resources).toMatchObject({ total: 480, deleted: 480 });
    // Children before the tables they reference.
    expect(byName.resources!.position).toBeLessThan(byName.agents!.position);
    expect(deletion.batches).toBeGreaterThanOrEqual(5);
  });

  it('leaves no Redis key under its namespace, no queued job and no stored file, and keeps the others', async () => {
    expect(await orgKeysLeft(redis, doomed.org.id)).toBe(0);
    expect(await orgKeysLeft(redis, kept.org.id)).toBe(1202);
    expect(await orgJobsLeft(work, doomed.org.id)).toBe(0);
    expect(await orgJobsLeft(mails, doomed.org.id)).toBe(0);
    expect(await orgJobsLeft(work, kept.org.id)).toBe(2);
    expect(await orgJobsLeft(mails, kept.org.id)).toBe(2);
    expect(existsSync(orgFilesPath(dataDir, doomed.org.id))).toBe(false);
    expect(existsSync(orgFilesPath(dataDir, kept.org.id, 'logo'))).toBe(true);
  });

  it('deletes users whose only membership it was, repoints the others and drops tokens left without an org', async () => {
    expect(await db.platform({}, (em) => findUserById(em, doomed.owner.id))).toBeNull();
    expect(await db.platform({}, (em) => findUserById(em, doomed.soleMember.id))).toBeNull();
    const shared = await db.platform({}, (em) => findUserById(em, sharedUserId));
    expect(shared?.defaultOrgId).toBe(kept.org.id);
    const { rows } = await owner.query<{ id: string }>('select id from api_tokens where id = $1', [doomed.soleTokenId]);
    expect(rows).toEqual([]);
    const { rows: surviving } = await owner.query<{ n: number }>(
      'select count(*)::int as n from api_tokens where user_id = $1',
      [sharedUserId],
    );
    expect(surviving[0]?.n).toBe(1);
  });

  it('stores a report of rows per kind, users deleted and repointed, and the sweeps', () => {
    const report = deletion.report as Record<string, unknown> & { rowsDeleted: Record<string, number> };
    expect(report.rowsDeleted).toMatchObject({
      resources: 480,
      agents: 12,
      audit_events: 30,
      invitations: 4,
      memberships: 3,
      api_token_orgs: 2,
      later_widgets: 900,
      later_ledger: 90,
    });
    expect(report).toMatchObject({
      usersDeleted: 2,
      usersRepointed: 1,
      tokensDeleted: 1,
      redisKeysDeleted: 1202,
      jobsRemoved: 4,
      filesDeleted: 2,
    });
    expect(report.rowsTotal).toBe(sum(report.rowsDeleted));
  });
});

describe('when the worker is killed with SIGKILL mid-deletion', () => {
  const children: Spawned[] = [];
  let victim: SeededTenant;
  let neighbour: SeededTenant;
  let neighbourBefore: Record<string, number>;

  const workerEnv = () =>
    baseEnv({
      DATABASE_URL: tdb.appUrl!,
      DATABASE_MIGRATION_URL: tdb.ownerUrl!,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      DATA_DIR: dataDir,
      DELETION_BATCH_ROWS: '400',
      LOG_LEVEL: 'info',
    });

  beforeAll(async () => {
    victim = await seedTenant(db, owner, 'victim', {
      agents: 40,
      resourcesPerAgent: 1000,
      audit: 20,
      invitations: 3,
      widgets: 4000,
    });
    neighbour = await seedTenant(db, owner, 'neighbour', {
      agents: 2,
      resourcesPerAgent: 100,
      audit: 5,
      invitations: 1,
      widgets: 100,
    });
    await seedOrgKeys(redis, victim.org.id, 50);
    seedOrgFiles(dataDir, victim.org.id);
    neighbourBefore = await rowCounts(owner, neighbour.org.id);
  }, 120_000);

  afterAll(async () => {
    for (const child of children) await child.terminate(2000);
  });

  it('resumes after a restart and finishes, deleting everything of the org and nothing of the others', async () => {
    const first = run(['apps/worker/src/main.ts'], workerEnv());
    children.push(first);
    await first.waitForOutput(/worker started/, 60_000);
    const deletion = await requestDeletion(victim.org);

    // Kill it while it is deleting: batches follow each other back to back.
    const deadline = Date.now() + 60_000;
    while ((await rowsDeletedSoFar(deletion.id)) === 0) {
      if (Date.now() > deadline) throw new Error(`no batch committed:\n${first.stdout()}\n${first.stderr()}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    process.kill(-first.child.pid!, 'SIGKILL');
    await first.exited;

    const halfway = await db.platform({}, (em) => findOrgDeletion(em, deletion.id));
    expect(halfway?.status).toBe('running');
    const leftAfterKill = sum(await rowCounts(owner, victim.org.id));
    expect(leftAfterKill).toBeGreaterThan(0);
    expect(await rowsDeletedSoFar(deletion.id)).toBeGreaterThan(0);
    // Nothing of the neighbour was touched by the half-done run.
    expect(await rowCounts(owner, neighbour.org.id)).toEqual(neighbourBefore);

    const second = run(['apps/worker/src/main.ts'], workerEnv());
    children.push(second);
    const done = await waitForDeletion(deletion.id, 90_000);
    expect(done.status).toBe('completed');
    expect(done.attempts).toBeGreaterThanOrEqual(2);

    const left = await rowCounts(owner, victim.org.id);
    expect(Object.entries(left).filter(([, n]) => n > 0)).toEqual([]);
    expect(await rowCounts(owner, neighbour.org.id)).toEqual(neighbourBefore);
    expect(await orgKeysLeft(redis, victim.org.id)).toBe(0);
    expect(existsSync(orgFilesPath(dataDir, victim.org.id))).toBe(false);
    // Every row counted at the start is accounted for once, across both runs.
    const report = done.report as { rowsDeleted: Record<string, number> };
    expect(report.rowsDeleted.resources).toBe(40_000);
    expect(report.rowsDeleted.later_widgets).toBe(4000);
  }, 240_000);
});

describe('a tenant table that neither the app may delete from nor the organizations row cascades to', () => {
  let stuck: SeededTenant;
  let worker: RunningWorker;

  beforeAll(async () => {
    await addOrphanTenantTable(owner);
    stuck = await seedTenant(db, owner, 'stuck', {
      agents: 1,
      resourcesPerAgent: 5,
      audit: 3,
      invitations: 1,
      widgets: 10,
    });
    await owner.query('insert into later_orphans (org_id, n) select $1, g from generate_series(1, 3) g', [
      stuck.org.id,
    ]);
    worker = await startWorker({
      env: loadWorkerEnv({ REDIS_URL, DATA_DIR: dataDir, DELETION_BATCH_ROWS: '200' }),
      db,
      prefix,
      logger: silent,
      queues: REGISTRY.filter((q) => q.name === ORG_DELETION_QUEUE),
    });
  }, 120_000);

  afterAll(async () => {
    await worker?.close();
    await owner?.query('drop table if exists later_orphans');
  });

  it('fails naming the table, and keeps the organizations row and those rows', async () => {
    const { id } = await requestDeletion(stuck.org);
    // The attempt fails; the job tries again later (with backoff) until its last attempt.
    let deletion: OrgDeletionRow | null = null;
    const deadline = Date.now() + 60_000;
    while (!deletion?.error) {
      if (Date.now() > deadline)
        throw new Error(`deletion ${id} recorded no error: ${deletion?.status} at ${deletion?.step}`);
      await new Promise((r) => setTimeout(r, 100));
      deletion = await db.platform({}, (em) => findOrgDeletion(em, id));
    }
    expect(deletion.step).toBe('organization');
    expect(deletion.error).toContain('rows of the organization are left in later_orphans (3)');
    const { rows } = await owner.query('select status from organizations where id = $1', [stuck.org.id]);
    expect(rows).toEqual([{ status: 'deleting' }]);
    const orphans = await owner.query('select count(*)::int as n from later_orphans where org_id = $1', [stuck.org.id]);
    expect(orphans.rows).toEqual([{ n: 3 }]);
    // The batches emptied every table the app deletes from; what is left waits for the
    // organizations row: the append-only ledger (its cascade was rolled back) and the orphans.
    const left = await rowCounts(owner, stuck.org.id);
    expect(Object.fromEntries(Object.entries(left).filter(([, n]) => n > 0))).toEqual({
      later_ledger: 1,
      later_orphans: 3,
    });
  });
});
