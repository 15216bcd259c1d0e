import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/**
 * Producer side of the worker's queues. One BullMQ `Queue` per name, created on first use on
 * the API's Redis connection and kept for the life of the app. Without Redis (`redis: null`)
 * `get` answers null and producers leave their rows queued (e.g. invitation mails).
 */
export interface JobQueues {
  /** The queue `name` (one of the worker's `queues/<name>.ts`), or null without Redis. */
  get<Data = unknown>(name: string): Queue<Data> | null;
  /** The BullMQ key prefix (tests isolate themselves with their own). */
  readonly prefix: string | undefined;
  close(): Promise<void>;
}

export function createJobQueues(redis: Redis | null, prefix?: string): JobQueues {
  const queues = new Map<string, Queue>();
  return {
    prefix,
    get<Data>(name: string) {
      if (!redis) return null;
      let queue = queues.get(name);
      if (!queue) {
        queue = new Queue(name, { connection: redis, ...(prefix ? { prefix } : {}) });
        // Errors surface on the add() calls; the connection reconnects by itself.
        queue.on('error', () => {});
        queues.set(name, queue);
      }
      return queue as unknown as Queue<Data>;
    },
    async close() {
      await Promise.allSettled([...queues.values()].map((q) => q.close()));
      queues.clear();
    },
  };
}
