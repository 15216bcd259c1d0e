import { effectiveLimits, type LimitOverrides, type Limits, type Tier } from './limits.js';

/** What an org uses (SPEC §9); shadow memberships are not members. */
export interface UsageCounts {
  members: number;
  pendingInvitations: number;
  agents: number;
  resources: number;
}

/** One measured quantity against its limit (`limit` null = unlimited). */
export interface UsageItem {
  used: number;
  limit: number | null;
  /** used / limit (0–1, capped), null when unlimited. */
  fraction: number | null;
  /** No more fits: inviting, adding or registering one more answers LIMIT_REACHED. */
  atLimit: boolean;
}

/** An org's usage against the limits in force. */
export interface UsageReport {
  tier: Tier;
  limits: Limits;
  /** Members plus pending invitations count against the member limit. */
  members: UsageItem;
  agents: UsageItem;
  pendingInvitations: number;
  resources: number;
}

function item(used: number, limit: number | null): UsageItem {
  return {
    used,
    limit,
    fraction: limit === null ? null : limit === 0 ? 1 : Math.min(1, used / limit),
    atLimit: limit !== null && used >= limit,
  };
}

/** The usage report of an org of `tier` with its per-org overrides. */
export function usageReport(tier: Tier, overrides: LimitOverrides, counts: UsageCounts): UsageReport {
  const limits = effectiveLimits(tier, overrides);
  return {
    tier,
    limits,
    members: item(counts.members + counts.pendingInvitations, limits.maxMembers),
    agents: item(counts.agents, limits.maxAgents),
    pendingInvitations: counts.pendingInvitations,
    resources: counts.resources,
  };
}
