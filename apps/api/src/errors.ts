import { type DomainError, ERRORS, type ErrorCode, isDomainError } from '@tenantry/core';
import { UNIQUE_CONSTRAINTS, uniqueViolationConstraint } from '@tenantry/db';
import { TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';

/** A compact validation issue: where, what, and zod's issue code. */
export interface ApiIssue {
  path: (string | number)[];
  message: string;
  code: string;
}

/** What every error looks like to clients, over tRPC (`error.data`) and REST (the body). */
export interface ApiErrorBody {
  code: string;
  message: string;
  issues?: ApiIssue[];
}

const TRPC_CODE_BY_STATUS: Record<number, TRPC_ERROR_CODE_KEY> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  402: 'PAYMENT_REQUIRED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_SERVER_ERROR',
  501: 'NOT_IMPLEMENTED',
};

/**
 * Stable codes for transport-level refusals that no tenancy rule raises (tRPC's own codes,
 * already UPPER_SNAKE), with the HTTP status they answer.
 */
const TRANSPORT_CODES: Partial<Record<TRPC_ERROR_CODE_KEY, { code: string; status: number; message: string }>> = {
  PARSE_ERROR: { code: 'VALIDATION_FAILED', status: 400, message: 'The request body is not valid JSON.' },
  BAD_REQUEST: { code: 'VALIDATION_FAILED', status: 400, message: ERRORS.VALIDATION_FAILED.message },
  UNAUTHORIZED: { code: 'UNAUTHENTICATED', status: 401, message: ERRORS.UNAUTHENTICATED.message },
  FORBIDDEN: { code: 'PERMISSION_DENIED', status: 403, message: ERRORS.PERMISSION_DENIED.message },
  NOT_FOUND: { code: 'NOT_FOUND', status: 404, message: ERRORS.NOT_FOUND.message },
  METHOD_NOT_SUPPORTED: {
    code: 'METHOD_NOT_SUPPORTED',
    status: 405,
    message: 'This path does not accept that HTTP method.',
  },
  PAYLOAD_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', status: 413, message: 'The request body is larger than 1 MB.' },
  UNSUPPORTED_MEDIA_TYPE: {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    status: 415,
    message: 'Send the request body as JSON with Content-Type: application/json.',
  },
  TOO_MANY_REQUESTS: { code: 'RATE_LIMITED', status: 429, message: ERRORS.RATE_LIMITED.message },
  CLIENT_CLOSED_REQUEST: { code: 'CLIENT_CLOSED_REQUEST', status: 499, message: 'The client closed the request.' },
};

/** The tRPC code whose HTTP status is closest to `status`. */
export function trpcCodeForStatus(status: number): TRPC_ERROR_CODE_KEY {
  return TRPC_CODE_BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST');
}

/** Turns a DomainError into the TRPCError that carries it (status from core, code kept as cause). */
export function toTRPCError(error: DomainError): TRPCError {
  return new TRPCError({
    code: trpcCodeForStatus(error.status),
    message: error.message,
    cause: error,
  });
}

interface ZodLikeIssue {
  path: PropertyKey[];
  message: string;
  code: string;
}

function isZodError(value: unknown): value is Error & { issues: ZodLikeIssue[] } {
  return value instanceof Error && value.name === 'ZodError' && Array.isArray((value as { issues?: unknown }).issues);
}

/** `invitations[3].email`: where an issue is, as a person reads a path into the input. */
function issuePath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/**
 * The message of an input validation error: the first issue, where it is (an item of a list
 * by its index), and how many more the `issues` list holds.
 */
export function validationMessage(issues: readonly ApiIssue[]): string {
  const [first] = issues;
  if (!first) return ERRORS.VALIDATION_FAILED.message;
  const where = first.path.length > 0 ? `${issuePath(first.path)}: ` : '';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more, listed in issues)` : '';
  return `The request is not valid: ${where}${first.message.replace(/\.$/, '')}${more}.`;
}

/** Unique violations that lost a race with the resolver's own check, by constraint. */
const UNIQUE_CODES: Record<string, ErrorCode> = {
  [UNIQUE_CONSTRAINTS.orgSlug]: 'SLUG_TAKEN',
  [UNIQUE_CONSTRAINTS.userEmail]: 'EMAIL_TAKEN',
  [UNIQUE_CONSTRAINTS.membership]: 'ALREADY_MEMBER',
};

/** The stable body and HTTP status for any error a procedure or the transport raised. */
export function describeError(error: TRPCError): ApiErrorBody & { status: number } {
  const cause = error.cause;
  if (isDomainError(cause)) return { code: cause.code, message: cause.message, status: cause.status };
  // Input validation only: a failed *output* check is a server bug and stays a 500.
  if (isZodError(cause) && error.code === 'BAD_REQUEST') {
    const issues = cause.issues.map((i) => ({
      path: i.path.map((p) => (typeof p === 'number' ? p : String(p))),
      message: i.message,
      code: i.code,
    }));
    return { code: 'VALIDATION_FAILED', message: validationMessage(issues), status: 400, issues };
  }
  const unique = UNIQUE_CODES[uniqueViolationConstraint(cause) ?? ''];
  if (unique) return { code: unique, message: ERRORS[unique].message, status: ERRORS[unique].status };
  const transport = TRANSPORT_CODES[error.code];
  if (transport) {
    // tRPC's own messages for these are written for people (e.g. "No procedure found …").
    const ownMessage = error.message && error.message !== error.code ? error.message : transport.message;
    return { code: transport.code, message: ownMessage, status: transport.status };
  }
  return { code: 'INTERNAL', message: ERRORS.INTERNAL.message, status: 500 };
}
