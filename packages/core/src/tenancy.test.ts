import { describe, expect, it } from 'vitest';
import { DomainError } from './errors.js';
import { assertOrgServes, assertTokenBinding, orgKey, orgKeyPattern, orgServes, tokenRole } from './tenancy.js';

function codeOf(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (error) {
    return error instanceof DomainError ? error.code : 'OTHER';
  }
}

describe('org status', () => {
  it('serves data only while active', () => {
    expect(codeOf(() => assertOrgServes('active'))).toBeNull();
    expect(codeOf(() => assertOrgServes('suspended'))).toBe('ORG_SUSPENDED');
    expect(codeOf(() => assertOrgServes('pending_deletion'))).toBe('ORG_DELETION_PENDING');
    expect(codeOf(() => assertOrgServes('deleting'))).toBe('ORG_DELETION_PENDING');
    expect(orgServes('active')).toBe(true);
    expect(orgServes('suspended')).toBe(false);
  });
});

describe('API token roles', () => {
  it('act with the weaker of the binding and the member role', () => {
    expect(tokenRole('owner', 'viewer')).toBe('viewer');
    expect(tokenRole('viewer', 'admin')).toBe('viewer');
    expect(tokenRole('editor', 'editor')).toBe('editor');
  });

  it('cannot be bound with more than the member role', () => {
    expect(codeOf(() => assertTokenBinding({ memberRole: 'admin', requested: 'admin' }))).toBeNull();
    expect(codeOf(() => assertTokenBinding({ memberRole: 'admin', requested: 'viewer' }))).toBeNull();
    expect(codeOf(() => assertTokenBinding({ memberRole: 'editor', requested: 'admin' }))).toBe('PERMISSION_DENIED');
  });
});

describe('org keys', () => {
  it('start with org:{orgId}: and the sweep pattern matches them', () => {
    const id = '3f1e0c9a-0000-4000-8000-000000000001';
    expect(orgKey(id, 'resources')).toBe(`org:${id}:resources`);
    expect(orgKey(id, 'rl', 'token', 'x')).toBe(`org:${id}:rl:token:x`);
    expect(orgKeyPattern(id)).toBe(`org:${id}:*`);
  });
});
