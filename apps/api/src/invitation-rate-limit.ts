import { type AttemptBudget, DomainError, INVITATION_ATTEMPT_LIMITS } from '@tenantry/core';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/** Who is trying an invitation: its org and invitation when the token names a real org, and the client's address. */
export interface InvitationAttempt {
  /** Known when the token parses and names an existing org: the keys then live in its namespace. */
  orgId: string | null;
  invitationId: string | null;
  ip: string | null;
}

function limiterFor(redis: Redis, keyPrefix: string, budget: AttemptBudget): RateLimiterRedis {
  return new RateLimiterRedis({
    storeClient: redis,
    keyPrefix,
    points: budget.points,
    duration: budget.seconds,
    rejectIfRedisNotReady: true,
    // If Redis fails, the same budgets in this process rather than no limit or an error.
    insuranceLimiter: new RateLimiterMemory({ keyPrefix, points: budget.points, duration: budget.seconds }),
  });
}

/**
 * Attempts to accept an invitation (or sign up with one), limited per invitation and per
 * client address in Redis, shared by every API process. Keys sit under the invitation's org,
 * `org:{orgId}:rl:invite:…`, when the token names an existing org; a token that names none
 * spends the address's budget under `rl:invite:ip:…` (there is no org to file it under).
 */
export class InvitationAttemptLimiter {
  private readonly inOrg: { invitation: RateLimiterRedis; address: RateLimiterRedis };
  private readonly global: RateLimiterRedis;

  constructor(redis: Redis, limits = INVITATION_ATTEMPT_LIMITS) {
    this.inOrg = {
      invitation: limiterFor(redis, 'org', limits.perInvitation),
      address: limiterFor(redis, 'org', limits.perAddress),
    };
    this.global = limiterFor(redis, 'rl', limits.perAddress);
  }

  /** Spends one attempt; throws RATE_LIMITED with `retryAfter` (seconds) when a budget is spent. */
  async consume(attempt: InvitationAttempt): Promise<void> {
    const ip = attempt.ip ?? 'unknown';
    const spends: { which: 'invitation' | 'address'; run: Promise<unknown> }[] = [];
    if (attempt.orgId) {
      const base = `${attempt.orgId}:rl:invite`;
      spends.push({ which: 'address', run: this.inOrg.address.consume(`${base}:ip:${ip}`) });
      if (attempt.invitationId) {
        spends.push({ which: 'invitation', run: this.inOrg.invitation.consume(`${base}:inv:${attempt.invitationId}`) });
      }
    } else {
      spends.push({ which: 'address', run: this.global.consume(`invite:ip:${ip}`) });
    }
    const outcomes = await Promise.allSettled(spends.map((s) => s.run));
    let waitMs = 0;
    let which = 'address' as 'invitation' | 'address';
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome.status === 'fulfilled') continue;
      if (!(outcome.reason instanceof RateLimiterRes)) throw outcome.reason;
      if (outcome.reason.msBeforeNext >= waitMs) {
        waitMs = outcome.reason.msBeforeNext;
        which = spends[i]?.which ?? 'address';
      }
    }
    if (waitMs <= 0) return;
    const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
    throw new DomainError(
      'RATE_LIMITED',
      which === 'invitation'
        ? `Too many attempts with this invitation: wait ${retryAfter} s and try again.`
        : `Too many invitation attempts from your address: wait ${retryAfter} s and try again.`,
      { retryAfter },
    );
  }
}

const limiters = new WeakMap<Redis, InvitationAttemptLimiter>();

/** The limiter of a Redis connection (one per app); without Redis, no limit. */
export function invitationAttemptLimiter(redis: Redis | null): InvitationAttemptLimiter | null {
  if (!redis) return null;
  let limiter = limiters.get(redis);
  if (!limiter) {
    limiter = new InvitationAttemptLimiter(redis);
    limiters.set(redis, limiter);
  }
  return limiter;
}
