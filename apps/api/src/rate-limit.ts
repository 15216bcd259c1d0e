import { DomainError, effectiveLimits, rateBudgets } from '@tenantry/core';
import type { OrgRow } from '@tenantry/db';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

const WINDOW_SECONDS = 60;

/**
 * Per-org request budgets in Redis (SPEC §9), shared by every API process: one for the whole
 * org and one for each caller in it (a token, a user's browser sessions, an agent, an address).
 * Keys live under the org's namespace, `org:{orgId}:rl:…`, so deleting an org sweeps them.
 * If Redis fails, an in-process limiter with the same budgets takes over rather than letting
 * requests through unlimited or failing them.
 */
export class OrgRateLimiter {
  private readonly limiters = new Map<number, RateLimiterRedis>();

  constructor(private readonly redis: Redis) {}

  private limiter(points: number): RateLimiterRedis {
    let limiter = this.limiters.get(points);
    if (!limiter) {
      limiter = new RateLimiterRedis({
        storeClient: this.redis,
        keyPrefix: 'org',
        points,
        duration: WINDOW_SECONDS,
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix: 'org', points, duration: WINDOW_SECONDS }),
      });
      this.limiters.set(points, limiter);
    }
    return limiter;
  }

  /**
   * Spends one request of the org's budget and of `caller`'s (`token:<id>`, `user:<id>`,
   * `agent:<id>`, `ip:<address>`). Throws RATE_LIMITED with `retryAfter` (seconds) when either
   * is spent.
   */
  async consume(org: Pick<OrgRow, 'id' | 'tier' | 'maxRequestsPerMinute'>, caller: string): Promise<void> {
    const budgets = rateBudgets(effectiveLimits(org.tier, { requestsPerMinute: org.maxRequestsPerMinute }));
    const spent = await Promise.allSettled([
      this.limiter(budgets.org).consume(`${org.id}:rl:org`),
      this.limiter(budgets.caller).consume(`${org.id}:rl:${caller}`),
    ]);
    let waitMs = 0;
    for (const outcome of spent) {
      if (outcome.status === 'fulfilled') continue;
      if (!(outcome.reason instanceof RateLimiterRes)) throw outcome.reason;
      waitMs = Math.max(waitMs, outcome.reason.msBeforeNext);
    }
    if (waitMs > 0) {
      const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
      const which = spent[0]?.status === 'rejected' ? 'this organization' : 'you';
      throw new DomainError(
        'RATE_LIMITED',
        `Too many requests for ${which} (${which === 'you' ? budgets.caller : budgets.org} per minute): retry in ${retryAfter} s.`,
        { retryAfter },
      );
    }
  }
}
