import { unlinkKeysMatching } from '@tenantry/worker';
import { Redis } from 'ioredis';

/**
 * Deletes every key a benchmark run left under its private BullMQ prefix (queues, their meta
 * and scheduler keys) and its job outcome counts, so runs leave nothing in the machine's Redis.
 */
export async function clearRunKeys(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  try {
    return (
      (await unlinkKeysMatching(redis, `${prefix}:*`)) +
      (await unlinkKeysMatching(redis, `platform:job-outcomes:${prefix}:*`))
    );
  } finally {
    redis.disconnect();
  }
}
