/**
 * Stable error codes. Clients branch on `code`, never on message text; the status is the
 * HTTP status the API answers with and the message is the default a person can act on.
 */
export const ERRORS = {
  VALIDATION_FAILED: { status: 400, message: 'The request is not valid: check the fields named in issues.' },
  MALFORMED_ORG_ID: {
    status: 400,
    message: 'The organization identifier is malformed: use an organization id (UUID) or slug.',
  },
  ORG_CONTEXT_CONFLICT: {
    status: 400,
    message: 'The X-Org-Id header names a different organization than the path: send one or make them match.',
  },
  LICENSE_INVALID: {
    status: 400,
    message: 'The license key is not valid: it is malformed, tampered with or signed by another key.',
  },
  LICENSE_EXPIRED: {
    status: 400,
    message: 'The license key has expired: ask your license provider for a renewed key.',
  },
  UNAUTHENTICATED: { status: 401, message: 'Sign in first, or send a valid bearer token.' },
  INVALID_CREDENTIALS: { status: 401, message: 'The email or password is wrong.' },
  LICENSE_REQUIRED: { status: 402, message: 'Multi-tenant requires an Enterprise license.' },
  ORG_ACCESS_DENIED: { status: 403, message: 'You do not have access to this organization.' },
  PERMISSION_DENIED: { status: 403, message: 'Your role in this organization does not allow this action.' },
  OWNERSHIP_REQUIRED: { status: 403, message: 'Only an owner of the organization can do this.' },
  SUPERADMIN_REQUIRED: { status: 403, message: 'Only a platform administrator can do this.' },
  ORG_CREATION_RESTRICTED: {
    status: 403,
    message: 'Only platform administrators may create organizations on this server.',
  },
  SIGNUP_CLOSED: {
    status: 403,
    message: 'Sign-up is by invitation only on this server: ask an administrator to invite you.',
  },
  CSRF_REJECTED: {
    status: 403,
    message: 'Cross-site request refused: send the request from the Tenantry web app or use a bearer token.',
  },
  ORG_SUSPENDED: { status: 403, message: 'This organization is suspended: contact your platform administrator.' },
  ORG_DELETION_PENDING: {
    status: 403,
    message:
      'This organization is scheduled for deletion: an owner or a platform administrator can restore it until the deletion starts.',
  },
  TOKEN_NOT_ALLOWED: {
    status: 403,
    message: 'API tokens cannot do this: sign in to the web app with your account instead.',
  },
  FEATURE_DISABLED: { status: 403, message: 'This module is not enabled for this organization.' },
  LIMIT_REACHED: { status: 403, message: 'The organization has reached its limit.' },
  INVITATION_EMAIL_MISMATCH: {
    status: 403,
    message: 'This invitation was sent to another email address than the one you are signed in with.',
  },
  NOT_FOUND: { status: 404, message: 'Not found.' },
  METRICS_DISABLED: {
    status: 404,
    message: 'Metrics are not served here: set METRICS_TOKEN, or METRICS_PORT for an internal metrics listener.',
  },
  INVITATION_NOT_FOUND: {
    status: 404,
    message: 'This invitation link is not valid: check that you copied the whole link, or ask for a new invitation.',
  },
  USER_NOT_FOUND: { status: 404, message: 'No user with that id or email exists: invite them instead.' },
  MEMBER_NOT_FOUND: { status: 404, message: 'That user is not a member of this organization.' },
  SLUG_TAKEN: { status: 409, message: 'That slug is already used by another organization: choose another.' },
  EMAIL_TAKEN: { status: 409, message: 'An account with that email already exists: sign in instead.' },
  ALREADY_MEMBER: { status: 409, message: 'That user is already a member of this organization.' },
  DEFAULT_ORG_PROTECTED: { status: 409, message: 'The default organization cannot be renamed or deleted.' },
  LAST_OWNER: { status: 409, message: 'An organization must keep at least one owner: make someone else owner first.' },
  ORG_DELETION_UNAVAILABLE: {
    status: 409,
    message: 'Deleting organizations is not available on this server yet; nothing was deleted.',
  },
  INVITATION_EXPIRED: {
    status: 410,
    message: 'This invitation has expired: ask an administrator of the organization to resend it.',
  },
  INVITATION_REVOKED: { status: 410, message: 'This invitation was revoked by an administrator of the organization.' },
  INVITATION_USED: {
    status: 410,
    message: 'This invitation has already been accepted: sign in to reach the organization.',
  },
  RATE_LIMITED: { status: 429, message: 'Too many requests: wait and try again.' },
  INTERNAL: { status: 500, message: 'Something went wrong on the server; the request was not completed.' },
  MULTI_TENANT_DISABLED: { status: 501, message: 'Multi-tenant is not enabled on this server' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** A refusal decided by a tenancy rule; the API turns it into its status and `{code, message}`. */
export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>) {
    super(message ?? ERRORS[code].message);
    this.name = 'DomainError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = details;
  }
}

/** True when `value` is a DomainError (also across package copies). */
export function isDomainError(value: unknown): value is DomainError {
  return value instanceof DomainError || (value instanceof Error && value.name === 'DomainError' && 'code' in value);
}

export function statusOf(code: ErrorCode): number {
  return ERRORS[code].status;
}
