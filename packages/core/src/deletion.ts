import { DomainError } from './errors.js';
import { type ActiveOrgCandidates, pickActiveOrg } from './gate.js';
import type { OrgStatus } from './tenancy.js';

/**
 * Cascade deletion of an organization (SPEC §2): who may start it, in which steps it runs,
 * in which order its tables are emptied, and how large each batch is. The worker and the
 * API ask these rules; they hold no deletion policy of their own.
 */

/** The steps of a deletion, in order. Each is idempotent, so a restarted worker resumes at its step. */
export const DELETION_STEPS = [
  /** Mark the org `deleting`, record its members and tokens, count every tenant table. */
  'prepare',
  /** Remove the org's waiting and delayed jobs (and job schedulers) from every queue. */
  'jobs',
  /** Empty every tenant table in bounded batches, children first. */
  'rows',
  /** Delete API tokens left without any organization. */
  'tokens',
  /** Delete users whose only membership it was, repoint the others' default org. */
  'users',
  /** Delete the organizations row and check that no row of the org is left anywhere. */
  'organization',
  /** Remove the org's Redis keys (`org:{orgId}:*`). */
  'redis',
  /** Remove the org's stored files. */
  'files',
  /** Store the report. */
  'report',
] as const;
export type DeletionStep = (typeof DELETION_STEPS)[number];

/** States of a deletion record. */
export const DELETION_STATUSES = ['scheduled', 'running', 'completed', 'cancelled', 'failed'] as const;
export type DeletionStatus = (typeof DELETION_STATUSES)[number];

/** The step after `step`, or null after the last one. */
export function nextDeletionStep(step: DeletionStep): DeletionStep | null {
  const at = DELETION_STEPS.indexOf(step);
  return DELETION_STEPS[at + 1] ?? null;
}

/** Whether `step` comes after `other` (the worker skips steps a previous run finished). */
export function stepIsAfter(step: DeletionStep, other: DeletionStep): boolean {
  return DELETION_STEPS.indexOf(step) > DELETION_STEPS.indexOf(other);
}

/** What decides whether an org may be deleted by this caller now. */
export interface DeletionRequest {
  isDefault: boolean;
  isAdminTenancy: boolean;
  /** The org is the one the caller is working in (their current org). */
  isCurrent: boolean;
  status: OrgStatus;
}

/**
 * Throws unless the org may be deleted: never the default org, the admin tenancy or the
 * caller's current org, and not twice.
 */
export function assertDeletable(req: DeletionRequest): void {
  if (req.isDefault) throw new DomainError('DEFAULT_ORG_PROTECTED');
  if (req.isAdminTenancy) {
    throw new DomainError(
      'ADMIN_TENANCY_PROTECTED',
      'The admin tenancy cannot be deleted: make another organization the admin tenancy first.',
    );
  }
  if (req.status === 'pending_deletion' || req.status === 'deleting') throw new DomainError('ORG_DELETION_IN_PROGRESS');
  if (req.isCurrent) throw new DomainError('CURRENT_ORG_PROTECTED');
}

/** Throws CONFIRMATION_MISMATCH unless `confirm` is the org's slug (surrounding spaces ignored). */
export function assertDeletionConfirmed(slug: string, confirm: string): void {
  if (confirm.trim() !== slug) {
    throw new DomainError(
      'CONFIRMATION_MISMATCH',
      `Type the organization's slug (${slug}) in confirm to delete it; nothing was deleted.`,
    );
  }
}

/** Throws ORG_NOT_RESTORABLE unless the org waits for a deletion that has not started. */
export function assertRestorable({
  orgStatus,
  deletionStatus,
}: {
  orgStatus: OrgStatus;
  deletionStatus: DeletionStatus | null;
}): void {
  if (orgStatus !== 'pending_deletion' || deletionStatus !== 'scheduled') throw new DomainError('ORG_NOT_RESTORABLE');
}

/** When a requested deletion starts: at once, or after the grace period (`DELETION_GRACE`, ms). */
export function deletionStartsAt(requestedAt: Date, graceMs: number): Date {
  return new Date(requestedAt.getTime() + Math.max(0, graceMs));
}

/** A reference from one tenant table to another (a foreign key). */
export interface TableReference {
  /** The referencing table (its rows point at `parent`'s). */
  child: string;
  parent: string;
}

/**
 * Tenant tables in the order to empty them: every table before the tables it references, so
 * no row is removed by a cascade from its parent (a per-row trigger, unbatched). Ties and
 * cycles are broken by name, so the order is stable.
 */
