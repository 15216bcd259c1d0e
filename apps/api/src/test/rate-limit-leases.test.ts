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
  tokens: readonly number[] = [0, 1, 2, 3],
) {
  let ok = 0;
  let refused = 0;
  for (let i = 0; i < n; i++) {
    try {
      await limiter.consume(org, `token:${tokens[i % tokens.length]}`);
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
    // The caller budget is 2 per token (a quarter of 8): each process spends its two tokens'
    // budgets at once, 4 + 4 = the org's 8, every point granted (a refused request also spends
    // a point of the other budget, so the tokens do not meet here).
    const [ra, rb] = await Promise.all([grants(a, org, 4, [0, 1]), grants(b, org, 4, [2, 3])]);
    expect(ra).toEqual({ ok: 4, refused: 0 });
    expect(rb).toEqual({ ok: 4, refused: 0 });
    // The org's budget is spent: a fresh caller is refused in either process.
    expect(await grants(a, org, 1, [4])).toEqual({ ok: 0, refused: 1 });
    expect(await grants(b, org, 1, [5])).toEqual({ ok: 0, refused: 1 });
    await one.del(`org:${org.id}:rl:org`, ...[0, 1, 2, 3, 4, 5].map((i) => `org:${org.id}:rl:token:${i}`));
  });
});
