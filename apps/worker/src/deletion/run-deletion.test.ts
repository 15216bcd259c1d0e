import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { orgFilesPath } from '@tenantry/core';
import {
  addMembership,
  appendAuditEvent,
  countOrgRows,
  createOrg,
  createUser,
  type Db,
  findOrgById,
  findOrgDeletion,
  findUserById,
  listTenantTables,
  type OrgRow,
  startOrgDeletion,
} from '@tenantry/db';
import { createTestDatabase, requestDueDeletion, type TestDatabase } from '@tenantry/db/testing';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../logger.js';
import { DeletionInterrupted, runOrgDeletion } from './run-deletion.js';

// The deletion on the embedded database that `pnpm start` runs on: PGlite has one
// connection, so every unit of work of the run goes through it one after the other.

vi.setConfig({ hookTimeout: 180_000, testTimeout: 120_000 });

let tdb: TestDatabase;
let redis: Redis;
let dataDir: string;

beforeAll(async () => {
  tdb = await createTestDatabase({ kind: 'pglite' });
  redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-run-deletion-'));
});

afterAll(async () => {
  redis?.disconnect();
  await tdb?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** A deletion of `org` as a platform admin asks for it, due now, and started (status running). */
async function startedDeletion(db: Db, org: OrgRow) {
  const created = await requestDueDeletion(db, org);
  return db.platform({}, (em) => startOrgDeletion(em, created.id));
}

describe('a deletion on embedded PGlite', () => {
  it('runs every step to the report, in batches, and leaves the other org alone', async () => {
    const db = tdb.db;
    const user = (email: string) => db.platform({}, (em) => createUser(em, { email, name: email, passwordHash: 'x' }));
    await user(`first-${randomUUID()}@example.com`); // the superadmin of the install
    const owner = await user(`owner-${randomUUID()}@example.com`);
    const stays = await user(`stays-${randomUUID()}@example.com`);
    const doomed = await db.platform({}, (em) => createOrg(em, { slug: 'doomed', name: 'Doomed', ownerId: owner.id }));
    const kept = await db.platform({}, (em) => createOrg(em, { slug: 'kept', name: 'Kept', ownerId: stays.id }));
    await db.tenant({ orgId: doomed.id }, async (em) => {
      await addMembership(em, { orgId: doomed.id, userId: stays.id, role: 'viewer' });
      for (let i = 0; i < 300; i++) await appendAuditEvent(em, doomed.id, { actorType: 'system', action: 'seed.made' });
    });
    await db.tenant({ orgId: kept.id }, (em) =>
      appendAuditEvent(em, kept.id, { actorType: 'system', action: 'seed.made' }),
    );
    await redis.set(`org:${doomed.id}:cache:x`, '1');
    mkdirSync(orgFilesPath(dataDir, doomed.id), { recursive: true });
    writeFileSync(orgFilesPath(dataDir, doomed.id, 'logo'), 'x');

    const started = await startedDeletion(db, doomed);
    await runOrgDeletion(started!, {
      db,
      redis,
      prefix: `tt-pglite-${randomUUID().slice(0, 8)}`,
      dataDir,
      logger: createLogger('silent'),
      maxBatchRows: 100,
      batchShare: 1,
    });

    const done = await db.platform({}, (em) => findOrgDeletion(em, started!.id));
    expect(done?.status).toBe('completed');
    expect(done?.batches).toBeGreaterThanOrEqual(3);
    expect(done?.report).toMatchObject({ usersDeleted: 1, redisKeysDeleted: 1, filesDeleted: 1 });
    const report = done?.report as { rowsDeleted: Record<string, number> } | undefined;
    expect(report?.rowsDeleted.audit_events).toBe(300);
    expect(await db.platform({}, (em) => findOrgById(em, doomed.id))).toBeNull();
    expect(await db.platform({}, (em) => findUserById(em, owner.id))).toBeNull();
    expect(await db.platform({}, (em) => findUserById(em, stays.id))).not.toBeNull();
    expect(existsSync(orgFilesPath(dataDir, doomed.id))).toBe(false);
    const left = await db.tenant({ orgId: doomed.id }, async (em) => {
      let n = 0;
      for (const t of (await listTenantTables(em)).tables) n += await countOrgRows(em, t.table, doomed.id);
      return n;
    });
    expect(left).toBe(0);
    expect(await db.tenant({ orgId: kept.id }, (em) => countOrgRows(em, 'audit_events', kept.id))).toBe(1);
  });

  it('deletes the rows it counted in batches that stop at the count, and rows written after the count too', async () => {
    const db = tdb.db;
    const owner = await db.platform({}, (em) =>
      createUser(em, { email: `late-${randomUUID()}@example.com`, name: 'Late', passwordHash: 'x' }),
    );
    const doomed = await db.platform({}, (em) => createOrg(em, { slug: 'late', name: 'Late', ownerId: owner.id }));
    const seeded = async (n: number) =>
      db.tenant({ orgId: doomed.id }, async (em) => {
        for (let i = 0; i < n; i++) await appendAuditEvent(em, doomed.id, { actorType: 'system', action: 'seed.made' });
      });
    await seeded(250);
    const started = await startedDeletion(db, doomed);
    // The first run stops right after the plan is made (its counts recorded).
    const abort = new AbortController();
    const batches: { table: string; rows: number; limit: number; heldMs: number; restMs: number; time: number }[] = [];
    const logger = pino(
      { level: 'debug' },
      {
        write(line: string) {
          const entry = JSON.parse(line) as {
            msg: string;
            step?: string;
            table?: string;
            rows?: number;
            limit?: number;
            heldMs?: number;
            restMs?: number;
            time: number;
          };
          if (entry.msg === 'deletion step' && entry.step === 'prepare') abort.abort();
          if (entry.msg === 'deletion batch')
            batches.push({
              table: entry.table!,
              rows: entry.rows!,
              limit: entry.limit!,
              heldMs: entry.heldMs!,
              restMs: entry.restMs!,
              time: entry.time,
            });
        },
      },
    );
    // Batches take at most a twentieth of the time: each rests 19 times as long as it took.
    const deps = {
      db,
      redis,
      prefix: `tt-late-${randomUUID().slice(0, 8)}`,
      dataDir,
      logger,
      maxBatchRows: 100,
      batchShare: 0.05,
    };
    await expect(runOrgDeletion(started!, { ...deps, signal: abort.signal })).rejects.toBeInstanceOf(
      DeletionInterrupted,
    );
    // Written after the count (the org was being deleted already).
    await seeded(7);
    const resumed = await db.platform({}, (em) => findOrgDeletion(em, started!.id));
    await runOrgDeletion(resumed!, deps);

    const done = await db.platform({}, (em) => findOrgDeletion(em, started!.id));
    expect(done?.status).toBe('completed');
    // The 250 counted entries, in batches of at most the rows left, none of them empty.
    const audit = batches.filter((b) => b.table === 'audit_events');
    expect(audit.reduce((n, b) => n + b.rows, 0)).toBe(250);
    expect(audit.every((b) => b.rows > 0 && b.rows === b.limit)).toBe(true);
    expect(batches.some((b) => b.rows === 0)).toBe(false);
    // After each batch but the last it rested 19 times as long as the batch took (the log
    // rounds both to the ms), and the next batch came no sooner.
    expect(audit.at(-1)?.restMs).toBe(0);
    for (let i = 1; i < audit.length; i++) {
      const before = audit[i - 1]!;
      expect(Math.abs(before.restMs - 19 * before.heldMs)).toBeLessThanOrEqual(10);
      expect(before.restMs).toBeGreaterThan(0);
      expect(audit[i]!.time - before.time).toBeGreaterThanOrEqual(before.restMs - 1);
    }
    const report = done?.report as { rowsDeleted: Record<string, number> } | undefined;
    expect(report?.rowsDeleted.audit_events).toBe(250);
    // The 7 late ones went with the organizations row, and the catalog check found nothing left.
    const left = await db.tenant({ orgId: doomed.id }, async (em) => {
      let n = 0;
      for (const t of (await listTenantTables(em)).tables) n += await countOrgRows(em, t.table, doomed.id);
      return n;
    });
    expect(left).toBe(0);
  });
});

describe('a deletion on PostgreSQL', () => {
  let pg: TestDatabase;
  beforeAll(async () => {
    pg = await createTestDatabase({ kind: 'postgresql' });
  });
  afterAll(async () => {
    await pg?.drop();
  });

  it('counts its plan in steps through a cursor, resting after each like a batch', async () => {
    const db = pg.db;
    const owner = await db.platform({}, (em) =>
      createUser(em, { email: `steps-${randomUUID()}@example.com`, name: 'Steps', passwordHash: 'x' }),
    );
    const doomed = await db.platform({}, (em) => createOrg(em, { slug: 'steps', name: 'Steps', ownerId: owner.id }));
    await db.tenant({ orgId: doomed.id }, async (em) => {
      for (let i = 0; i < 250; i++) await appendAuditEvent(em, doomed.id, { actorType: 'system', action: 'seed.made' });
    });
    const counts: { table: string; rows: number; steps: number; ms: number; restMs: number }[] = [];
    const logger = pino(
      { level: 'debug' },
      {
        write(line: string) {
          const entry = JSON.parse(line) as {
            msg: string;
            table: string;
            rows: number;
            steps: number;
            ms: number;
            restMs: number;
          };
          if (entry.msg === 'deletion plan count') counts.push(entry);
        },
      },
    );
    const started = await startedDeletion(db, doomed);
    await runOrgDeletion(started!, {
      db,
      redis,
      prefix: `tt-steps-${randomUUID().slice(0, 8)}`,
      dataDir,
      logger,
      maxBatchRows: 1000,
      batchShare: 0.05,
      countStepRows: 100,
    });

    const done = await db.platform({}, (em) => findOrgDeletion(em, started!.id));
    expect(done?.status).toBe('completed');
    // 100, 100 and the last 50, with a rest after each full step (19 times as long as it took).
    const audit = counts.find((c) => c.table === 'audit_events');
    expect(audit).toMatchObject({ rows: 250, steps: 3 });
    expect(audit!.restMs).toBeGreaterThan(0);
    expect(audit!.ms).toBeGreaterThanOrEqual(audit!.restMs);
    // A table of one row takes one step, and the report has every row the plan counted.
    expect(counts.find((c) => c.table === 'memberships')).toMatchObject({ rows: 1, steps: 1, restMs: 0 });
    const report = done?.report as { rowsDeleted: Record<string, number> } | undefined;
    expect(report?.rowsDeleted.audit_events).toBe(250);
    expect(await db.platform({}, (em) => findOrgById(em, doomed.id))).toBeNull();
  });
});
