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
  CONFIRMATION_MISMATCH: {
    status: 400,
    message: "Type the organization's slug in confirm to delete it; nothing was deleted.",
  },
  FEATURE_NOT_LICENSED: {
    status: 400,
    message: 'The license does not include this module, so it cannot be turned on: extend the license first.',
  },
  SHARE_TARGET_INVALID: {
    status: 400,
    message: 'Share with another existing organization: not with this one or with the owner of the resource.',
  },
  LOGO_INVALID: {
    status: 400,
    message: 'The logo must be a PNG, JPEG, GIF or WebP image of at most 256 KB.',
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
  SHARE_ROLE_INSUFFICIENT: {
    status: 403,
    message: 'The share of this resource does not allow this: ask its owner for an editor or admin share.',
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
  ORG_NOT_FOUND: { status: 404, message: 'No organization with that id or slug exists on this server.' },
  DELETION_NOT_FOUND: { status: 404, message: 'No deletion with that id exists, or you did not start it.' },
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
  AGENT_NOT_FOUND: { status: 404, message: 'This organization has no agent with that id: list the agents to find it.' },
  RESOURCE_NOT_FOUND: {
    status: 404,
    message: 'No resource with that id is visible in this organization: it is not yours and not shared with you.',
  },
  SHARE_NOT_FOUND: { status: 404, message: 'This organization has no share with that id: list its shares to find it.' },
  ALERT_RULE_NOT_FOUND: {
    status: 404,
    message: 'This organization has no alert rule with that id: list the rules to find it.',
  },
  SLUG_TAKEN: { status: 409, message: 'That slug is already used by another organization: choose another.' },
  EMAIL_TAKEN: { status: 409, message: 'An account with that email already exists: sign in instead.' },
  AGENT_NAME_TAKEN: { status: 409, message: 'An agent with that name already exists in this organization.' },
  SHARE_EXISTS: {
    status: 409,
    message: 'This resource is already shared with that organization: remove the share first to change its role.',
  },
  ALREADY_MEMBER: { status: 409, message: 'That user is already a member of this organization.' },
  DEFAULT_ORG_PROTECTED: { status: 409, message: 'The default organization cannot be renamed or deleted.' },
  LAST_OWNER: { status: 409, message: 'An organization must keep at least one owner: make someone else owner first.' },
  ADMIN_TENANCY_PROTECTED: {
    status: 409,
    message: 'The admin tenancy cannot be deleted or suspended: make another organization the admin tenancy first.',
  },
  CURRENT_ORG_PROTECTED: {
    status: 409,
    message: 'You are working in this organization: switch to another organization before deleting it.',
  },
  ORG_DELETION_IN_PROGRESS: {
    status: 409,
    message: 'This organization is already scheduled for deletion or being deleted.',
  },
  ORG_NOT_RESTORABLE: {
    status: 409,
    message: 'Only an organization waiting for its deletion can be restored: this deletion has started or is over.',
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
