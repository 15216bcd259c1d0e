import { DomainError, effectiveLimits, rateBudgets } from '@tenantry/core';
import type { OrgRow } from '@tenantry/db';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

const WINDOW_SECONDS = 60;
/** A lease is at most this share of a budget, and at most LEASE_MAX requests. */
const LEASE_SHARE = 20;
const LEASE_MAX = 50;

/** Points this process took from Redis for one key and may still spend, until the window ends. */
interface Lease {
  remaining: number;
  until: number;
}

/** How many points one lease of a budget takes: 1 for small budgets, so they count exactly. */
export function leaseSize(points: number): number {
  return Math.max(1, Math.min(LEASE_MAX, Math.floor(points / LEASE_SHARE)));
}

/**
 * Per-org request budgets in Redis (SPEC §9), shared by every API process: one for the whole
 * org and one for each caller in it (a token, a user's browser sessions, an agent, an address).
 * Keys live under the org's namespace, `org:{orgId}:rl:…`, so deleting an org sweeps them.
 * If Redis fails, an in-process limiter with the same budgets takes over rather than letting
 * requests through unlimited or failing them.
 */
export class OrgRateLimiter {
  private readonly limiters = new Map<number, RateLimiterRedis>();
  private readonly leases = new Map<string, Lease>();
  private sweptAt = Date.now();

  constructor(private readonly redis: Redis) {}

  /**
   * Spends one point of `key`'s budget. Points are taken from Redis in leases of a few at a
   * time (`leaseSize`: 5% of the budget, at most 50), so a busy key costs Redis one call per
   * lease rather than per request. Redis counts every leased point, so all processes together
   * never grant more than the budget; a process may hold a few unspent points until the
   * window ends. A lease that Redis refuses grants what was left of the budget, if anything.
   */
  private async spend(points: number, key: string): Promise<number> {
    const now = Date.now();
    const lease = this.leases.get(key);
    if (lease && lease.remaining > 0 && now < lease.until) {
      lease.remaining -= 1;
      return 0;
    }
    if (now - this.sweptAt > WINDOW_SECONDS * 1000) {
      this.sweptAt = now;
      for (const [k, l] of this.leases) if (l.until <= now) this.leases.delete(k);
    }
    const size = leaseSize(points);
    let res: RateLimiterRes;
    let granted: number;
    try {
      res = await this.limiter(points).consume(key, size);
      granted = size;
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      res = error;
      granted = Math.max(0, Math.min(size, points - (res.consumedPoints - size)));
    }
    if (granted === 0) return Math.max(1, res.msBeforeNext);
    this.leases.set(key, { remaining: granted - 1, until: now + res.msBeforeNext });
    return 0;
  }

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
    const [orgWait, callerWait] = await Promise.all([
      this.spend(budgets.org, `${org.id}:rl:org`),
      this.spend(budgets.caller, `${org.id}:rl:${caller}`),
    ]);
    const waitMs = Math.max(orgWait, callerWait);
    if (waitMs > 0) {
      const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
      const which = orgWait > 0 ? 'this organization' : 'you';
      throw new DomainError(
        'RATE_LIMITED',
        `Too many requests for ${which} (${which === 'you' ? budgets.caller : budgets.org} per minute): retry in ${retryAfter} s.`,
        { retryAfter },
      );
    }
  }
}

const shared = new WeakMap<Redis, OrgRateLimiter>();

/** The process's limiter over a Redis connection: one per connection, so every route spends the same leases. */
export function rateLimiterFor(redis: Redis | null): OrgRateLimiter | null {
  if (!redis) return null;
  let limiter = shared.get(redis);
  if (!limiter) {
    limiter = new OrgRateLimiter(redis);
    shared.set(redis, limiter);
  }
  return limiter;
}
