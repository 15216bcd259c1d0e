import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { ERRORS } from '@tenantry/core';
import type { AnyProcedure } from '@trpc/server';
import type { FastifyInstance } from 'fastify';
import { generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi';
import { z } from 'zod';
import { describeAuditExport } from './audit-export.js';
import { SESSION_COOKIE } from './context.js';
import type { ApiEnv } from './env.js';
import { healthOutput } from './health.js';
import { describeLogoRead } from './logo-route.js';
import { appRouter } from './root.js';
import { orgCollectionProcedure, orgProcedure, tenantProcedure } from './trpc.js';
import { VERSION } from './version.js';

/** REST procedures that create something answer 201; every other success answers 200. */
export const REST_CREATED: ReadonlySet<string> = new Set([
  'auth.signup',
  'orgs.create',
  'members.add',
  'invitations.create',
  'admin.tenants.create',
  'alertRules.create',
  'agents.register',
  'shares.create',
]);

/** REST procedures that start background work answer 202. */
export const REST_ACCEPTED: ReadonlySet<string> = new Set<string>(['orgs.remove', 'admin.tenants.remove']);

/** The HTTP status of a successful REST call of the procedure at `path`. */
export function restSuccessStatus(path: string): number {
  if (REST_CREATED.has(path)) return 201;
  return REST_ACCEPTED.has(path) ? 202 : 200;
}

type Operation = {
  operationId?: string;
  security?: unknown[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
  [key: string]: unknown;
};

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** The tenant gate's middlewares: procedures behind them may answer 402, 429 and 501 too. */
function gateMiddlewares(): Set<unknown> {
  const last = (p: unknown) => (p as { _def: { middlewares: unknown[] } })._def.middlewares.at(-1);
  return new Set([last(tenantProcedure), last(orgProcedure), last(orgCollectionProcedure)]);
}

function codesWithStatus(status: number): string[] {
  return Object.entries(ERRORS)
    .filter(([, e]) => e.status === status)
    .map(([code]) => code);
}

const STATUS_TITLES: Record<number, string> = {
  400: 'Invalid request',
  401: 'Not signed in, or the credentials are wrong',
  402: 'License required',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  410: 'Gone',
  413: 'Request body too large',
  415: 'Request body is not JSON',
  429: 'Rate limited',
  500: 'Server error',
  501: 'Not enabled on this server',
};

/** Codes of transport refusals that core does not define. */
const TRANSPORT_CODES: Record<number, string[]> = {
  405: ['METHOD_NOT_SUPPORTED'],
  413: ['PAYLOAD_TOO_LARGE'],
  415: ['UNSUPPORTED_MEDIA_TYPE'],
};

function errorResponse(status: number): Record<string, unknown> {
  const codes = [...codesWithStatus(status), ...(TRANSPORT_CODES[status] ?? [])];
  return {
    description: `${STATUS_TITLES[status] ?? 'Error'}: ${codes.join(', ')}.`,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/ApiError' } } },
    ...(status === 429
      ? {
          headers: {
            'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 1 } },
          },
        }
      : {}),
  };
}

/** The error statuses an operation documents, each answering `ApiError`. */
function errorStatuses(op: Operation, gated: boolean): number[] {
  const statuses = [400, 401, 403, 404, 409, 410, 429, 500];
  if (gated) statuses.push(402, 501);
  if (op.requestBody) statuses.push(413, 415);
  return statuses.sort((a, b) => a - b);
}

const apiError = {
  type: 'object',
  description: 'Every error: a stable UPPER_SNAKE code to branch on, and a message a person can act on.',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', pattern: '^[A-Z][A-Z0-9_]*$', examples: ['ORG_ACCESS_DENIED'] },
    message: { type: 'string', examples: ['You do not have access to this organization.'] },
    issues: {
      type: 'array',
      description: 'What is wrong with the input (VALIDATION_FAILED only)',
      items: { $ref: '#/components/schemas/ApiIssue' },
    },
  },
  additionalProperties: false,
};

const apiIssue = {
  type: 'object',
  required: ['path', 'message', 'code'],
  properties: {
    path: { type: 'array', items: { type: ['string', 'integer'] }, description: 'Where in the input' },
    message: { type: 'string' },
    code: { type: 'string', description: "The validator's issue code (invalid_type, too_big, …)" },
  },
  additionalProperties: false,
};

function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'output' }) as Record<string, unknown>;
  return rest;
}

