import { Redis } from 'ioredis';

/**
 * Deletes every key a benchmark run left under its private BullMQ prefix (queues, their meta
 * and scheduler keys) and its job outcome counts, so runs leave nothing in the machine's Redis.
 */
export async function clearRunKeys(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  let deleted = 0;
  try {
    for (const pattern of [`${prefix}:*`, `platform:job-outcomes:${prefix}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) deleted += await redis.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
  return deleted;
}
