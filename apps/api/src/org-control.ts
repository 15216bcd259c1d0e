import { encodeOrgControl, type OrgControlType, orgControlChannel } from '@tenantry/core';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';

/**
 * Tells every API process that an org's status changed, on `org:{orgId}:control`: live
 * streams of a suspended or deleted org close, caches drop the org. Without Redis there is
 * nobody else to tell; a failed publish is logged, never fails the request that caused it.
 */
export async function publishOrgControl(
  redis: Redis | null,
  log: FastifyBaseLogger,
  orgId: string,
  type: OrgControlType,
): Promise<void> {
  if (!redis) return;
  try {
    await redis.publish(orgControlChannel(orgId), encodeOrgControl(type));
  } catch (error) {
    log.warn({ err: error, orgId, type }, 'org control message not published');
  }
}
