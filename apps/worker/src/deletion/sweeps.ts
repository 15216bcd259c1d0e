import { readdir, rm } from 'node:fs/promises';
import { orgFilesPath, orgKeyPattern } from '@tenantry/core';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

// What a deleted org leaves outside PostgreSQL: Redis keys under its namespace, jobs waiting in
// any queue, and its directory of stored files. Each sweep is idempotent and reports progress
// per batch, so a restarted deletion picks up what is left.

const SCAN_COUNT = 500;
const JOB_PAGE = 500;
/** States of jobs that have not run yet (active jobs finish or fail on their own). */
const QUEUED_STATES = ['waiting', 'delayed', 'prioritized', 'waiting-children'] as const;

/**
 * Removes every key matching `pattern` with SCAN and UNLINK, never KEYS, in batches; `onBatch`
 * is told how many keys each batch removed.
 */
export async function unlinkKeysMatching(
  redis: Redis,
  pattern: string,
  onBatch: (removed: number) => Promise<void> = async () => {},
): Promise<number> {
  let cursor = '0';
  let total = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
    cursor = next;
    if (keys.length > 0) {
      const removed = await redis.unlink(...keys);
      total += removed;
      await onBatch(removed);
    }
  } while (cursor !== '0');
  return total;
}

/** Removes every key of the org (`org:{orgId}:*`), in batches (see unlinkKeysMatching). */
export function sweepOrgRedisKeys(
  redis: Redis,
  orgId: string,
  onBatch: (removed: number) => Promise<void>,
): Promise<number> {
  return unlinkKeysMatching(redis, orgKeyPattern(orgId), onBatch);
}

/** Names of every BullMQ queue under `prefix` (each has a `<prefix>:<name>:meta` hash). */
export async function listQueueNames(redis: Redis, prefix: string): Promise<string[]> {
  const names = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*:meta`, 'COUNT', SCAN_COUNT);
    cursor = next;
    for (const key of keys) names.add(key.slice(prefix.length + 1, -':meta'.length));
  } while (cursor !== '0');
  return [...names].sort();
}

/**
 * Removes the org's jobs that have not run yet (waiting, delayed, prioritized) from
 * every queue, and the job schedulers that would create more. A job belongs to the org when its
 * data carries its `orgId`. Returns how many jobs and schedulers went.
 */
export async function sweepOrgQueuedJobs(
  redis: Redis,
  prefix: string,
  orgId: string,
  onBatch: (removed: number) => Promise<void>,
): Promise<number> {
  let total = 0;
  for (const name of await listQueueNames(redis, prefix)) {
    const queue = new Queue(name, { connection: redis, prefix });
    queue.on('error', () => {});
    try {
      // Collect first: removing while paging would shift the pages under us.
      const doomed: string[] = [];
      for (let start = 0; ; start += JOB_PAGE) {
        const jobs = await queue.getJobs([...QUEUED_STATES], start, start + JOB_PAGE - 1, true);
        for (const job of jobs) {
          if (job?.id && (job.data as { orgId?: unknown } | undefined)?.orgId === orgId) doomed.push(job.id);
        }
        if (jobs.length < JOB_PAGE) break;
      }
      let removed = 0;
      for (const id of doomed) {
        // A job that started meanwhile is locked and stays: it finds its org gone and fails.
        const gone = await queue.remove(id).catch(() => 0);
        removed += gone;
      }
      for (const scheduler of await queue.getJobSchedulers(0, -1, true)) {
        const data = (scheduler.template?.data ?? null) as { orgId?: unknown } | null;
        if (data?.orgId === orgId && (await queue.removeJobScheduler(scheduler.key))) removed += 1;
      }
      if (removed > 0) await onBatch(removed);
      total += removed;
    } finally {
      await queue.close();
    }
  }
  return total;
}

/** Counts the files under a directory (0 when it does not exist). */
async function countFiles(dir: string): Promise<number> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  let n = 0;
  for (const entry of entries) {
    n += entry.isDirectory() ? await countFiles(`${dir}/${entry.name}`) : 1;
  }
  return n;
}

/** Removes the org's directory of stored files (`DATA_DIR/files/<orgId>`). Returns how many files went. */
export async function sweepOrgFiles(dataDir: string, orgId: string): Promise<number> {
  const dir = orgFilesPath(dataDir, orgId);
  const files = await countFiles(dir);
  await rm(dir, { recursive: true, force: true });
  return files;
}
