import { createHash, randomBytes } from 'node:crypto';
import type {} from '@fastify/cookie';
import type { Db } from '@tenantry/db';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { DevInboxReader } from './dev-inbox.js';
import type { ApiEnv } from './env.js';
import { createJobQueues, type JobQueues } from './jobs.js';
import type { LicenseService } from './license.js';
import { type LiveHub, liveHubFor } from './live.js';

/** Name of the browser session cookie. */
export const SESSION_COOKIE = 'tenantry_session';

/** A new session token: 256 random bits, base64url. Only its hash is stored. */
export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The stored form of a session (or other bearer) token: sha256, hex. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Sets and clears the session cookie on whatever carries the response. */
export interface SessionCookieJar {
  set(token: string, expiresAt: Date): void;
  clear(): void;
}

/** What every procedure sees before authentication. */
export interface Context {
  db: Db;
  env: ApiEnv;
  license: LicenseService;
  log: FastifyBaseLogger;
  /** The raw session token from the cookie, if any. */
  sessionToken: string | null;
  /** The raw token of `Authorization: Bearer …` (API or agent token), if any. */
  bearerToken: string | null;
  /** The raw `X-Org-Id` header, if any. */
  orgHeader: string | null;
  ip: string | null;
  userAgent: string | null;
  cookies: SessionCookieJar;
  /** Redis (rate limits, caches, live events); null when the app runs without it. */
  redis: Redis | null;
  /** Producers of the worker's queues (no-ops answering null without Redis). */
  queues: JobQueues;
  /** Live events (Redis pub/sub across processes; in memory without Redis). */
  live: LiveHub;
  /** The development inbox of `pnpm start` without SMTP_URL; null everywhere else. */
  devInbox: DevInboxReader | null;
  /** Sets a response header (e.g. `Retry-After`); a no-op for in-process callers. */
  setHeader(name: string, value: string): void;
  /** The Fastify request, absent for in-process callers (`createCaller`). */
  req: FastifyRequest | null;
  /**
   * Adds bindings (user id, org id) to this request's logger, including Fastify's own
   * "request completed" line; returns the bound logger.
   */
  bindLog(bindings: Record<string, string>): FastifyBaseLogger;
}

/** Long-lived services a context is built from. */
export interface ContextDeps {
  db: Db;
  env: ApiEnv;
  license: LicenseService;
  redis?: Redis | null;
  queues?: JobQueues;
  devInbox?: DevInboxReader | null;
}

/** Whether the request authenticates with `Authorization: Bearer …`. */
export function isBearerRequest(req: FastifyRequest): boolean {
  return /^bearer\s+\S/i.test(req.headers.authorization ?? '');
}

/** The token of `Authorization: Bearer <token>`, or null. */
export function bearerTokenOf(req: FastifyRequest): string | null {
  const match = /^bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match?.[1] ?? null;
}

function header(req: FastifyRequest, name: string): string | null {
  const value = req.headers[name];
  if (Array.isArray(value)) return value.join(', ');
  return value ?? null;
}

/** Cookie attributes: httpOnly, SameSite=Lax, Path=/, Secure when the public URL is https. */
export function sessionCookieOptions(env: ApiEnv, expiresAt?: Date) {
  return {
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: env.PUBLIC_URL.startsWith('https:'),
    path: '/',
    ...(expiresAt ? { expires: expiresAt } : {}),
  };
}

/** Builds the per-request context from a Fastify request (tRPC and REST adapters alike). */
export function createContextFactory(deps: ContextDeps) {
  const redis = deps.redis ?? null;
  const queues = deps.queues ?? createJobQueues(redis);
  return ({ req, res }: { req: FastifyRequest; res: FastifyReply }): Context => {
    const cookies: SessionCookieJar = {
      set(token, expiresAt) {
        void res.setCookie(SESSION_COOKIE, token, sessionCookieOptions(deps.env, expiresAt));
      },
      clear() {
        void res.clearCookie(SESSION_COOKIE, sessionCookieOptions(deps.env));
      },
    };
    return {
      db: deps.db,
      env: deps.env,
      license: deps.license,
      redis,
      queues,
      live: liveHubFor(redis),
      devInbox: deps.devInbox ?? null,
      log: req.log,
      // A bearer request never rides on the cookie too: it is exempt from the CSRF check.
      sessionToken: isBearerRequest(req) ? null : req.cookies?.[SESSION_COOKIE] || null,
      bearerToken: bearerTokenOf(req),
      orgHeader: header(req, 'x-org-id'),
      ip: req.ip ?? null,
      userAgent: header(req, 'user-agent'),
      cookies,
      setHeader(name, value) {
        void res.header(name, value);
      },
      req,
      bindLog(bindings) {
        const log = req.log.child(bindings);
        req.log = log;
        res.log = log;
        return log;
      },
    };
  };
}

/** A context for in-process callers (tests, scripts): no request, cookies kept in memory. */
export function createInnerContext(
  deps: ContextDeps & {
    log: FastifyBaseLogger;
    sessionToken?: string | null;
    bearerToken?: string | null;
    orgHeader?: string | null;
    onCookie?: (token: string | null) => void;
  },
): Context {
  const redis = deps.redis ?? null;
  const ctx: Context = {
    db: deps.db,
    env: deps.env,
    license: deps.license,
    redis,
    queues: deps.queues ?? createJobQueues(redis),
    live: liveHubFor(redis),
    devInbox: deps.devInbox ?? null,
    log: deps.log,
    sessionToken: deps.sessionToken ?? null,
    bearerToken: deps.bearerToken ?? null,
    orgHeader: deps.orgHeader ?? null,
    ip: '127.0.0.1',
    userAgent: 'in-process',
    cookies: {
      set(token) {
        ctx.sessionToken = token;
        deps.onCookie?.(token);
      },
      clear() {
        ctx.sessionToken = null;
        deps.onCookie?.(null);
      },
    },
    setHeader() {},
    req: null,
    bindLog(bindings) {
      ctx.log = ctx.log.child(bindings);
      return ctx.log;
    },
  };
  return ctx;
}
