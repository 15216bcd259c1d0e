import { listUnfinishedOrgDeletions } from '@tenantry/db';
import { Queue } from 'bullmq';
import type { ProcessorContext } from '../queue-registration.js';
import {
  enqueueOrgDeletion,
  ORG_DELETION_QUEUE,
  type OrgDeletionJob,
  orgDeletionJobId,
} from '../queues/org-deletion.js';

/**
 * Makes sure every unfinished deletion has its job: re-enqueued when Redis lost it (it keeps no
 * data of its own here), retried when its attempts ran out (a failed deletion is tried again at
 * each start until it completes). A job that is still there, running or stalled, is left to
 * BullMQ. Runs when the worker starts.
 */
export async function resumeOrgDeletions(ctx: ProcessorContext): Promise<number> {
  if (!ctx.redis) return 0;
  const open = await ctx.db.platform({}, (em) => listUnfinishedOrgDeletions(em));
  if (open.length === 0) return 0;
  const queue = new Queue<OrgDeletionJob>(ORG_DELETION_QUEUE, {
    connection: ctx.redis,
    ...(ctx.prefix ? { prefix: ctx.prefix } : {}),
  });
  queue.on('error', () => {});
  let resumed = 0;
  try {
    for (const deletion of open) {
      const job = await queue.getJob(orgDeletionJobId(deletion.id));
      if (!job) {
        await enqueueOrgDeletion(queue, deletion);
        resumed += 1;
      } else if (await job.isFailed()) {
        await job.retry('failed');
        resumed += 1;
      }
    }
  } finally {
    await queue.close();
  }
  if (resumed > 0) ctx.logger.info({ resumed }, 'open deletions re-enqueued');
  return resumed;
}
