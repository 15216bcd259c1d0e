import type { ErrorCode } from '@tenantry/core';
import { TRPCClientError } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';

/** A stable error code of the server (`ORG_ACCESS_DENIED`, `LIMIT_REACHED`, …), or `NETWORK_ERROR`. */
export type TenantryErrorCode = ErrorCode | 'NETWORK_ERROR' | (string & {});

/** What is wrong with one input field (`VALIDATION_FAILED` only). */
export interface TenantryIssue {
  path: (string | number)[];
  message: string;
  code: string;
}

interface ServerErrorData {
  code?: unknown;
  httpStatus?: unknown;
  issues?: unknown;
}

/**
 * Every failed call rejects with a `TenantryError`: branch on `code` (stable, UPPER_SNAKE),
 * never on `message` (written for people). `status` is the HTTP status (0 when the server
 * could not be reached), `issues` lists bad input fields.
 *
 * It is a `TRPCClientError`, so tRPC tooling keeps working with it.
 */
export class TenantryError<TRouter extends AnyRouter = AnyRouter> extends TRPCClientError<TRouter> {
  readonly code: TenantryErrorCode;
  readonly status: number;
  readonly issues: TenantryIssue[];

  constructor(
    message: string,
    opts: { code: TenantryErrorCode; status: number; issues?: TenantryIssue[]; cause?: Error; shape?: unknown },
  ) {
    super(message, {
      cause: opts.cause,
      ...(opts.shape ? { result: { error: opts.shape } as never } : {}),
    });
    // TRPCClientError pins its own prototype; put ours back so `instanceof TenantryError` holds.
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = 'TenantryError';
    this.code = opts.code;
    this.status = opts.status;
    this.issues = opts.issues ?? [];
  }

  /** The TenantryError for any error a call produced (server answers, network failures, aborts). */
  static fromUnknown<TRouter extends AnyRouter = AnyRouter>(error: unknown): TenantryError<TRouter> {
    if (error instanceof TenantryError) return error as TenantryError<TRouter>;
    const data = (error instanceof TRPCClientError ? error.data : undefined) as ServerErrorData | null | undefined;
    const cause = error instanceof Error ? error : undefined;
    const message = cause?.message ?? 'The request failed.';
    if (data && typeof data.code === 'string') {
      return new TenantryError<TRouter>(message, {
        code: data.code,
        status: typeof data.httpStatus === 'number' ? data.httpStatus : 0,
        issues: Array.isArray(data.issues) ? (data.issues as TenantryIssue[]) : [],
        cause,
        shape: error instanceof TRPCClientError ? error.shape : undefined,
      });
    }
    return new TenantryError<TRouter>(`The Tenantry server could not be reached: ${message}`, {
      code: 'NETWORK_ERROR',
      status: 0,
      cause,
    });
  }

  /** The TenantryError of a REST answer `{code, message, issues?}` with its status. */
  static fromRest(status: number, body: unknown): TenantryError {
    const b = (body && typeof body === 'object' ? body : {}) as { code?: unknown; message?: unknown; issues?: unknown };
    return new TenantryError(typeof b.message === 'string' ? b.message : `The server answered ${status}.`, {
      code: typeof b.code === 'string' ? b.code : status >= 500 ? 'INTERNAL' : 'VALIDATION_FAILED',
      status,
      issues: Array.isArray(b.issues) ? (b.issues as TenantryIssue[]) : [],
    });
  }
}

/** Whether `error` is a TenantryError, with `code` when given: `isTenantryError(e, 'LIMIT_REACHED')`. */
export function isTenantryError(error: unknown, code?: TenantryErrorCode): error is TenantryError {
  return error instanceof TenantryError && (code === undefined || error.code === code);
}
