import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import { ERRORS } from '@tenantry/core';
import type { Db } from '@tenantry/db';
import type { TRPCError } from '@trpc/server';
import { fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { fastifyTRPCOpenApiPlugin } from 'trpc-to-openapi';
import { registerAgentReportRoute } from './agent-report.js';
import { registerAuditExportRoute } from './audit-export.js';
import { type Context, createContextFactory, isBearerRequest } from './context.js';
import type { DevInboxReader } from './dev-inbox.js';
import type { ApiEnv } from './env.js';
import { type ApiErrorBody, type ApiIssue, trpcCodeForStatus, validationMessage } from './errors.js';
import { createJobQueues } from './jobs.js';
import { registerLeanResourcesRoute } from './lean-resources.js';
import { LicenseService } from './license.js';
import { closeLiveHub } from './live.js';
import { createLogger, LOG_SERIALIZERS, REDACT_PATHS } from './logger.js';
import { registerLogoRoute } from './logo-route.js';
import { restSuccessStatus } from './openapi.js';

export { createOpenApiDocument } from './openapi.js';

import { Operations } from './operations.js';
import { appRouter } from './root.js';

/** What `createApp` needs: validated configuration and an open database. */
export interface CreateAppOptions {
  env: ApiEnv;
  db: Db;
  /** A pino logger; default: JSON logs at `LOG_LEVEL` with secrets redacted. */
  logger?: Logger;
  /** Shared license service (e.g. with the worker in one process); default: a new one. */
  license?: LicenseService;
  /**
   * Redis: job queues (invitation mails, …), rate limits, caches and live events. `main.ts` and
   * `pnpm start` open it; the app does not close it. Absent: mails stay queued, no rate limits.
   */
  redis?: Redis | null;
  /** BullMQ key prefix of the job queues (the worker must use the same); tests isolate with it. */
  queuePrefix?: string;
  /**
   * The development inbox (`pnpm start` without SMTP_URL), served at `/api/dev/inbox`. Absent,
   * as on every production server, those paths answer 404.
   */
  devInbox?: DevInboxReader | null;
  /**
   * Benchmarks only (the cost of isolation): `false` serves `GET /api/resources` without any
   * tenancy check. Never set by the server's start commands.
   */
  tenancyChecks?: boolean;
}

const BODY_LIMIT = 1024 * 1024;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyInstance {
    /** Metrics, health, API docs and the job dashboard of this app. */
    operations: Operations;
  }
}

function isApiPath(url: string): boolean {
  return url === '/api' || url.startsWith('/api/') || url.startsWith('/api?');
}

function isTrpcPath(url: string): boolean {
  return url === '/trpc' || url.startsWith('/trpc/') || url.startsWith('/trpc?');
}

/** Sends `{code, message}` (REST) or tRPC's error envelope (/trpc) for a refusal outside a procedure. */
function sendError(req: FastifyRequest, reply: FastifyReply, status: number, body: ApiErrorBody): FastifyReply {
  if (isTrpcPath(req.url)) {
    return reply.code(status).send({
      error: {
        message: body.message,
        code: TRPC_ERROR_CODES_BY_KEY[trpcCodeForStatus(status)],
        data: { code: body.code, httpStatus: status, ...(body.issues ? { issues: body.issues } : {}) },
      },
    });
  }
  return reply.code(status).send(body);
}

/**
 * Cross-site request check for cookie-authenticated mutations (THREATS: Grafana
 * CVE-2022-21703): refused when `Sec-Fetch-Site` says another site, or `Origin` is neither
 * PUBLIC_URL's origin nor the request's own host. Bearer-token requests carry no ambient
 * credentials and are exempt.
 */
export function isCrossSiteRequest(req: FastifyRequest, publicOrigin: string): boolean {
  const fetchSite = req.headers['sec-fetch-site'];
  if (typeof fetchSite === 'string' && fetchSite !== 'same-origin' && fetchSite !== 'none') return true;
  const origin = req.headers.origin;
  if (typeof origin === 'string') {
    if (origin === publicOrigin) return false;
    try {
      return new URL(origin).host !== req.headers.host;
    } catch {
      return true;
    }
  }
  return false;
}

