import { describe, expect, it } from 'vitest';
import {
  agentOnline,
  orgResourcesChannel,
  shareAllowsReshare,
  shareAllowsWrite,
  strongestShareRole,
} from './resources.js';

describe('resource rules', () => {
  it('lets editor and admin shares change a resource, and only admin shares share it on', () => {
    expect(shareAllowsWrite('viewer')).toBe(false);
    expect(shareAllowsWrite('editor')).toBe(true);
    expect(shareAllowsWrite('admin')).toBe(true);
    expect(shareAllowsReshare('editor')).toBe(false);
    expect(shareAllowsReshare('admin')).toBe(true);
  });

  it('picks the strongest of several shares', () => {
    expect(strongestShareRole([])).toBeNull();
    expect(strongestShareRole(['viewer', 'admin', 'editor'])).toBe('admin');
    expect(strongestShareRole(['viewer', 'editor'])).toBe('editor');
  });

  it('counts an agent offline after the silence, and one that never reported as offline', () => {
    const now = new Date('2026-01-01T00:10:00Z');
    expect(agentOnline(null, now, 60_000)).toBe(false);
    expect(agentOnline(new Date('2026-01-01T00:09:30Z'), now, 60_000)).toBe(true);
    expect(agentOnline(new Date('2026-01-01T00:08:59Z'), now, 60_000)).toBe(false);
  });

  it('namespaces the live channel by org', () => {
    expect(orgResourcesChannel('8a0c')).toBe('org:8a0c:resources');
  });
});