export function orderChildrenFirst(tables: readonly string[], references: readonly TableReference[]): string[] {
  const known = new Set(tables);
  // parent → children that reference it; a table can go once all its children have gone.
  const children = new Map<string, Set<string>>();
  for (const t of tables) children.set(t, new Set());
  for (const ref of references) {
    if (ref.child === ref.parent || !known.has(ref.child) || !known.has(ref.parent)) continue;
    children.get(ref.parent)?.add(ref.child);
  }
  const order: string[] = [];
  const remaining = new Set([...tables].sort());
  while (remaining.size > 0) {
    const ready = [...remaining].filter((t) => [...(children.get(t) ?? [])].every((c) => !remaining.has(c)));
    // A cycle: take the first by name and carry on (the cascade covers what is left).
    const next = ready[0] ?? [...remaining][0]!;
    order.push(next);
    remaining.delete(next);
  }
  return order;
}

/** Bounds of the adaptive batch size. */
export interface BatchSizing {
  min: number;
  max: number;
  /** What a batch (one transaction) should take, in ms; locks are held that long at most. */
  targetMs: number;
}

/**
 * A batch aims at 20 ms: the other tenants' requests that meet one wait on a busy machine for
 * about that long at worst (in the deletion bench, at 40 ms the `agents` batches, whose rows
 * cascade into their resources, were where the neighbour's slowest reads fell).
 */
export const DEFAULT_BATCH_SIZING: BatchSizing = { min: 100, max: 10_000, targetMs: 20 };

/**
 * The first batch of a table: the least. Tables differ in what a row costs (a row of a parent
 * table may check or cascade into its children), so every table starts small and grows.
 */
export function firstBatchSize(sizing: BatchSizing = DEFAULT_BATCH_SIZING): number {
  return sizing.min;
}

/**
 * The size of the next batch after one of `size` rows took `tookMs`: the size that would have
 * taken the target at the same cost per row, within the bounds: at most halved, doubled only
 * when it took under a quarter of the target, else grown by at most half (the rows of one table
 * do not all cost the same).
 */
export function nextBatchSize(size: number, tookMs: number, sizing: BatchSizing = DEFAULT_BATCH_SIZING): number {
  const growth = tookMs < sizing.targetMs / 4 ? 2 : 1.5;
  const ideal = tookMs > 0 ? (size * sizing.targetMs) / tookMs : size * growth;
  const next = Math.round(Math.min(size * growth, Math.max(size / 2, ideal)));
  return Math.min(sizing.max, Math.max(sizing.min, next));
}

/** The default share of a deletion's time its batches take (`DELETION_BATCH_SHARE`). */
export const DEFAULT_DELETION_BATCH_SHARE = 0.5;

/**
 * How long to rest after a batch that held its locks `heldMs`, so that batches take at most
 * `share` (0–1] of the deletion's time and leave the rest of the database's CPU and I/O to the
 * other tenants: a share of 1 runs the batches back to back, ½ rests as long as each batch took.
 */
export function restAfterBatch(heldMs: number, share: number): number {
  if (!(share > 0) || share >= 1 || !(heldMs > 0)) return 0;
  return (heldMs * (1 - share)) / share;
}

/** Progress of one table of a deletion. */
export interface TableProgress {
  table: string;
  total: number;
  deleted: number;
  done: boolean;
}

/** Rows deleted against rows counted at the start, and the fraction done (0–1). */
export function deletionProgress(tables: readonly TableProgress[]): {
  rowsTotal: number;
  rowsDeleted: number;
  fraction: number;
} {
  const rowsTotal = tables.reduce((n, t) => n + t.total, 0);
  const rowsDeleted = tables.reduce((n, t) => n + Math.min(t.deleted, t.total), 0);
  const allDone = tables.every((t) => t.done);
  const fraction = rowsTotal === 0 ? (allDone ? 1 : 0) : rowsDeleted / rowsTotal;
  return { rowsTotal, rowsDeleted, fraction: Math.min(1, fraction) };
}

/**
 * The org a user's next landing org should be after they lost `lostOrgId`: the default org if
 * they are a full member there, else their oldest full membership, else a shadow one, else none.
 */
export function nextDefaultOrg(
  memberships: readonly { orgId: string; isShadow: boolean }[],
  lostOrgId: string,
  defaultOrgId: string,
): string | null {
  const remaining = memberships.filter((m) => m.orgId !== lostOrgId);
  const pick =
    remaining.find((m) => m.orgId === defaultOrgId && !m.isShadow) ??
    remaining.find((m) => !m.isShadow) ??
    remaining[0];
  return pick?.orgId ?? null;
}

/**
 * Whether `org` is the caller's current org: the one their request would act in without a
 * path (header → session → default org → `default`, core's `pickActiveOrg`).
 */
export function isCurrentOrg(
  org: { id: string; slug: string },
  candidates: ActiveOrgCandidates,
  defaultOrgId: string,
): boolean {
  const { raw } = pickActiveOrg(candidates);
  const ref = raw.trim().toLowerCase();
  return ref === org.id.toLowerCase() || ref === org.slug || (ref === 'default' && org.id === defaultOrgId);
}
