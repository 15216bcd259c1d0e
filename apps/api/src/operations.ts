import { timingSafeEqual } from 'node:crypto';
import { ERRORS, isGateDenial } from '@tenantry/core';
import type { Db } from '@tenantry/db';
import { REGISTRY } from '@tenantry/worker';
import type { AnyProcedure, TRPCError } from '@trpc/server';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { OpenAPIObject } from 'trpc-to-openapi';
import { bearerTokenOf, type Context } from './context.js';
import type { ApiEnv } from './env.js';
import { describeError } from './errors.js';
import { checkHealth } from './health.js';
import type { JobQueues } from './jobs.js';
import { registerJobDashboard } from './jobs-dashboard.js';
import { ApiMetrics } from './metrics.js';
import { createOpenApiDocument, registerApiDocs } from './openapi.js';
import { appRouter } from './root.js';
import { fastifyRouteTemplate, RestRouteMatcher, trpcRouteLabel, UNMATCHED_ROUTE, WEB_ROUTE } from './route-labels.js';

export interface OperationsDeps {
  env: ApiEnv;
  db: Db;
  redis: Redis | null;
  queues: JobQueues;
  logger: FastifyBaseLogger;
  createContext: (opts: { req: FastifyRequest; res: FastifyReply }) => Context;
  isCrossSite: (req: FastifyRequest, publicOrigin: string) => boolean;
}

/** Names of the queues the workers consume, from the worker's registry (new queues appear by themselves). */
export function registeredQueueNames(): string[] {
  return REGISTRY.map((q) => q.name);
}

function tokenMatches(expected: string, presented: string | null): boolean {
  if (!presented) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * What operators need from an API process: Prometheus metrics (`/metrics`, on this listener
 * with METRICS_TOKEN or on an internal one at METRICS_HOST:METRICS_PORT), `/api/health`, the
 * OpenAPI document and its reference page, the job dashboard, and request/denial accounting.
 */
export class Operations {
  readonly metrics: ApiMetrics;
  readonly document: OpenAPIObject;
  private readonly rest: RestRouteMatcher;
  private readonly procedures: ReadonlySet<string>;
  private readonly startedAt = Date.now();
  /** The URL each request came with: the REST adapter rewrites `req.url` (without `/api`). */
  private readonly requestedUrls = new WeakMap<FastifyRequest, string>();

  constructor(private readonly deps: OperationsDeps) {
    this.document = createOpenApiDocument(deps.env);
    this.rest = new RestRouteMatcher(Object.keys(this.document.paths ?? {}), '/api');
    this.procedures = new Set(Object.keys(appRouter._def.procedures as unknown as Record<string, AnyProcedure>));
    this.metrics = new ApiMetrics({
      db: deps.db,
      redis: deps.redis,
      queues: deps.queues,
      queueNames: registeredQueueNames(),
      log: deps.logger,
    });
  }

  /** The route template of a request, for metric labels. */
  routeLabel(req: FastifyRequest, status: number): string {
    const url = req.routeOptions.url;
    if (url === '/api/*') return this.rest.match(this.requestedUrls.get(req) ?? req.url) ?? '/api/{unknown}';
    if (url === '/trpc/:path') {
      const path = (req.params as { path?: string } | undefined)?.path ?? '';
      return trpcRouteLabel(path, this.procedures);
    }
    if (url === undefined) return status === 404 ? UNMATCHED_ROUTE : WEB_ROUTE;
    if (url === '/*') return WEB_ROUTE;
    return fastifyRouteTemplate(url);
  }

  /**
   * A procedure failed (tRPC and REST alike): denials are counted by reason, and those the
   * gate did not log already are logged as warnings with the request's org and user.
   */
  onProcedureError(error: TRPCError, ctx: Context | undefined, path: string | undefined): void {
    const { code } = describeError(error);
    const reason = this.metrics.countDenial(code);
    if (!reason || isGateDenial(code)) return;
    const log = ctx?.req?.log ?? ctx?.log ?? this.deps.logger;
    log.warn({ event: 'access_denied', reason, code, procedure: path ?? null }, 'access denied');
  }

  /** Adds the hooks and routes to the app (before the web app's catch-all files). */
  install(app: FastifyInstance): void {
    app.addHook('onRequest', async (req) => {
      this.requestedUrls.set(req, req.url);
    });
    app.addHook('onResponse', async (req, reply) => {
      this.metrics.observeRequest(
        req.method,
        this.routeLabel(req, reply.statusCode),
        reply.statusCode,
        reply.elapsedTime / 1000,
      );
    });

    app.get('/api/health', async (_req, reply) => {
      const health = await checkHealth({ ...this.deps, log: this.deps.logger, startedAt: this.startedAt });
      return reply
        .code(health.status === 'ok' ? 200 : 503)
        .header('cache-control', 'no-store')
        .send(health);
    });

    app.get('/metrics', async (req, reply) => this.serveMetrics(req, reply, 'public'));

    void app.register(async (scope) => registerApiDocs(scope, this.document));
    void app.register(async (scope) =>
      registerJobDashboard(scope, {
        createContext: this.deps.createContext,
        queues: this.deps.queues,
        queueNames: registeredQueueNames(),
        publicOrigin: new URL(this.deps.env.PUBLIC_URL).origin,
        isCrossSite: this.deps.isCrossSite,
        onDenied: (code) => this.metrics.countDenial(code),
      }),
    );
  }

  /**
   * `/metrics`: on the public listener only with METRICS_TOKEN (`Authorization: Bearer …`) and
   * no METRICS_PORT; on the internal listener always (with the token too, when one is set).
   */
  async serveMetrics(req: FastifyRequest, reply: FastifyReply, listener: 'public' | 'internal') {
    const { METRICS_TOKEN, METRICS_PORT } = this.deps.env;
    if (listener === 'public' && (METRICS_PORT !== undefined || !METRICS_TOKEN)) {
      const message =
        METRICS_PORT !== undefined
          ? `Metrics are served on the internal metrics listener (METRICS_HOST:${METRICS_PORT}), not here.`
          : ERRORS.METRICS_DISABLED.message;
      return reply.code(404).send({ code: 'METRICS_DISABLED', message });
    }
    if (METRICS_TOKEN && !tokenMatches(METRICS_TOKEN, bearerTokenOf(req))) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="metrics"')
        .send({ code: 'UNAUTHENTICATED', message: 'Send Authorization: Bearer <METRICS_TOKEN> to read the metrics.' });
    }
    const text = await this.metrics.render();
    return reply.header('content-type', this.metrics.contentType).header('cache-control', 'no-store').send(text);
  }

  /**
   * The internal metrics listener (METRICS_HOST:METRICS_PORT), serving only `/metrics`; null
   * when METRICS_PORT is unset. The caller closes it.
   */
  async listenMetrics(): Promise<{ server: FastifyInstance; url: string } | null> {
    const { METRICS_HOST, METRICS_PORT } = this.deps.env;
    if (METRICS_PORT === undefined) return null;
    const server = Fastify({ logger: false });
    server.get('/metrics', async (req, reply) => this.serveMetrics(req, reply, 'internal'));
    server.setNotFoundHandler((_req, reply) =>
      reply.code(404).send({ code: 'NOT_FOUND', message: 'This listener serves /metrics only.' }),
    );
    await server.listen({ host: METRICS_HOST, port: METRICS_PORT });
    const address = server.server.address();
    const port = typeof address === 'object' && address ? address.port : METRICS_PORT;
    const host = METRICS_HOST.includes(':') ? `[${METRICS_HOST}]` : METRICS_HOST;
    return { server, url: `http://${host}:${port}/metrics` };
  }
}
