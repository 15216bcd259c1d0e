import { ERRORS, type ErrorCode } from './errors.js';
import type { DenyReason } from './gate.js';

/** Statuses that mean "access denied" to operators: forbidden, payment required, not implemented. */
export const DENIAL_STATUSES = [402, 403, 501] as const;

/** The gate's own codes, reported under the gate's reason names (as its warning log does). */
const GATE_REASONS: Partial<Record<ErrorCode, DenyReason>> = {
  MULTI_TENANT_DISABLED: 'multi_tenant_disabled',
  LICENSE_REQUIRED: 'license_required',
  ORG_ACCESS_DENIED: 'not_authorized',
};

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERRORS, code);
}

/**
 * Why a request was denied, as a metrics label (`tenantry_access_denied_total{reason}`), or
 * null when the code is not a denial (validation, not found, server error, unknown codes).
 * Gate refusals keep the gate's names (`not_authorized`, `multi_tenant_disabled`,
 * `license_required`); every other 402/403/501 code is its own name in lower case
 * (`permission_denied`, `feature_disabled`, `org_suspended`, `csrf_rejected`, …), so the set of
 * labels is bounded by `ERRORS`.
 */
export function accessDeniedReason(code: string): string | null {
  if (!isErrorCode(code)) return null;
  if (!(DENIAL_STATUSES as readonly number[]).includes(ERRORS[code].status)) return null;
  return GATE_REASONS[code] ?? code.toLowerCase();
}

/** Whether a denial code is one the tenant gate decides (and logs itself). */
export function isGateDenial(code: string): boolean {
  return isErrorCode(code) && GATE_REASONS[code] !== undefined;
}