/**
 * The OpenAPI 3.1 document of every REST path: generated from each procedure's
 * `meta.openapi`, then given the statuses the API really answers (201 for creations, the
 * `{code, message}` error body with the codes of each status, 402/501 where the tenant gate
 * runs) and the health endpoint.
 */
export function createOpenApiDocument(env: Pick<ApiEnv, 'PUBLIC_URL'>): OpenAPIObject {
  const doc = generateOpenApiDocument(appRouter, {
    title: 'Tenantry API',
    description:
      'Multi-tenant organizations for infrastructure monitoring. Authenticate with the session cookie of a browser sign-in or `Authorization: Bearer <API token>`; pick the organization of tenant-scoped paths with `X-Org-Id` (id or slug). Errors answer JSON `{ code, message }` with a stable UPPER_SNAKE code.',
    version: VERSION,
    baseUrl: `${env.PUBLIC_URL}/api`,
    openApiVersion: '3.1.0',
    securitySchemes: {
      sessionCookie: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
      bearerToken: { type: 'http', scheme: 'bearer' },
    },
  });

  const gate = gateMiddlewares();
  const procedures = appRouter._def.procedures as unknown as Record<string, AnyProcedure>;
  const byOperationId = new Map<string, { path: string; gated: boolean }>();
  for (const [path, procedure] of Object.entries(procedures)) {
    const def = procedure._def as unknown as { meta?: { openapi?: { operationId?: string } }; middlewares: unknown[] };
    if (!def.meta?.openapi) continue;
    const operationId = def.meta.openapi.operationId ?? path.replace(/\./g, '-');
    byOperationId.set(operationId, { path, gated: def.middlewares.some((m) => gate.has(m)) });
  }

  for (const item of Object.values(doc.paths ?? {}) as Record<string, Operation>[]) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const known = op.operationId ? byOperationId.get(op.operationId) : undefined;
      const success = op.responses['200'];
      const responses: Record<string, unknown> = {};
      const status = known ? restSuccessStatus(known.path) : 200;
      const described = { 201: 'Created', 202: 'Accepted: the work runs in the background' }[status as 201 | 202];
      responses[String(status)] = described ? { ...(success as object), description: described } : success;
      for (const code of errorStatuses(op, known?.gated ?? true)) responses[String(code)] = errorResponse(code);
      op.responses = responses;
    }
  }

  const health = { $ref: '#/components/schemas/Health' };
  doc.paths = {
    ...doc.paths,
    '/health': {
      get: {
        operationId: 'health',
        summary: 'Health of this API process and its dependencies',
        description:
          'Process up, PostgreSQL and Redis reachable (with their latency), and the last run of each scheduled job. 503 names the dependency that is down in `failing`.',
        tags: ['system'],
        responses: {
          '200': { description: 'Healthy', content: { 'application/json': { schema: health } } },
          '503': { description: 'PostgreSQL or Redis is down', content: { 'application/json': { schema: health } } },
        },
      },
    },
  };
  const schemas = Object.fromEntries(
    Object.entries(doc.components?.schemas ?? {}).filter(([name]) => !name.startsWith('error.')),
  );
  doc.components = {
    ...doc.components,
    schemas: { ...schemas, ApiError: apiError, ApiIssue: apiIssue, Health: jsonSchemaOf(healthOutput) } as never,
  };
  return describeLogoRead(describeAuditExport(doc));
}

/** The web app's brand mark and name, for the reference page's header. */
const LOGO_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="150" height="32" viewBox="0 0 150 32"><rect x="2" y="6" width="20" height="20" rx="4" fill="#245bdb"/><text x="32" y="23" font-family="system-ui, sans-serif" font-size="20" font-weight="600" fill="#ffffff">Tenantry</text></svg>';

/**
 * Serves the document at `/api/openapi.json` and an interactive reference at `/api/docs`
 * (Swagger UI from the package's own files: it works offline, nothing comes from a CDN).
 */
export async function registerApiDocs(app: FastifyInstance, doc: OpenAPIObject): Promise<void> {
  app.get('/api/openapi.json', async () => doc);
  await app.register(fastifySwagger, { mode: 'static', specification: { document: doc as never } });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/api/docs',
    uiConfig: { deepLinking: true, withCredentials: true },
    theme: { title: 'Tenantry API reference' },
    logo: { type: 'image/svg+xml', content: Buffer.from(LOGO_SVG), href: '/', target: '_self' },
  });
}