/** JSON bodies: an empty body is no input; `__proto__` keys are refused. */
function parseJson(_req: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void): void {
  if (body.trim() === '') {
    done(null, undefined);
    return;
  }
  try {
    const value: unknown = JSON.parse(body, (key, v) => {
      if (key === '__proto__') throw new SyntaxError('__proto__ is not allowed');
      return v;
    });
    done(null, value);
  } catch {
    const error = new Error('The request body is not valid JSON.') as Error & { statusCode: number; code: string };
    error.statusCode = 400;
    error.code = 'FST_ERR_CTP_INVALID_JSON_BODY';
    done(error);
  }
}

function fastifyErrorBody(error: FastifyError): { status: number; body: ApiErrorBody } {
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
  if (status === 413)
    return { status, body: { code: 'PAYLOAD_TOO_LARGE', message: 'The request body is larger than 1 MB.' } };
  if (status === 415) {
    return {
      status,
      body: {
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: 'Send the request body as JSON with Content-Type: application/json.',
      },
    };
  }
  if (status >= 500) return { status: 500, body: { code: 'INTERNAL', message: ERRORS.INTERNAL.message } };
  if (status === 404) return { status, body: { code: 'NOT_FOUND', message: ERRORS.NOT_FOUND.message } };
  if (status === 401) return { status, body: { code: 'UNAUTHENTICATED', message: ERRORS.UNAUTHENTICATED.message } };
  if (status === 403) return { status, body: { code: 'PERMISSION_DENIED', message: ERRORS.PERMISSION_DENIED.message } };
  if (status === 429) return { status, body: { code: 'RATE_LIMITED', message: ERRORS.RATE_LIMITED.message } };
  return {
    status: 400,
    body: { code: 'VALIDATION_FAILED', message: error.message || ERRORS.VALIDATION_FAILED.message },
  };
}

/** The REST error body: trpc-to-openapi answers `{…shape, code: <tRPC code>}`; clients get the stable code. */
function rewriteRestError(reply: FastifyReply, payload: unknown): unknown {
  if (reply.statusCode < 400 || typeof payload !== 'string') return payload;
  let parsed: { message?: string; data?: { code?: string; httpStatus?: number; issues?: unknown } };
  try {
    parsed = JSON.parse(payload);
  } catch {
    return payload;
  }
  const data = parsed.data;
  if (!data || typeof data.code !== 'string') return payload;
  if (typeof data.httpStatus === 'number') reply.code(data.httpStatus);
  // trpc-to-openapi replaces the message of input errors with its own; ours names the fix.
  const message = Array.isArray(data.issues) ? validationMessage(data.issues as ApiIssue[]) : (parsed.message ?? '');
  return JSON.stringify({
    code: data.code,
    message,
    ...(data.issues ? { issues: data.issues } : {}),
  });
}

/**
 * The API server (not listening): tRPC at `/trpc`, REST and OpenAPI under `/api`, health,
 * and the built web app from `WEB_DIST` when it exists.
 */
