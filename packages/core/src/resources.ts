import { orgKey } from './tenancy.js';

// Agents, resources and sharing (SPEC §8): the vocabulary and the rules, without I/O.

export const RESOURCE_TYPES = ['host', 'vm', 'container', 'storage'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

export const RESOURCE_STATUSES = ['online', 'offline', 'running', 'stopped', 'paused', 'degraded', 'unknown'] as const;
export type ResourceStatus = (typeof RESOURCE_STATUSES)[number];

export const SHARE_ROLES = ['viewer', 'editor', 'admin'] as const;
export type ShareRole = (typeof SHARE_ROLES)[number];

export const RESOURCE_LIMITS = {
  /** Resources in one agent report. */
  perReport: 1000,
  name: 200,
  notes: 2000,
  tags: 20,
  tag: 50,
  /** Page size of the resources list. */
  pageMax: 200,
  pageDefault: 50,
} as const;

/** Whether a share of this role lets the receiving org change the resource's settings. */
export function shareAllowsWrite(role: ShareRole): boolean {
  return role === 'editor' || role === 'admin';
}

/** Whether a share of this role lets the receiving org share the resource on. */
export function shareAllowsReshare(role: ShareRole): boolean {
  return role === 'admin';
}

const SHARE_RANK: Record<ShareRole, number> = { viewer: 0, editor: 1, admin: 2 };

/** The strongest of several shares of one resource to one org. */
export function strongestShareRole(roles: readonly ShareRole[]): ShareRole | null {
  let best: ShareRole | null = null;
  for (const role of roles) if (best === null || SHARE_RANK[role] > SHARE_RANK[best]) best = role;
  return best;
}

/**
 * Whether an agent last seen at `lastSeenAt` counts as online at `now`: it reported within
 * `offlineAfterMs`. An agent that never reported is offline.
 */
export function agentOnline(lastSeenAt: Date | null, now: Date, offlineAfterMs: number): boolean {
  return lastSeenAt !== null && now.getTime() - lastSeenAt.getTime() <= offlineAfterMs;
}

/** The pub/sub channel of an org's resource events (`org:{orgId}:resources`). */
export function orgResourcesChannel(orgId: string): string {
  return orgKey(orgId, 'resources');
}
