import { describe, expect, it } from 'vitest';
import {
  assertDeletable,
  assertDeletionConfirmed,
  assertRestorable,
  DELETION_STEPS,
  deletionProgress,
  deletionStartsAt,
  firstBatchSize,
  isCurrentOrg,
  nextBatchSize,
  nextDefaultOrg,
  nextDeletionStep,
  orderChildrenFirst,
  restAfterBatch,
  stepIsAfter,
} from './deletion.js';
import { DomainError } from './errors.js';

function codeOf(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (error) {
    return error instanceof DomainError ? error.code : 'OTHER';
  }
}

const plain = { isDefault: false, isAdminTenancy: false, isCurrent: false, status: 'active' as const };

describe('who may delete an organization', () => {
  it('allows an ordinary org the caller is not working in', () => {
    expect(codeOf(() => assertDeletable(plain))).toBeNull();
    expect(codeOf(() => assertDeletable({ ...plain, status: 'suspended' }))).toBeNull();
  });

  it('refuses the default org, the admin tenancy and the current org, each with its code', () => {
    expect(codeOf(() => assertDeletable({ ...plain, isDefault: true }))).toBe('DEFAULT_ORG_PROTECTED');
    expect(codeOf(() => assertDeletable({ ...plain, isAdminTenancy: true }))).toBe('ADMIN_TENANCY_PROTECTED');
    expect(codeOf(() => assertDeletable({ ...plain, isCurrent: true }))).toBe('CURRENT_ORG_PROTECTED');
  });

  it('refuses a second deletion of an org already on its way out', () => {
    expect(codeOf(() => assertDeletable({ ...plain, status: 'pending_deletion' }))).toBe('ORG_DELETION_IN_PROGRESS');
    expect(codeOf(() => assertDeletable({ ...plain, status: 'deleting' }))).toBe('ORG_DELETION_IN_PROGRESS');
  });

  it('needs the slug typed exactly, and names it when it is not', () => {
    expect(codeOf(() => assertDeletionConfirmed('acme', ' acme '))).toBeNull();
    expect(codeOf(() => assertDeletionConfirmed('acme', 'Acme'))).toBe('CONFIRMATION_MISMATCH');
    expect(() => assertDeletionConfirmed('acme', '')).toThrow(/\(acme\)/);
  });
});

describe('the current organization', () => {
  const org = { id: '6f1c1d1e-0000-4000-8000-000000000001', slug: 'acme' };
  const defaultId = '6f1c1d1e-0000-4000-8000-0000000000ff';

  it('is the session org, else the default org of the user, else default', () => {
    const on = { multiTenantEnabled: true };
    expect(isCurrentOrg(org, { ...on, sessionOrgId: org.id }, defaultId)).toBe(true);
    expect(isCurrentOrg(org, { ...on, sessionOrgId: defaultId, userDefaultOrgId: org.id }, defaultId)).toBe(false);
    expect(isCurrentOrg(org, { ...on, userDefaultOrgId: org.id }, defaultId)).toBe(true);
    expect(isCurrentOrg(org, { ...on, header: 'ACME' }, defaultId)).toBe(true);
    expect(isCurrentOrg({ id: defaultId, slug: 'default' }, on, defaultId)).toBe(true);
    expect(isCurrentOrg(org, on, defaultId)).toBe(false);
  });
});

describe('restoring an organization', () => {
  it('works only while it waits for a deletion that has not started', () => {
    expect(codeOf(() => assertRestorable({ orgStatus: 'pending_deletion', deletionStatus: 'scheduled' }))).toBeNull();
    expect(codeOf(() => assertRestorable({ orgStatus: 'deleting', deletionStatus: 'running' }))).toBe(
      'ORG_NOT_RESTORABLE',
    );
    expect(codeOf(() => assertRestorable({ orgStatus: 'active', deletionStatus: null }))).toBe('ORG_NOT_RESTORABLE');
  });

  it('starts after the grace period, or at once without one', () => {
    const at = new Date('2026-03-01T00:00:00Z');
    expect(deletionStartsAt(at, 0).getTime()).toBe(at.getTime());
    expect(deletionStartsAt(at, 3_600_000).toISOString()).toBe('2026-03-01T01:00:00.000Z');
  });
});

describe('deletion steps', () => {
  it('run in a fixed order, ending with the report', () => {
    expect(DELETION_STEPS[0]).toBe('prepare');
    expect(nextDeletionStep('prepare')).toBe('jobs');
    expect(nextDeletionStep('report')).toBeNull();
    expect(stepIsAfter('redis', 'organization')).toBe(true);
    expect(stepIsAfter('rows', 'users')).toBe(false);
    // Redis and files are swept after the org row is gone, when nothing can recreate them.
    expect(DELETION_STEPS.indexOf('redis')).toBeGreaterThan(DELETION_STEPS.indexOf('organization'));
  });
});

