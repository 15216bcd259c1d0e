import { DomainError } from './errors.js';

export const TIERS = ['free', 'pro', 'enterprise'] as const;
export type Tier = (typeof TIERS)[number];

/** `null` means unlimited. */
export interface Limits {
  maxMembers: number | null;
  maxAgents: number | null;
  /** API requests per minute, for the whole org and for each token or address in it. */
  requestsPerMinute: number;
}

export const TIER_LIMITS: Record<Tier, Limits> = {
  free: { maxMembers: 3, maxAgents: 1, requestsPerMinute: 1200 },
  pro: { maxMembers: 25, maxAgents: 20, requestsPerMinute: 6000 },
  enterprise: { maxMembers: null, maxAgents: null, requestsPerMinute: 60000 },
};

/** Per-org overrides a platform admin sets (null or absent: the tier's default). */
export interface LimitOverrides {
  maxMembers?: number | null;
  maxAgents?: number | null;
  requestsPerMinute?: number | null;
}

/** The limits in force for an org: its tier's defaults, overridden per org by a platform admin. */
export function effectiveLimits(tier: Tier, overrides: LimitOverrides = {}): Limits {
  const base = TIER_LIMITS[tier];
  return {
    maxMembers: overrides.maxMembers ?? base.maxMembers,
    maxAgents: overrides.maxAgents ?? base.maxAgents,
    requestsPerMinute: overrides.requestsPerMinute ?? base.requestsPerMinute,
  };
}

/**
 * The two request budgets of an org per minute: the whole org, and each caller (token or
 * address) within it, a quarter of the org's so that one script cannot starve the others.
 */
export function rateBudgets(limits: Pick<Limits, 'requestsPerMinute'>): { org: number; caller: number } {
  const org = Math.max(1, limits.requestsPerMinute);
  return { org, caller: Math.max(1, Math.ceil(org / 4)) };
}

/**
 * Throws LIMIT_REACHED unless one more member fits. At invite time pass the pending
 * invitations too; at accept time pass `pending: 0`. Shadow members are not counted.
 */
export function checkMemberLimit({
  members,
  pending = 0,
  limit,
}: {
  members: number;
  pending?: number;
  limit: number | null;
}): void {
  if (limit !== null && members + pending + 1 > limit) {
    throw new DomainError(
      'LIMIT_REACHED',
      `This organization is limited to ${limit} members (${members} members, ${pending} pending invitations): remove someone or raise the plan.`,
      { limit, members, pending },
    );
  }
}

/** Throws LIMIT_REACHED unless one more agent fits. */
export function checkAgentLimit({ agents, limit }: { agents: number; limit: number | null }): void {
  if (limit !== null && agents + 1 > limit) {
    throw new DomainError(
      'LIMIT_REACHED',
      `This organization is limited to ${limit} agents: remove an agent or raise the plan.`,
      { limit, agents },
    );
  }
}

/** Throws LIMIT_REACHED unless the license allows one more tenant (`maxTenants` null = unlimited). */
export function checkTenantLimit({ tenants, maxTenants }: { tenants: number; maxTenants: number | null }): void {
  if (maxTenants !== null && tenants + 1 > maxTenants) {
    throw new DomainError('LIMIT_REACHED', `The license allows ${maxTenants} organizations and all are in use.`, {
      limit: maxTenants,
      tenants,
    });
  }
}
