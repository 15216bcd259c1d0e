import { appendAuditEvent, expireInvitations, listOrgIdsForInvitationSweep } from '@tenantry/db';
import { type Job, UnrecoverableError } from 'bullmq';
import type { ProcessorContext } from '../queue-registration.js';
import {
  INVITATION_EXPIRY_JOB_OPTIONS,
  INVITATION_EXPIRY_QUEUE,
  INVITATION_EXPIRY_SCHEDULER,
  type InvitationExpiryJob,
  invitationExpiryJobId,
} from '../queues/invitation-expiry.js';
import { recordSchedulerRun } from '../scheduler-health.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PAGE = 1000;

/**
 * The scheduler's sweep: enqueues one expiry job per org (deterministic ids, so a retried
 * sweep adds nothing twice) and records the run for the health endpoint. It reads only the
 * global list of orgs; each org's invitations are touched by its own job, in its own scope.
 */
export async function processInvitationExpirySweep(job: Job, ctx: ProcessorContext): Promise<{ orgs: number }> {
  const started = performance.now();
  const name = job.repeatJobKey ?? INVITATION_EXPIRY_SCHEDULER;
  const redis = ctx.redis;
  try {
    if (!ctx.queue) throw new Error('the sweep needs a producer queue: run it through startWorker');
    const queue = ctx.queue<InvitationExpiryJob>(INVITATION_EXPIRY_QUEUE);
    const asOf = job.timestamp;
    const sweepId = job.id ?? String(asOf);
    let after: string | null = null;
    let orgs = 0;
    for (;;) {
      const ids: string[] = await ctx.db.platform({}, (em) => listOrgIdsForInvitationSweep(em, after, PAGE));
      if (ids.length === 0) break;
      await queue.addBulk(
        ids.map((orgId) => ({
          name: 'expire',
          data: { orgId, asOf },
          opts: { jobId: invitationExpiryJobId(orgId, sweepId), ...INVITATION_EXPIRY_JOB_OPTIONS },
        })),
      );
      orgs += ids.length;
      after = ids[ids.length - 1] ?? null;
      if (ids.length < PAGE) break;
    }
    if (redis) await recordSchedulerRun(redis, name, { ok: true, durationMs: performance.now() - started });
    return { orgs };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (redis)
      await recordSchedulerRun(redis, name, { ok: false, durationMs: performance.now() - started, error: message });
    throw error;
  }
}

/**
 * Stores `expired` on one org's lapsed pending invitations and appends an `invitation.expired`
 * audit entry for each, in one unit of work scoped to the job's org. A job without a valid org
 * id is refused for good.
 */
export async function processInvitationExpiry(
  job: Job<InvitationExpiryJob>,
  ctx: ProcessorContext,
): Promise<{ expired: number }> {
  const orgId = job.data?.orgId;
  if (typeof orgId !== 'string' || !UUID_RE.test(orgId)) {
    throw new UnrecoverableError('invitation expiry job without a valid orgId');
  }
  const asOf = new Date(typeof job.data.asOf === 'number' ? job.data.asOf : Date.now());
  const expired = await ctx.db.tenant({ orgId }, async (em) => {
    const rows = await expireInvitations(em, orgId, asOf);
    for (const invitation of rows) {
      await appendAuditEvent(em, orgId, {
        actorType: 'system',
        action: 'invitation.expired',
        targetType: 'invitation',
        targetId: invitation.id,
        details: { email: invitation.email, sendCount: invitation.sendCount, expiresAt: invitation.expiresAt },
      });
    }
    return rows.length;
  });
  if (expired > 0) ctx.logger.info({ orgId, expired }, 'invitations expired');
  return { expired };
}
