import type { AppRouter, RouterInputs, RouterOutputs } from '@tenantry/api';
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink, TRPCClientError } from '@trpc/client';

export type { RouterInputs, RouterOutputs };

/**
 * The typed tRPC client. Same-origin: the session cookie travels with every call, and with the
 * Server-Sent Events stream of each subscription (the browser's own EventSource).
 */
export const trpc = createTRPCClient<AppRouter>({
  links: [
    splitLink({
      condition: (op) => op.type === 'subscription',
      true: httpSubscriptionLink({ url: '/trpc' }),
      false: httpBatchLink({
        url: '/trpc',
        fetch: (url, init) => fetch(url, { ...init, credentials: 'same-origin' }),
      }),
    }),
  ],
});

interface ErrorData {
  code?: unknown;
  issues?: { path?: (string | number)[]; message?: string }[];
}

function dataOf(error: unknown): ErrorData | undefined {
  if (error instanceof TRPCClientError) return (error.data ?? undefined) as ErrorData | undefined;
  return undefined;
}

/** The server's stable error code (`LICENSE_REQUIRED`, `SLUG_TAKEN`, …), if the error came from it. */
export function errorCode(error: unknown): string | undefined {
  const code = dataOf(error)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The message to show a person: the server's own words, with validation issues spelled out. */
export function errorMessage(error: unknown): string {
  if (error instanceof TRPCClientError) {
    const data = dataOf(error);
    if (!data) return 'The server could not be reached: check your connection and try again.';
    // The server's message names the first issue already; the others are spelled out here.
    const others = (data.issues ?? [])
      .slice(1)
      .map((i) => (i.path?.length ? `${i.path.join('.')}: ${i.message ?? ''}` : (i.message ?? '')))
      .filter(Boolean);
    return others.length > 0 ? `${error.message} (${others.join('; ')})` : error.message;
  }
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
}

/** Errors that repeating the same request will not fix (any 4xx with a stable code). */
export function isClientError(error: unknown): boolean {
  const data = dataOf(error) as { httpStatus?: unknown } | undefined;
  const status = typeof data?.httpStatus === 'number' ? data.httpStatus : undefined;
  return status !== undefined ? status < 500 : errorCode(error) !== undefined;
}
