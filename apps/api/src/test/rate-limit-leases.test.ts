import { randomUUID } from 'node:crypto';
import { isDomainError } from '@tenantry/core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaseSize, OrgRateLimiter } from '../rate-limit.js';

// Rate budgets are leased from Redis a few points at a time; two processes (two limiters on
// two connections) together never grant more than the budget.

let one: Redis;
let two: Redis;

beforeAll(async () => {
  one = new Redis('redis://127.0.0.1:6379');
  two = new Redis('redis://127.0.0.1:6379');
  // Until a connection is ready the limiter falls back to its in-process insurance.
  await Promise.all([one.ping(), two.ping()]);
});

afterAll(async () => {
  one.disconnect();
  two.disconnect();
});

async function grants(
  limiter: OrgRateLimiter,
  org: { id: string; tier: 'free'; maxRequestsPerMinute: number },
  n: number,
) {
  let ok = 0;
  let refused = 0;
  for (let i = 0; i < n; i++) {
    try {
      await limiter.consume(org, `token:${i % 4}`);
      ok++;
    } catch (error) {
      if (!isDomainError(error) || error.code !== 'RATE_LIMITED') throw error;
      refused++;
    }
  }
  return { ok, refused };
}

describe('leased rate budgets', () => {
  it('take 5% of a budget per lease, at most 50, and single points for small budgets', () => {
    expect(leaseSize(8)).toBe(1);
    expect(leaseSize(39)).toBe(1);
    expect(leaseSize(400)).toBe(20);
    expect(leaseSize(60_000)).toBe(50);
  });

  it('never grant more than the budget across processes, and grant all of it', async () => {
    const org = { id: randomUUID(), tier: 'free' as const, maxRequestsPerMinute: 400 };
    const a = new OrgRateLimiter(one);
    const b = new OrgRateLimiter(two);
    const [ra, rb] = await Promise.all([grants(a, org, 300), grants(b, org, 300)]);
    expect(ra.ok + rb.ok).toBeLessThanOrEqual(400);
    // Each process may hold back at most one lease of the org budget (20) unspent.
    expect(ra.ok + rb.ok).toBeGreaterThanOrEqual(400 - 2 * leaseSize(400));
    expect(ra.refused + rb.refused).toBe(600 - ra.ok - rb.ok);
    await one.del(`org:${org.id}:rl:org`, ...[0, 1, 2, 3].map((i) => `org:${org.id}:rl:token:${i}`));
  });

  it('counts small budgets exactly', async () => {
    const org = { id: randomUUID(), tier: 'free' as const, maxRequestsPerMinute: 8 };
    const a = new OrgRateLimiter(one);
    const b = new OrgRateLimiter(two);
    const [ra, rb] = await Promise.all([grants(a, org, 10), grants(b, org, 10)]);
    // The caller budget is 2 per token (a quarter of 8): 4 tokens × 2 = the org's 8.
    expect(ra.ok + rb.ok).toBe(8);
  });
});
