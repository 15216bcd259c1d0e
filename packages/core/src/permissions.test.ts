import { describe, expect, it } from 'vitest';
import {
  can,
  canPlatform,
  minRole,
  ORG_ROLES,
  type OrgRole,
  type Permission,
  permissionsOf,
  roleAtLeast,
  STATEMENTS,
} from './permissions.js';

const ALL = Object.entries(STATEMENTS).flatMap(([r, actions]) => actions.map((a) => `${r}.${a}` as Permission));

/** The whole role × permission table, written out so a change to a grant is a visible diff. */
const EXPECTED: Record<Permission, OrgRole[]> = {
  'org.read': ['owner', 'admin', 'editor', 'viewer'],
  'org.update': ['owner', 'admin'],
  'org.delete': ['owner'],
  'org.transfer': ['owner'],
  'members.read': ['owner', 'admin', 'editor', 'viewer'],
  'members.add': ['owner', 'admin'],
  'members.update': ['owner', 'admin'],
  'members.remove': ['owner', 'admin'],
  'invitations.read': ['owner', 'admin'],
  'invitations.create': ['owner', 'admin'],
  'invitations.revoke': ['owner', 'admin'],
  'shares.read': ['owner', 'admin', 'editor', 'viewer'],
  'shares.create': ['owner', 'admin'],
  'shares.remove': ['owner', 'admin'],
  'resources.read': ['owner', 'admin', 'editor', 'viewer'],
  'resources.write': ['owner', 'admin', 'editor'],
  'agents.read': ['owner', 'admin', 'editor', 'viewer'],
  'agents.register': ['owner', 'admin'],
  'agents.remove': ['owner', 'admin'],
  'alerts.read': ['owner', 'admin', 'editor', 'viewer'],
  'alerts.write': ['owner', 'admin', 'editor'],
  'audit.read': ['owner', 'admin'],
  'tokens.create': ['owner', 'admin', 'editor', 'viewer'],
  'usage.read': ['owner', 'admin'],
};

describe('the role × permission table', () => {
  it('declares every permission of the statement map', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...ALL].sort());
  });

  for (const permission of ALL) {
    for (const role of ORG_ROLES) {
      const granted = EXPECTED[permission].includes(role);
      it(`${granted ? 'grants' : 'refuses'} ${permission} to ${role}`, () => {
        expect(can(role, permission)).toBe(granted);
      });
    }
  }

  it('lists a role’s permissions consistently with can()', () => {
    for (const role of ORG_ROLES) {
      expect(permissionsOf(role)).toEqual(ALL.filter((p) => can(role, p)));
    }
  });
});

describe('role ranks', () => {
  it('orders owner > admin > editor > viewer', () => {
    expect(roleAtLeast('owner', 'admin')).toBe(true);
    expect(roleAtLeast('admin', 'owner')).toBe(false);
    expect(roleAtLeast('editor', 'editor')).toBe(true);
    expect(roleAtLeast('viewer', 'editor')).toBe(false);
    expect(minRole('owner', 'editor')).toBe('editor');
    expect(minRole('viewer', 'admin')).toBe('viewer');
  });
});

describe('platform permissions', () => {
  it('belong to superadmins only', () => {
    for (const p of ['tenants.manage', 'license.manage', 'jobs.view'] as const) {
      expect(canPlatform('superadmin', p)).toBe(true);
      expect(canPlatform('user', p)).toBe(false);
    }
  });
});
