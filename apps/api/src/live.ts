import { EventEmitter } from 'node:events';
import { orgControlChannel, orgResourcesChannel } from '@tenantry/core';
import type { Redis } from 'ioredis';

/**
 * Live events over Redis pub/sub (SPEC §7): every event is published on a channel of the org
 * that may see it (`org:{orgId}:resources`), and a subscriber listens only to the channels of
 * its own org, so an event reaches other API processes and never another org. One subscriber
 * connection per process carries every channel, subscribed while someone listens.
 * Without Redis (one process, embedded defaults) the same hub works in memory.
 */
export class LiveHub {
  private readonly local = new EventEmitter();
  private subscriber: Redis | null = null;
  private readonly counts = new Map<string, number>();
  private closed = false;

  constructor(private readonly redis: Redis | null) {
    this.local.setMaxListeners(0);
  }

  /** Publishes a message on a channel (to every process). */
  async publish(channel: string, message: string): Promise<void> {
    if (this.closed) return;
    if (this.redis) await this.redis.publish(channel, message);
    else this.local.emit(channel, message);
  }

  /** Listens to a channel until the returned function is called. */
  async listen(channel: string, listener: (message: string) => void): Promise<() => Promise<void>> {
    this.local.on(channel, listener);
    const count = (this.counts.get(channel) ?? 0) + 1;
    this.counts.set(channel, count);
    if (this.redis && count === 1) await this.ensureSubscriber().subscribe(channel);
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      this.local.off(channel, listener);
      const left = (this.counts.get(channel) ?? 1) - 1;
      if (left > 0) {
        this.counts.set(channel, left);
        return;
      }
      this.counts.delete(channel);
      if (this.subscriber && !this.closed) await this.subscriber.unsubscribe(channel).catch(() => undefined);
    };
  }

  /** Channels with listeners in this process (for tests and metrics). */
  channels(): string[] {
    return [...this.counts.keys()];
  }

  private ensureSubscriber(): Redis {
    if (!this.subscriber) {
      const subscriber = this.redis!.duplicate({ maxRetriesPerRequest: null });
      subscriber.on('message', (channel: string, message: string) => this.local.emit(channel, message));
      subscriber.on('error', () => undefined);
      this.subscriber = subscriber;
    }
    return this.subscriber;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.local.removeAllListeners();
    this.counts.clear();
    const subscriber = this.subscriber;
    this.subscriber = null;
    if (subscriber) await subscriber.quit().catch(() => subscriber.disconnect());
  }
}

const hubs = new WeakMap<Redis, LiveHub>();
let memoryHub: LiveHub | null = null;

/** The process's hub over a Redis connection (one per connection), or the in-memory hub. */
export function liveHubFor(redis: Redis | null): LiveHub {
  if (!redis) {
    memoryHub ??= new LiveHub(null);
    return memoryHub;
  }
  let hub = hubs.get(redis);
  if (!hub) {
    hub = new LiveHub(redis);
    hubs.set(redis, hub);
  }
  return hub;
}

/** Closes the hub of a Redis connection (the app's onClose). */
export async function closeLiveHub(redis: Redis | null): Promise<void> {
  if (!redis) return;
  const hub = hubs.get(redis);
  hubs.delete(redis);
  await hub?.close();
}

export { orgControlChannel, orgResourcesChannel };