export function createApp(opts: CreateAppOptions): FastifyInstance {
  const { env, db } = opts;
  // Whatever logger is given, request URLs are logged without secrets and secrets are redacted.
  const logger = (opts.logger ?? createLogger(env)).child(
    {},
    { serializers: LOG_SERIALIZERS, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
  );
  const license =
    opts.license ?? new LicenseService({ db, envKey: env.LICENSE_KEY, publicKeyPem: env.LICENSE_PUBLIC_KEY });
  const redis = opts.redis ?? null;
  const queues = createJobQueues(redis, opts.queuePrefix);
  const createContext = createContextFactory({ db, env, license, redis, queues, devInbox: opts.devInbox ?? null });
  const publicOrigin = new URL(env.PUBLIC_URL).origin;

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    routerOptions: { maxParamLength: 5000 },
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && /^[\w.-]{1,100}$/.test(incoming) ? incoming : randomUUID();
    },
  });

  app.removeContentTypeParser(['application/json']);
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (req, body, done) =>
    parseJson(req, body as string, done),
  );
  void app.register(fastifyCookie);

  const operations = new Operations({
    env,
    db,
    redis,
    queues,
    logger: logger as FastifyBaseLogger,
    createContext,
    isCrossSite: isCrossSiteRequest,
  });
  app.decorate('operations', operations);

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    if (SAFE_METHODS.has(req.method) || isBearerRequest(req)) return;
    if (!isApiPath(req.url) && !isTrpcPath(req.url)) return;
    if (isCrossSiteRequest(req, publicOrigin)) {
      req.log.warn(
        {
          event: 'csrf_rejected',
          origin: req.headers.origin ?? null,
          secFetchSite: req.headers['sec-fetch-site'] ?? null,
        },
        'cross-site request refused',
      );
      operations.metrics.countDenial('CSRF_REJECTED');
      return sendError(req, reply, 403, { code: 'CSRF_REJECTED', message: ERRORS.CSRF_REJECTED.message });
    }
  });

  app.setErrorHandler((error: FastifyError, req, reply) => {
    const { status, body } = fastifyErrorBody(error);
    if (status >= 500) req.log.error({ err: error }, 'request failed');
    return sendError(req, reply, status, body);
  });

  const onError = ({
    error,
    path,
    ctx,
  }: {
    error: TRPCError;
    path?: string | undefined;
    ctx?: Context | undefined;
  }) => {
    if (error.code === 'INTERNAL_SERVER_ERROR') logger.error({ err: error.cause ?? error, path }, 'procedure failed');
    operations.onProcedureError(error, ctx, path);
  };

  void app.register(fastifyTRPCPlugin, {
    prefix: '/trpc',
    trpcOptions: { router: appRouter, createContext, onError },
  });

  operations.install(app);
  registerLogoRoute(app, createContext);
  const onDenied = (code: string) => void operations.metrics.countDenial(code);
  registerAgentReportRoute(app, { createContext, onDenied });
  registerLeanResourcesRoute(app, { db, createContext, onDenied, tenancyChecks: opts.tenancyChecks ?? true });
  registerAuditExportRoute(app, { db, createContext });

  void app.register(async (api) => {
    api.addHook('preHandler', async (req) => {
      // trpc-to-openapi insists on a JSON content type for bodies, even when there is none.
      if (req.method !== 'GET' && req.method !== 'DELETE' && req.body === undefined && !req.headers['content-type']) {
        req.headers['content-type'] = 'application/json';
      }
      // It reads DELETE inputs from the query only; a JSON body (`{"confirm": …}`) is accepted too.
      if (req.method === 'DELETE' && req.body && typeof req.body === 'object' && !Array.isArray(req.body)) {
        req.query = { ...(req.body as Record<string, unknown>), ...(req.query as Record<string, unknown>) };
      }
    });
    api.addHook('onSend', async (_req, reply, payload) => rewriteRestError(reply, payload));
    await api.register(fastifyTRPCOpenApiPlugin, {
      basePath: '/api',
      router: appRouter,
      createContext: createContext as never,
      onError: onError as never,
      responseMeta: ({ paths, errors }: { paths?: readonly string[] | undefined; errors: unknown[] }) =>
        errors.length === 0 && paths?.length === 1 && restSuccessStatus(paths[0] ?? '') !== 200
          ? { status: restSuccessStatus(paths[0] ?? '') }
          : {},
    });
  });

  const webDist = resolve(env.WEB_DIST);
  const serveWeb = existsSync(join(webDist, 'index.html'));
  if (serveWeb) {
    void app.register(fastifyStatic, { root: webDist, wildcard: true, index: 'index.html' });
  }

  app.addHook('onClose', async () => {
    await closeLiveHub(redis);
    await queues.close();
  });

  app.setNotFoundHandler((req, reply) => {
    const url = req.url;
    if (serveWeb && (req.method === 'GET' || req.method === 'HEAD') && !isApiPath(url) && !isTrpcPath(url)) {
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    }
    return sendError(req, reply, 404, { code: 'NOT_FOUND', message: ERRORS.NOT_FOUND.message });
  });

  return app;
}
