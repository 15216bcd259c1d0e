import { describe, expect, it } from 'vitest';
import { usageReport } from './usage.js';

describe('usage against limits', () => {
  it('counts pending invitations against the member limit of the tier', () => {
    const report = usageReport('free', {}, { members: 2, pendingInvitations: 1, agents: 0, resources: 12 });
    expect(report.limits).toMatchObject({ maxMembers: 3, maxAgents: 1 });
    expect(report.members).toEqual({ used: 3, limit: 3, fraction: 1, atLimit: true });
    expect(report.agents).toEqual({ used: 0, limit: 1, fraction: 0, atLimit: false });
    expect(report.pendingInvitations).toBe(1);
    expect(report.resources).toBe(12);
  });

  it('applies per-org overrides, and reports unlimited as no fraction', () => {
    const report = usageReport(
      'free',
      { maxMembers: 10, maxAgents: null },
      {
        members: 5,
        pendingInvitations: 0,
        agents: 4,
        resources: 0,
      },
    );
    expect(report.members).toEqual({ used: 5, limit: 10, fraction: 0.5, atLimit: false });
    // null falls back to the tier's default (free: 1 agent)
    expect(report.agents.limit).toBe(1);
    expect(
      usageReport('enterprise', {}, { members: 50, pendingInvitations: 0, agents: 9, resources: 0 }).agents,
    ).toEqual({ used: 9, limit: null, fraction: null, atLimit: false });
  });
});
