import { Queue } from 'bullmq';
import { REGISTRY } from './registry.js';

/**
 * How many worker processes consume the queues on the Redis at `redisUrl` (under `prefix`):
 * the workers connected to the first registered queue. Deployment tooling waits on it.
 */
export async function countOnlineWorkers(redisUrl: string, prefix?: string): Promise<number> {
  const first = REGISTRY[0];
  if (!first) return 0;
  const queue = new Queue(first.name, {
    connection: { url: redisUrl, maxRetriesPerRequest: 1 },
    ...(prefix ? { prefix } : {}),
  });
  queue.on('error', () => {});
  try {
    return await queue.getWorkersCount();
  } finally {
    await queue.close();
  }
}
