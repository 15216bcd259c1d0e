import { UniqueConstraintViolationException } from '@mikro-orm/core';

/** Names of the unique constraints the API maps to stable error codes. */
export const UNIQUE_CONSTRAINTS = {
  userEmail: 'users_email_unique',
  orgSlug: 'organizations_slug_unique',
  membership: 'memberships_pkey',
  adminTenancy: 'organizations_admin_tenancy_unique',
  sessionToken: 'sessions_token_hash_unique',
  /** One pending invitation per email and org (see `InvitationPendingError`). */
  pendingInvitation: 'invitations_pending_email_unique',
} as const;

interface PgErrorLike {
  code?: unknown;
  constraint?: unknown;
  cause?: unknown;
}

// MikroORM wraps driver errors (and copies their fields); PGlite and pg raise their own
// classes. Walk the chain and trust SQLSTATE 23505 wherever it appears.
function findUniqueViolation(err: unknown): PgErrorLike | null {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const e = current as PgErrorLike;
    if (e.code === '23505' || current instanceof UniqueConstraintViolationException) return e;
    current = e.cause;
  }
  return null;
}

/**
 * Whether `err` is a unique violation, optionally of the named constraint (see
 * `UNIQUE_CONSTRAINTS`): the API maps `users_email_unique` to EMAIL_TAKEN and
 * `organizations_slug_unique` to SLUG_TAKEN.
 */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const found = findUniqueViolation(err);
  if (!found) return false;
  if (constraint === undefined) return true;
  return uniqueViolationConstraint(err) === constraint;
}

/** The name of the violated unique constraint, if `err` is a unique violation and says so. */
export function uniqueViolationConstraint(err: unknown): string | null {
  const found = findUniqueViolation(err);
  if (!found) return null;
  if (typeof found.constraint === 'string') return found.constraint;
  // Fall back to the message, which names the constraint on every driver.
  const message = (err as { message?: unknown }).message;
  const match = typeof message === 'string' ? /unique constraint "([^"]+)"/.exec(message) : null;
  return match?.[1] ?? null;
}
