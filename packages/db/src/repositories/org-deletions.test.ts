import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Db, EntityManager } from '../db.js';
import { createTestDatabase, requestDueDeletion, type TestDatabase } from '../testing.js';
import { appendAuditEvent } from './audit.js';
import {
  cancelScheduledOrgDeletion,
  countOrgRows,
  countOrgRowsInSteps,
  createOrgDeletion,
  deleteOrgRowsBatch,
  findOpenOrgDeletion,
  listTenantTables,
  listUnfinishedOrgDeletions,
  OrgDeletionOpenError,
  orgHasRows,
  recordOrgDeletionError,
  startOrgDeletion,
  withAsyncCommit,
  withoutParallelScans,
} from './org-deletions.js';
import { createOrg, findOrgById, updateOrg } from './orgs.js';
import { countOrgUsage, listTenantSummaries } from './tenants.js';
import { createUser } from './users.js';

vi.setConfig({ hookTimeout: 180_000, testTimeout: 60_000 });

describe.each(['postgresql', 'pglite'] as const)('org deletion records and batches on %s', (kind) => {
  let t: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    t = await createTestDatabase({ kind });
    db = t.db;
  });
  afterAll(async () => {
    await t?.drop();
  });

  async function orgWithAudit(slug: string, entries: number) {
    const owner = await db.platform({}, (em) =>
      createUser(em, { email: `${slug}-${randomUUID()}@example.com`, name: slug, passwordHash: 'x' }),
    );
    const org = await db.platform({}, (em) => createOrg(em, { slug, name: slug, ownerId: owner.id }));
    await db.tenant({ orgId: org.id }, async (em) => {
      for (let i = 0; i < entries; i++) await appendAuditEvent(em, org.id, { actorType: 'system', action: 'x.made' });
    });
    return { org, owner };
  }

  it('finds every table with an org_id column in the catalog, and none of the global ones', async () => {
    const { tables, references } = await db.platform({}, (em) => listTenantTables(em));
    const names = tables.map((x) => x.table);
    expect(names).toEqual(
      expect.arrayContaining([
        'memberships',
        'invitations',
        'audit_events',
        'api_token_orgs',
        'agents',
        'resources',
        'shares',
        'incoming_shares',
      ]),
    );
    for (const global of ['users', 'sessions', 'organizations', 'org_deletions', 'org_deletion_tables']) {
      expect(names).not.toContain(global);
    }
    expect(tables.every((x) => x.deletable)).toBe(true);
    // Every table of the schema takes its org_id from organizations, deleted with it.
    expect(tables.filter((x) => !x.cascades)).toEqual([]);
    expect(references).toEqual(expect.arrayContaining([{ child: 'resources', parent: 'agents' }]));
  });

  it('counts an org’s rows in steps through a cursor, resting between them, in its own scope only', async () => {
    const { org } = await orgWithAudit(`stepped-${kind}`, 25);
    const { org: other } = await orgWithAudit(`unstepped-${kind}`, 3);
    const rests: number[] = [];
    const between = async (ms: number) => {
      rests.push(ms);
    };
    // Steps of 10: 10, 10, then 5 (short, so the last; no rest after it). PGlite counts at once.
    const stepped = kind === 'postgresql';
    expect(
      await db.tenant({ orgId: org.id }, (em) => countOrgRowsInSteps(em, 'audit_events', org.id, 10, between)),
    ).toBe(25);
    expect(rests).toHaveLength(stepped ? 2 : 0);
    expect(rests.every((ms) => ms >= 0)).toBe(true);
    // Steps that divide the count: the last full step is followed by one that finds nothing.
    rests.length = 0;
    expect(
      await db.tenant({ orgId: org.id }, (em) => countOrgRowsInSteps(em, 'audit_events', org.id, 5, between)),
    ).toBe(25);
    expect(rests).toHaveLength(stepped ? 5 : 0);
    // The same as a count, twice in one transaction (the cursor is closed after each).
    expect(
      await db.tenant({ orgId: org.id }, async (em) => [
        await countOrgRowsInSteps(em, 'audit_events', org.id, 1000),
        await countOrgRowsInSteps(em, 'audit_events', org.id, 7),
        await countOrgRows(em, 'audit_events', org.id),
      ]),
    ).toEqual([25, 25, 25]);
    // Another org's scope counts none of them, whatever org it names.
    expect(await db.tenant({ orgId: other.id }, (em) => countOrgRowsInSteps(em, 'audit_events', org.id, 10))).toBe(0);
    expect(await db.tenant({ orgId: other.id }, (em) => countOrgRowsInSteps(em, 'audit_events', other.id, 2))).toBe(3);
  });

  it('deletes an org’s audit log in bounded batches only once the org is being deleted, in its own scope', async () => {
    const { org } = await orgWithAudit(`doomed-${kind}`, 25);
    const { org: other } = await orgWithAudit(`neighbour-${kind}`, 5);

    // While the org is active the audit log stays append-only: nothing goes.
    expect(await db.tenant({ orgId: org.id }, (em) => deleteOrgRowsBatch(em, 'audit_events', org.id, 10))).toBe(0);

    const deletion = await requestDueDeletion(db, org);
    expect((await db.platform({}, (em) => findOrgById(em, org.id)))?.status).toBe('deleting');
    // Another org's scope sees none of its rows, so deletes none.
    expect(await db.tenant({ orgId: other.id }, (em) => deleteOrgRowsBatch(em, 'audit_events', org.id, 100))).toBe(0);

    const batches: number[] = [];
    for (;;) {
      const n = await db.tenant({ orgId: org.id }, (em) => deleteOrgRowsBatch(em, 'audit_events', org.id, 10));
      if (n === 0) break;
      batches.push(n);
    }
    expect(batches).toEqual([10, 10, 5]);
    expect(await db.tenant({ orgId: org.id }, (em) => countOrgRows(em, 'audit_events', org.id))).toBe(0);
    expect(await db.tenant({ orgId: other.id }, (em) => countOrgRows(em, 'audit_events', other.id))).toBe(5);
    expect(await db.tenant({ orgId: org.id }, (em) => orgHasRows(em, 'audit_events', org.id))).toBe(false);
    expect(await db.tenant({ orgId: other.id }, (em) => orgHasRows(em, 'audit_events', other.id))).toBe(true);
    // In its own scope only: the other org's rows are not there for it.
    expect(await db.tenant({ orgId: org.id }, (em) => orgHasRows(em, 'audit_events', other.id))).toBe(false);
    expect((await db.platform({}, (em) => startOrgDeletion(em, deletion.id)))?.status).toBe('running');
    // A deletion that ran out of attempts is taken up again by the next start, error cleared.
    await db.platform({}, (em) => recordOrgDeletionError(em, deletion.id, 'disk full', true));
    expect((await db.platform({}, (em) => listUnfinishedOrgDeletions(em))).map((d) => d.status)).toContain('failed');
    const retried = await db.platform({}, (em) => startOrgDeletion(em, deletion.id));
    expect(retried).toMatchObject({ status: 'running', error: null, attempts: 2 });
  });

  it('sets its batches to commit without waiting for the disk and its counts to one process, for that transaction only', async () => {
    const settings = (em: EntityManager) =>
      em.execute<{ sync: string; workers: string }[]>(
        `select current_setting('synchronous_commit') as sync,
                current_setting('max_parallel_workers_per_gather') as workers`,
      );
    const inside = await db.platform({}, async (em) => {
      await withAsyncCommit(em);
      await withoutParallelScans(em);
      return (await settings(em))[0];
    });
    expect(inside).toEqual({ sync: 'off', workers: '0' });
    const after = (await db.platform({}, (em) => settings(em)))[0];
    expect(after?.sync).toBe('on');
    expect(after?.workers).not.toBe('0');
  });

  it('keeps one open deletion per org, and a restore puts a suspended org back as suspended', async () => {
    const { org } = await orgWithAudit(`restorable-${kind}`, 1);
    const suspended = await db.platform({}, (em) => updateOrg(em, org.id, { status: 'suspended' }));
    const request = () =>
      db.platform({}, (em) =>
        createOrgDeletion(em, {
          id: randomUUID(),
          org: suspended!,
          requestedById: null,
          requestedAs: 'owner',
          runAfter: new Date(Date.now() + 60_000),
          graceful: true,
        }),
      );
    const first = await request();
    await expect(request()).rejects.toBeInstanceOf(OrgDeletionOpenError);
    expect((await db.platform({}, (em) => findOrgById(em, org.id)))?.status).toBe('pending_deletion');
    // Not due yet: the worker cannot start it.
    expect(await db.platform({}, (em) => startOrgDeletion(em, first.id))).toBeNull();

    const cancelled = await db.platform({}, (em) => cancelScheduledOrgDeletion(em, org.id));
    expect(cancelled?.status).toBe('cancelled');
    expect((await db.platform({}, (em) => findOrgById(em, org.id)))?.status).toBe('suspended');
    expect(await db.platform({}, (em) => findOpenOrgDeletion(em, org.id))).toBeNull();
    expect(await db.platform({}, (em) => cancelScheduledOrgDeletion(em, org.id))).toBeNull();
  });

  it('counts members without shadows, per org scope', async () => {
    const { org } = await orgWithAudit(`counted-${kind}`, 0);
    const usage = await db.tenant({ orgId: org.id }, (em) => countOrgUsage(em, org.id));
    expect(usage).toEqual({ members: 1, pendingInvitations: 0, agents: 0, resources: 0 });
    const summaries = await db.platform({}, (em) => listTenantSummaries(em));
    expect(summaries.find((s) => s.id === org.id)).toMatchObject({ members: 1, agents: 0 });
    expect(summaries.find((s) => s.slug === 'default')).toMatchObject({ members: 0 });
  });
});
