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
 * Throws LIMIT_REACHED unless `adding` more members (default one) fit. At invite time pass the
 * pending invitations too; at accept time pass `pending: 0`. Shadow members are not counted.
 * Adding none (a request that only resends) always fits. The message names the limit and the
 * seats left, so a person knows how many they can still invite.
 */
export function checkMemberLimit({
  members,
  pending = 0,
  limit,
  adding = 1,
}: {
  members: number;
  pending?: number;
  limit: number | null;
  adding?: number;
}): void {
  if (limit === null || adding <= 0 || members + pending + adding <= limit) return;
  const left = Math.max(0, limit - members - pending);
  const seats = left === 0 ? 'has no seat left' : `has ${left} ${left === 1 ? 'seat' : 'seats'} left`;
  const more = adding > 1 ? `, not enough for ${adding} new invitations` : '';
  const fix =
    adding > 1 && left > 0
      ? `invite at most ${left}, remove someone or raise the plan`
      : 'remove someone or raise the plan';
  throw new DomainError(
    'LIMIT_REACHED',
    `This organization is limited to ${limit} members and ${seats} (${members} members, ${pending} pending invitations)${more}: ${fix}.`,
    { limit, members, pending, adding, left },
  );
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
