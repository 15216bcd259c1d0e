import { describe, expect, it } from 'vitest';
import { DomainError } from './errors.js';
import {
  checkAgentLimit,
  checkMemberLimit,
  checkTenantLimit,
  effectiveLimits,
  rateBudgets,
  TIER_LIMITS,
} from './limits.js';
import { invalidOverrides, resolveModules } from './modules.js';

function codeOf(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (error) {
    return error instanceof DomainError ? error.code : 'OTHER';
  }
}

describe('tier limits', () => {
  it('gives the free tier 3 members and 1 agent, enterprise no limits', () => {
    expect(TIER_LIMITS.free).toMatchObject({ maxMembers: 3, maxAgents: 1 });
    expect(effectiveLimits('enterprise')).toMatchObject({ maxMembers: null, maxAgents: null });
  });

  it('lets a platform admin override per org', () => {
    expect(effectiveLimits('free', { maxMembers: 10 })).toEqual({ ...TIER_LIMITS.free, maxMembers: 10 });
    expect(effectiveLimits('pro', { maxAgents: null })).toEqual(TIER_LIMITS.pro);
    expect(effectiveLimits('free', { requestsPerMinute: 5 }).requestsPerMinute).toBe(5);
  });

  it('gives each caller a quarter of the org request budget, never zero', () => {
    expect(rateBudgets({ requestsPerMinute: 1200 })).toEqual({ org: 1200, caller: 300 });
    expect(rateBudgets({ requestsPerMinute: 1 })).toEqual({ org: 1, caller: 1 });
  });

  it('counts members and pending invitations against the member limit', () => {
    expect(codeOf(() => checkMemberLimit({ members: 2, limit: 3 }))).toBeNull();
    expect(codeOf(() => checkMemberLimit({ members: 3, limit: 3 }))).toBe('LIMIT_REACHED');
    expect(codeOf(() => checkMemberLimit({ members: 2, pending: 1, limit: 3 }))).toBe('LIMIT_REACHED');
    expect(codeOf(() => checkMemberLimit({ members: 500, pending: 9, limit: null }))).toBeNull();
  });

  it('names the limit in its message', () => {
    expect(() => checkMemberLimit({ members: 3, limit: 3 })).toThrow(/limited to 3 members/);
    expect(() => checkAgentLimit({ agents: 1, limit: 1 })).toThrow(/limited to 1 agents/);
    expect(() => checkTenantLimit({ tenants: 5, maxTenants: 5 })).toThrow(/allows 5 organizations/);
    expect(codeOf(() => checkTenantLimit({ tenants: 5, maxTenants: null }))).toBeNull();
  });
});

describe('modules', () => {
  it('enables community modules without a license', () => {
    expect(resolveModules([])).toEqual(['agents', 'alerts', 'audit', 'api_tokens']);
  });

  it('adds licensed modules and removes overridden ones', () => {
    expect(resolveModules(['multi_tenant', 'sharing'])).toContain('sharing');
    expect(resolveModules(['sharing'], { alerts: false })).toEqual(['agents', 'audit', 'api_tokens', 'sharing']);
  });

  it('cannot turn on a module the license lacks', () => {
    expect(resolveModules([], { sharing: true })).not.toContain('sharing');
    expect(invalidOverrides([], { sharing: true, alerts: false })).toEqual(['sharing']);
    expect(invalidOverrides(['sharing'], { sharing: true })).toEqual([]);
  });
});
