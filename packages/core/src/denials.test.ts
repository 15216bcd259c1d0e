import { describe, expect, it } from 'vitest';
import { accessDeniedReason, isGateDenial } from './denials.js';
import { ERRORS } from './errors.js';

describe('access denial reasons', () => {
  it('names gate refusals as the gate does', () => {
    expect(accessDeniedReason('ORG_ACCESS_DENIED')).toBe('not_authorized');
    expect(accessDeniedReason('MULTI_TENANT_DISABLED')).toBe('multi_tenant_disabled');
    expect(accessDeniedReason('LICENSE_REQUIRED')).toBe('license_required');
    expect(isGateDenial('LICENSE_REQUIRED')).toBe(true);
    expect(isGateDenial('PERMISSION_DENIED')).toBe(false);
  });

  it('names every other 402, 403 and 501 code after itself', () => {
    expect(accessDeniedReason('PERMISSION_DENIED')).toBe('permission_denied');
    expect(accessDeniedReason('FEATURE_DISABLED')).toBe('feature_disabled');
    expect(accessDeniedReason('ORG_SUSPENDED')).toBe('org_suspended');
    expect(accessDeniedReason('CSRF_REJECTED')).toBe('csrf_rejected');
    expect(accessDeniedReason('SUPERADMIN_REQUIRED')).toBe('superadmin_required');
  });

  it('is null for what is not a denial, and for codes it does not know', () => {
    expect(accessDeniedReason('VALIDATION_FAILED')).toBeNull();
    expect(accessDeniedReason('MALFORMED_ORG_ID')).toBeNull();
    expect(accessDeniedReason('NOT_FOUND')).toBeNull();
    expect(accessDeniedReason('UNAUTHENTICATED')).toBeNull();
    expect(accessDeniedReason('INTERNAL')).toBeNull();
    expect(accessDeniedReason('SOMETHING_ELSE')).toBeNull();
    expect(accessDeniedReason('__proto__')).toBeNull();
  });

  it('has a reason for every denial code core defines', () => {
    for (const [code, { status }] of Object.entries(ERRORS)) {
      if (status === 402 || status === 403 || status === 501) expect(accessDeniedReason(code)).toMatch(/^[a-z_]+$/);
    }
  });
});
