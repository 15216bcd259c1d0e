import { Redis } from 'ioredis';
import { redactUrl } from './env.js';

/** How long start-up waits for Redis before giving up. */
export const REDIS_CONNECT_TIMEOUT_MS = 5000;

/** Thrown when Redis does not answer at start-up; the message names REDIS_URL. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

/**
 * Opens a Redis connection for BullMQ and waits until it answers PING. BullMQ needs
 * `maxRetriesPerRequest: null` so that blocking commands wait out a reconnect instead of
 * failing. After start-up the connection reconnects on its own for as long as it lives.
 */
export async function connectRedis(
  url: string,
  { timeoutMs = REDIS_CONNECT_TIMEOUT_MS, connectionName = 'tenantry-worker' } = {},
): Promise<Redis> {
  const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true, connectionName });
  let lastError: Error | undefined;
  const onError = (error: Error) => {
    lastError = error;
  };
  redis.on('error', onError);
  try {
    await withTimeout(redis.ping(), timeoutMs);
    return redis;
  } catch (error) {
    redis.disconnect();
    const reason = lastError?.message ?? (error instanceof Error ? error.message : String(error));
    throw new RedisUnavailableError(
      `Cannot connect to Redis at REDIS_URL=${redactUrl(url)} within ${timeoutMs / 1000} s (${reason}). ` +
        'Start Redis there, or set REDIS_URL to a running Redis.',
    );
  } finally {
    redis.off('error', onError);
  }
}

/** Whether a Redis answers PING at `url` within `timeoutMs`; never throws. */
export async function pingRedis(url: string, timeoutMs = 1500): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: true,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
  });
  redis.on('error', () => {});
  try {
    return (await withTimeout(redis.ping(), timeoutMs)) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
