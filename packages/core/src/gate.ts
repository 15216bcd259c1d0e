import type { ErrorCode } from './errors.js';

/**
 * The gate of SPEC §6, as one pure decision. Checked in this order:
 * 400 malformed org id → 501 flag off → 402 unlicensed → 403 not authorized → allowed.
 * The default organization always passes the flag and license checks.
 */
export interface GateInput {
  /** the org identifier was neither a UUID nor a valid slug */
  malformed: boolean;
  /** the request targets the default organization */
  targetsDefaultOrg: boolean;
  multiTenantEnabled: boolean;
  /** a valid license listing `multi_tenant` is active */
  licensed: boolean;
  /** the caller may act in the org (member, or a token bound to it); false for unknown orgs */
  authorized: boolean;
}

export type DenyReason = 'malformed_org_id' | 'multi_tenant_disabled' | 'license_required' | 'not_authorized';

export type GateDecision =
  | { allow: true }
  | { allow: false; status: 400 | 501 | 402 | 403; code: ErrorCode; reason: DenyReason };

export function decideGate(input: GateInput): GateDecision {
  if (input.malformed) return { allow: false, status: 400, code: 'MALFORMED_ORG_ID', reason: 'malformed_org_id' };
  const tenancy = decideMultiTenantGate({ ...input, targetsDefaultOrg: input.targetsDefaultOrg });
  if (!tenancy.allow) return tenancy;
  if (!input.authorized) return { allow: false, status: 403, code: 'ORG_ACCESS_DENIED', reason: 'not_authorized' };
  return { allow: true };
}

/**
 * The flag and license part alone, for routes that name no single org
 * (`GET/POST /api/orgs`: pass `targetsDefaultOrg: false`).
 */
export function decideMultiTenantGate(
  input: Pick<GateInput, 'targetsDefaultOrg' | 'multiTenantEnabled' | 'licensed'>,
): GateDecision {
  if (input.targetsDefaultOrg) return { allow: true };
  if (!input.multiTenantEnabled) {
    return { allow: false, status: 501, code: 'MULTI_TENANT_DISABLED', reason: 'multi_tenant_disabled' };
  }
  if (!input.licensed) return { allow: false, status: 402, code: 'LICENSE_REQUIRED', reason: 'license_required' };
  return { allow: true };
}

/** Where a request's active organization came from, in the order of SPEC §5. */
export type OrgSource = 'path' | 'header' | 'session' | 'user_default' | 'fallback_default';

export interface ActiveOrgCandidates {
  header?: string | null | undefined;
  sessionOrgId?: string | null | undefined;
  userDefaultOrgId?: string | null | undefined;
  multiTenantEnabled: boolean;
}

/**
 * Picks the org reference for a request: header → session → user's default → `default`.
 * With multi-tenant mode off, stored choices (session, user default) are not consulted, so
 * browsers fall back to the default org; an explicit header still reaches the gate (and 501s).
 */
export function pickActiveOrg(c: ActiveOrgCandidates): { raw: string; source: OrgSource } {
  if (c.header) return { raw: c.header, source: 'header' };
  if (c.multiTenantEnabled && c.sessionOrgId) return { raw: c.sessionOrgId, source: 'session' };
  if (c.multiTenantEnabled && c.userDefaultOrgId) return { raw: c.userDefaultOrgId, source: 'user_default' };
  return { raw: 'default', source: 'fallback_default' };
}
