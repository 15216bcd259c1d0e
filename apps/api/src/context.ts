import { createHash, randomBytes } from 'node:crypto';
import type {} from '@fastify/cookie';
import type { Db } from '@tenantry/db';
import type { Queue } from 'bullmq';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiEnv } from './env.js';
import type { LicenseService } from './license.js';

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
  /** The raw `X-Org-Id` header, if any. */
  orgHeader: string | null;
  ip: string | null;
  userAgent: string | null;
  cookies: SessionCookieJar;
  /** The BullMQ queue of invitation mails; null when Redis is not available (mails stay queued). */
  invitationQueue?: Queue | null;
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
  invitationQueue?: Queue | null;
}

/** Whether the request authenticates with `Authorization: Bearer …`. */
export function isBearerRequest(req: FastifyRequest): boolean {
  return /^bearer\s+\S/i.test(req.headers.authorization ?? '');
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
      ...deps,
      log: req.log,
      // A bearer request never rides on the cookie too: it is exempt from the CSRF check.
      sessionToken: isBearerRequest(req) ? null : req.cookies?.[SESSION_COOKIE] || null,
      orgHeader: header(req, 'x-org-id'),
      ip: req.ip ?? null,
      userAgent: header(req, 'user-agent'),
      cookies,
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
    orgHeader?: string | null;
    onCookie?: (token: string | null) => void;
  },
): Context {
  const ctx: Context = {
    db: deps.db,
    env: deps.env,
    license: deps.license,
    invitationQueue: deps.invitationQueue ?? null,
    log: deps.log,
    sessionToken: deps.sessionToken ?? null,
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
    req: null,
    bindLog(bindings) {
      ctx.log = ctx.log.child(bindings);
      return ctx.log;
    },
  };
  return ctx;
}