describe('the order tables are emptied in', () => {
  it('puts every table before the tables it references', () => {
    const order = orderChildrenFirst(
      ['agents', 'resources', 'shares', 'incoming_shares', 'memberships', 'alerts'],
      [
        { child: 'resources', parent: 'agents' },
        { child: 'incoming_shares', parent: 'shares' },
        { child: 'alerts', parent: 'resources' },
      ],
    );
    expect(order.indexOf('resources')).toBeLessThan(order.indexOf('agents'));
    expect(order.indexOf('alerts')).toBeLessThan(order.indexOf('resources'));
    expect(order.indexOf('incoming_shares')).toBeLessThan(order.indexOf('shares'));
    expect([...order].sort()).toEqual(['agents', 'alerts', 'incoming_shares', 'memberships', 'resources', 'shares']);
  });

  it('ignores self-references and references to other tables, and survives a cycle', () => {
    expect(
      orderChildrenFirst(
        ['a', 'b'],
        [
          { child: 'a', parent: 'a' },
          { child: 'a', parent: 'users' },
        ],
      ),
    ).toEqual(['a', 'b']);
    const cyclic = orderChildrenFirst(
      ['x', 'y'],
      [
        { child: 'x', parent: 'y' },
        { child: 'y', parent: 'x' },
      ],
    );
    expect([...cyclic].sort()).toEqual(['x', 'y']);
  });
});

describe('batch sizes', () => {
  it('aim at the target at the measured cost per row, at most halving, doubling only when quick, within bounds', () => {
    const sizing = { min: 500, max: 10_000, targetMs: 40 };
    expect(nextBatchSize(4000, 80, sizing)).toBe(2000);
    expect(nextBatchSize(4000, 400, sizing)).toBe(2000);
    expect(nextBatchSize(4000, 50, sizing)).toBe(3200);
    expect(nextBatchSize(4000, 32, sizing)).toBe(5000);
    expect(nextBatchSize(4000, 5, sizing)).toBe(8000);
    expect(nextBatchSize(4000, 0, sizing)).toBe(8000);
    expect(nextBatchSize(4000, 20, sizing)).toBe(6000);
    expect(nextBatchSize(600, 500, sizing)).toBe(500);
    expect(nextBatchSize(9000, 5, sizing)).toBe(10_000);
    expect(nextBatchSize(5000, 40, sizing)).toBe(5000);
  });

  it('start every table at the least', () => {
    expect(firstBatchSize({ min: 500, max: 10_000, targetMs: 40 })).toBe(500);
    expect(firstBatchSize({ min: 3, max: 3, targetMs: 40 })).toBe(3);
  });
});

describe('rest between batches', () => {
  it('keeps the batches to their share of the time', () => {
    expect(restAfterBatch(30, 1)).toBe(0);
    expect(restAfterBatch(30, 0.5)).toBe(30);
    expect(restAfterBatch(30, 0.75)).toBe(10);
    expect(restAfterBatch(30, 0.25)).toBe(90);
  });

  it('never rests after nothing, nor for a share out of range', () => {
    expect(restAfterBatch(0, 0.5)).toBe(0);
    expect(restAfterBatch(30, 0)).toBe(0);
    expect(restAfterBatch(30, 2)).toBe(0);
    expect(restAfterBatch(Number.NaN, 0.5)).toBe(0);
  });
});

describe('deletion progress', () => {
  it('sums rows over tables and reports the fraction done', () => {
    const p = deletionProgress([
      { table: 'a', total: 300, deleted: 300, done: true },
      { table: 'b', total: 100, deleted: 0, done: false },
    ]);
    expect(p).toEqual({ rowsTotal: 400, rowsDeleted: 300, fraction: 0.75 });
    expect(deletionProgress([{ table: 'a', total: 0, deleted: 0, done: true }]).fraction).toBe(1);
    expect(deletionProgress([{ table: 'a', total: 0, deleted: 0, done: false }]).fraction).toBe(0);
  });
});

describe("a user's next landing org", () => {
  const lost = 'lost';
  it('prefers the default org, then the oldest full membership, then a shadow one', () => {
    expect(
      nextDefaultOrg(
        [
          { orgId: 'b', isShadow: false },
          { orgId: 'def', isShadow: false },
        ],
        lost,
        'def',
      ),
    ).toBe('def');
    expect(
      nextDefaultOrg(
        [
          { orgId: 'lost', isShadow: false },
          { orgId: 's', isShadow: true },
          { orgId: 'b', isShadow: false },
        ],
        lost,
        'def',
      ),
    ).toBe('b');
    expect(nextDefaultOrg([{ orgId: 's', isShadow: true }], lost, 'def')).toBe('s');
    expect(nextDefaultOrg([{ orgId: 'lost', isShadow: false }], lost, 'def')).toBeNull();
  });
});
