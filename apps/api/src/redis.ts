import { Redis } from 'ioredis';

/**
 * The API's Redis connection: job producers, rate limits and live events. Commands fail after
 * a couple of reconnect attempts rather than wait out an outage, so no request hangs on Redis.
 * Resolves null when Redis does not answer within `timeoutMs`.
 */
export async function openApiRedis(url: string, timeoutMs = 3000): Promise<Redis | null> {
  const connection = new Redis(url, { maxRetriesPerRequest: 2, lazyConnect: true, connectionName: 'tenantry-api' });
  connection.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      connection.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
    return connection;
  } catch {
    connection.disconnect();
    return null;
  } finally {
    clearTimeout(timer);
  }
}
