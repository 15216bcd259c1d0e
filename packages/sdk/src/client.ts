import type { AppRouter } from '@tenantry/api';
import {
  createTRPCClient,
  type HTTPHeaders,
  httpLink,
  httpSubscriptionLink,
  type Operation,
  splitLink,
  type TRPCClient,
  type TRPCLink,
} from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import { EventSource as FetchEventSource } from 'eventsource';
import { TenantryError } from './errors.js';

/** How to reach a Tenantry server. */
export interface ClientOptions {
  /** The server's base URL, e.g. `https://tenantry.example.com` (the same origin as the web app). */
  url: string;
  /**
   * An API token (`tnt_…`), sent as `Authorization: Bearer`. Omit it in a browser page on the
   * Tenantry origin to act with the signed-in session cookie instead.
   */
  token?: string;
  /**
   * The organization (id or slug) calls act in, sent as `X-Org-Id`. Default: the token's or
   * session's active organization. Change it with `withOrg()` or per call.
   */
  org?: string | null;
  /** A `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
  /**
   * The EventSource class for subscriptions. Default: the `eventsource` package, which works in
   * Node (which has none) and in browsers, and can send the bearer token and org header.
   */
  EventSource?: typeof FetchEventSource;
  /** Extra headers for every request (e.g. a request id). */
  headers?: Record<string, string>;
  /** `fetch` credentials mode; `include` for a browser page on another origin than the server. */
  credentials?: 'omit' | 'same-origin' | 'include';
}

/** Per-call options: `client.org.current.query(undefined, { context: { org: 'acme' } })`. */
export interface CallContext {
  /** The organization (id or slug) of this call only. */
  org?: string | null;
  [key: string]: unknown;
}

/** What a client adds to the typed procedures. */
export interface ClientExtras<TRouter extends AnyRouter> {
  /** A client like this one acting in `org` (id or slug); `null` for the caller's active organization. */
  withOrg(org: string | null): TenantryClient<TRouter>;
  /** The organization this client acts in, or null for the active one. */
  readonly activeOrg: string | null;
  /** The server's base URL. */
  readonly baseUrl: string;
}

/**
 * The typed client: every procedure of the API by its router path
 * (`client.orgs.list.query()`, `client.members.add.mutate({...})`,
 * `client.resources.live.subscribe(input, { onData })`), plus `withOrg()`.
 */
export type TenantryClient<TRouter extends AnyRouter = AppRouter> = TRPCClient<TRouter> & ClientExtras<TRouter>;

const EXTRAS = new Set<PropertyKey>(['withOrg', 'activeOrg', 'baseUrl', 'then']);

/** Rejects every failed call with a TenantryError carrying the stable code. */
function tenantryErrors<TRouter extends AnyRouter>(): TRPCLink<TRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) =>
        next(op).subscribe({
          next: (value) => observer.next(value),
          error: (error) => observer.error(TenantryError.fromUnknown<TRouter>(error)),
          complete: () => observer.complete(),
        }),
      );
}

function trimBase(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}

/**
 * A typed client for the Tenantry API (see the package README):
 *
 * ```ts
 * const client = createClient({ url: 'https://tenantry.example.com', token: process.env.TENANTRY_TOKEN });
 * const { orgs } = await client.orgs.list.query();
 * const acme = client.withOrg('acme');
 * const current = await acme.org.current.query();
 * ```
 *
 * Calls are not batched, so each carries its own organization. Subscriptions run over
 * Server-Sent Events.
 */
export function createClient<TRouter extends AnyRouter = AppRouter>(options: ClientOptions): TenantryClient<TRouter> {
  const baseUrl = trimBase(options.url);
  const activeOrg = options.org ?? null;
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const credentials = options.credentials;

  const headersFor = (op: Operation): Record<string, string> => {
    const context = op.context as CallContext;
    const org = context.org !== undefined ? context.org : activeOrg;
    return {
      ...options.headers,
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(org ? { 'x-org-id': org } : {}),
    };
  };
  const fetchWithCredentials: typeof fetch = (input, init) =>
    fetchImpl(input, credentials ? { ...init, credentials } : init);

  // The links are built for any router (no transformer: the API speaks plain JSON).
  const transport: TRPCLink<AnyRouter> = splitLink({
    condition: (op) => op.type === 'subscription',
    true: httpSubscriptionLink({
      url: `${baseUrl}/trpc`,
      EventSource: options.EventSource ?? FetchEventSource,
      eventSourceOptions: ({ op }) => ({
        withCredentials: credentials === 'include',
        fetch: (input, init) =>
          fetchWithCredentials(input as string, {
            ...(init as RequestInit),
            headers: { ...(init?.headers as Record<string, string> | undefined), ...headersFor(op) },
          }),
      }),
    }),
    false: httpLink({
      url: `${baseUrl}/trpc`,
      headers: ({ op }): HTTPHeaders => headersFor(op),
      fetch: fetchWithCredentials as never,
    }),
  });
  const trpc = createTRPCClient<TRouter>({
    links: [tenantryErrors<TRouter>(), transport as unknown as TRPCLink<TRouter>],
  });

  const extras: ClientExtras<TRouter> = {
    withOrg: (org) => createClient<TRouter>({ ...options, org }),
    activeOrg,
    baseUrl,
  };
  return new Proxy(trpc as object, {
    get(target, prop, receiver) {
      // `then` stays undefined so that a client is never mistaken for a promise.
      if (EXTRAS.has(prop)) return (extras as unknown as Record<PropertyKey, unknown>)[prop];
      return Reflect.get(target, prop, receiver);
    },
  }) as TenantryClient<TRouter>;
}
