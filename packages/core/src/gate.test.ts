import { describe, expect, it } from 'vitest';
import { decideGate, decideMultiTenantGate, type GateInput, pickActiveOrg } from './gate.js';

const open: GateInput = {
  malformed: false,
  targetsDefaultOrg: false,
  multiTenantEnabled: true,
  licensed: true,
  authorized: true,
};

describe('the gate', () => {
  it('allows a member of a licensed org with the flag on', () => {
    expect(decideGate(open)).toEqual({ allow: true });
  });

  it('checks in the order 400 → 501 → 402 → 403', () => {
    const worst: GateInput = {
      malformed: true,
      targetsDefaultOrg: false,
      multiTenantEnabled: false,
      licensed: false,
      authorized: false,
    };
    expect(decideGate(worst)).toMatchObject({ status: 400, code: 'MALFORMED_ORG_ID' });
    expect(decideGate({ ...worst, malformed: false })).toMatchObject({ status: 501, code: 'MULTI_TENANT_DISABLED' });
    expect(decideGate({ ...worst, malformed: false, multiTenantEnabled: true })).toMatchObject({
      status: 402,
      code: 'LICENSE_REQUIRED',
    });
    expect(decideGate({ ...worst, malformed: false, multiTenantEnabled: true, licensed: true })).toMatchObject({
      status: 403,
      code: 'ORG_ACCESS_DENIED',
      reason: 'not_authorized',
    });
  });

  it('lets the default org through with the flag off and no license, but still needs membership', () => {
    const base = { ...open, targetsDefaultOrg: true, multiTenantEnabled: false, licensed: false };
    expect(decideGate(base)).toEqual({ allow: true });
    expect(decideGate({ ...base, authorized: false })).toMatchObject({ status: 403 });
  });

  it('gates the org collection on flag and license only', () => {
    const collection = { targetsDefaultOrg: false };
    expect(decideMultiTenantGate({ ...collection, multiTenantEnabled: false, licensed: true })).toMatchObject({
      status: 501,
    });
    expect(decideMultiTenantGate({ ...collection, multiTenantEnabled: true, licensed: false })).toMatchObject({
      status: 402,
    });
    expect(decideMultiTenantGate({ ...collection, multiTenantEnabled: true, licensed: true })).toEqual({ allow: true });
  });
});

describe('active org resolution', () => {
  it('prefers header, then session, then the user default, then default', () => {
    const all = { header: 'h', sessionOrgId: 's', userDefaultOrgId: 'u', multiTenantEnabled: true };
    expect(pickActiveOrg(all)).toEqual({ raw: 'h', source: 'header' });
    expect(pickActiveOrg({ ...all, header: null })).toEqual({ raw: 's', source: 'session' });
    expect(pickActiveOrg({ ...all, header: null, sessionOrgId: null })).toEqual({ raw: 'u', source: 'user_default' });
    expect(pickActiveOrg({ multiTenantEnabled: true })).toEqual({ raw: 'default', source: 'fallback_default' });
  });

  it('ignores stored choices with multi-tenant off, but keeps an explicit header', () => {
    expect(pickActiveOrg({ sessionOrgId: 's', userDefaultOrgId: 'u', multiTenantEnabled: false })).toEqual({
      raw: 'default',
      source: 'fallback_default',
    });
    expect(pickActiveOrg({ header: 'acme', sessionOrgId: 's', multiTenantEnabled: false })).toEqual({
      raw: 'acme',
      source: 'header',
    });
  });
});
