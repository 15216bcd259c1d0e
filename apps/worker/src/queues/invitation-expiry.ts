/**
 * Invitation expiry (SPEC §4: "a scheduled job marks expired invitations"). A BullMQ job
 * scheduler puts a `sweep` job on the platform-level sweep queue every INVITATION_EXPIRY_INTERVAL;
 * the sweep fans out one job per org onto the tenant queue, and each of those stores `expired`
 * on its org's lapsed invitations inside that org's scope. Reads check expiry anyway, so a
 * missed run never lets an expired token through: the sweep frees pending slots and audits.
 */

/** Platform-level queue of the scheduler's sweep jobs (no org: it only lists orgs). */
export const INVITATION_EXPIRY_SWEEP_QUEUE = 'invitation-expiry-sweep';

/** Tenant queue: one job per org and sweep, carrying its org id. */
export const INVITATION_EXPIRY_QUEUE = 'invitation-expiry';

/** Id of the job scheduler, and the name under which its runs are recorded for health. */
export const INVITATION_EXPIRY_SCHEDULER = 'invitation-expiry';

/** Data of a per-org expiry job. */
export interface InvitationExpiryJob {
  orgId: string;
  /** When the sweep that enqueued it ran (ms since the epoch): invitations expired by then. */
  asOf: number;
}

/** Options of the per-org jobs: a few quick retries (the database may blip), then kept for a look. */
export const INVITATION_EXPIRY_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential' as const, delay: 1000 },
  removeOnComplete: 1000,
  removeOnFail: 1000,
};

/** Deterministic id per (org, sweep), so a retried sweep never enqueues an org twice. */
export function invitationExpiryJobId(orgId: string, sweepId: string): string {
  return `expire-${orgId}-${sweepId.replace(/:/g, '_')}`;
}
