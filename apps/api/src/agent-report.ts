import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  assertOrgServes,
  DomainError,
  decideMultiTenantGate,
  ERRORS,
  isDomainError,
  RESOURCE_LIMITS,
  RESOURCE_STATUSES,
  RESOURCE_TYPES,
  resolveModules,
} from '@tenantry/core';
import { appendAuditEvents, findAgent, findOrgById, touchAgent, upsertReportedResources } from '@tenantry/db';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OpenAPIObject } from 'trpc-to-openapi';
import { z } from 'zod';
import { evaluateAlertsOnReport } from './alerts/evaluate.js';
import { AGENT_TOKEN_PREFIX } from './api-tokens.js';
import { bearerTokenOf, type Context, hashToken } from './context.js';
import { type OrgRateLimiter, rateLimiterFor } from './rate-limit.js';
import { publishFanout, upsertFanout } from './resource-events.js';

// Agents report with their own org-bound token (`tna_…`): it names its org and agent, so the
// lookup runs in that org's scope from the first query, and it reaches nothing but the report.

const UUID_HEX = /^[0-9a-f]{32}$/;

function uuidOf(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A new agent token `tna_<base64url(orgId, agentId)>.<base64url(256 random bits)>` and the secret's hash. */
export function newAgentToken(orgId: string, agentId: string): { token: string; hash: string } {
  const ids = Buffer.from(`${orgId}${agentId}`.replace(/-/g, ''), 'hex').toString('base64url');
  const secret = randomBytes(32).toString('base64url');
  return { token: `${AGENT_TOKEN_PREFIX}${ids}.${secret}`, hash: hashToken(secret) };
}

/** The org, agent and secret hash of an agent token; null when it is not shaped like one. */
export function parseAgentToken(token: string): { orgId: string; agentId: string; hash: string } | null {
  if (!token.startsWith(AGENT_TOKEN_PREFIX)) return null;
  const [ids, secret, extra] = token.slice(AGENT_TOKEN_PREFIX.length).split('.');
  if (!ids || !secret || extra !== undefined || !/^[\w-]{43}$/.test(ids) || !/^[\w-]{43}$/.test(secret)) return null;
  const hex = Buffer.from(ids, 'base64url').toString('hex');
  if (hex.length !== 64 || !UUID_HEX.test(hex.slice(0, 32)) || !UUID_HEX.test(hex.slice(32))) return null;
  return { orgId: uuidOf(hex.slice(0, 32)), agentId: uuidOf(hex.slice(32)), hash: hashToken(secret) };
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

const usage = z.number().min(0).max(1).nullable().optional();

export const reportInput = z.strictObject({
  resources: z
    .array(
      z.strictObject({
        type: z.enum(RESOURCE_TYPES),
        name: z.string().trim().min(1).max(RESOURCE_LIMITS.name),
        status: z.enum(RESOURCE_STATUSES),
        cpu: usage,
        memory: usage,
        disk: usage,
      }),
    )
    .min(1)
    .max(RESOURCE_LIMITS.perReport)
    .refine((list) => new Set(list.map((r) => r.name)).size === list.length, {
      message: 'Each resource name may appear once per report: an agent and a name identify a resource.',
    }),
  /** The agent's version, shown on the agents page. */
  version: z.string().trim().min(1).max(50).optional(),
});
export type AgentReport = z.infer<typeof reportInput>;

export interface ReportResult {
  ok: true;
  agentId: string;
  resources: number;
  created: number;
  updated: number;
}

const UNKNOWN_AGENT = 'The agent token is unknown or its agent was removed: register the agent again.';

/**
 * Applies one agent report: checks the token in its org's scope, the org's gate, status,
 * `agents` module and rate budget, upserts the resources, marks the agent seen, evaluates the
 * org's alert rules, records new resources in the audit log — one transaction — and then
 * publishes the changes live to the org and to the orgs the resources are shared with.
 */
export async function applyAgentReport(
  ctx: Pick<Context, 'db' | 'env' | 'license' | 'redis' | 'queues' | 'log' | 'ip'> & {
    live: import('./live.js').LiveHub;
    limiter: OrgRateLimiter | null;
  },
  bearer: string | null,
  body: unknown,
): Promise<{ result: ReportResult; retryAfter?: number }> {
  const parsed = bearer ? parseAgentToken(bearer) : null;
  if (!parsed) {
    throw new DomainError(
      'UNAUTHENTICATED',
      bearer?.startsWith(AGENT_TOKEN_PREFIX)
        ? UNKNOWN_AGENT
        : 'Send the agent token from the agent registration: Authorization: Bearer tna_…',
    );
  }
  const input = reportInput.safeParse(body);
  if (!input.success) {
    throw new DomainError('VALIDATION_FAILED', undefined, {
      issues: input.error.issues.map((i) => ({ path: i.path, message: i.message, code: i.code })),
    });
  }
  const { orgId, agentId } = parsed;
  const committed: (() => Promise<void>)[] = [];
  const outcome = await ctx.db.tenant({ orgId }, async (em) => {
    const [org, agent] = [await findOrgById(em, orgId), await findAgent(em, orgId, agentId)];
    if (!org || !agent || !sameHash(agent.tokenHash, parsed.hash))
      throw new DomainError('UNAUTHENTICATED', UNKNOWN_AGENT);
    const licensed = ctx.env.MULTI_TENANT_ENABLED ? await ctx.license.isLicensed(em) : false;
    const gate = decideMultiTenantGate({
      targetsDefaultOrg: org.id === ctx.db.defaultOrgId,
      multiTenantEnabled: ctx.env.MULTI_TENANT_ENABLED,
      licensed,
    });
    if (!gate.allow) throw new DomainError(gate.code);
    assertOrgServes(org.status);
    if (!resolveModules(await ctx.license.features(em), org.featureOverrides).includes('agents')) {
      throw new DomainError('FEATURE_DISABLED', ERRORS.FEATURE_DISABLED.message);
    }
    await ctx.limiter?.consume(org, `agent:${agent.id}`);

    const rows = await upsertReportedResources(em, orgId, agent.id, input.data.resources);
    await touchAgent(em, orgId, agent.id, { ip: ctx.ip, version: input.data.version ?? null });
    await evaluateAlertsOnReport(em, orgId, rows, {
      queues: ctx.queues,
      actor: { type: 'agent', id: agent.id, label: agent.name, ip: ctx.ip },
      afterCommit: (task) => committed.push(task),
    });
    const created = rows.filter((r) => r.created);
    if (created.length > 0) {
      await appendAuditEvents(em, orgId, [
        {
          actorType: 'agent',
          actorId: agent.id,
          actorLabel: agent.name,
          ip: ctx.ip,
          action: 'resources.discovered',
          targetType: 'agent',
          targetId: agent.id,
          details: { count: created.length, names: created.slice(0, 20).map((r) => r.name) },
        },
      ]);
    }
    return { rows, created: created.length, agentName: agent.name };
  });
  for (const task of committed) {
    await task().catch((error) => ctx.log.error({ err: error, orgId }, 'an effect after the report failed'));
  }
  await publishFanout(ctx.live, ctx.log, await upsertFanout(ctx.db, orgId, outcome.rows));
  return {
    result: {
      ok: true,
      agentId,
      resources: outcome.rows.length,
      created: outcome.created,
      updated: outcome.rows.length - outcome.created,
    },
  };
}

/** `POST /api/agent/report`. */
export function registerAgentReportRoute(
  app: FastifyInstance,
  deps: {
    createContext: (opts: { req: FastifyRequest; res: FastifyReply }) => Context;
    onDenied: (code: string) => void;
  },
): void {
  app.post('/api/agent/report', async (req, reply) => {
    const ctx = deps.createContext({ req, res: reply });
    const limiter = rateLimiterFor(ctx.redis);
    try {
      const { result } = await applyAgentReport({ ...ctx, live: ctx.live, limiter }, bearerTokenOf(req), req.body);
      return reply.code(200).send(result);
    } catch (error) {
      if (!isDomainError(error)) throw error;
      const retryAfter = error.details?.retryAfter;
      if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
      if (error.status === 401 || error.status === 402 || error.status === 403 || error.status === 501) {
        deps.onDenied(error.code);
        req.log.warn({ event: 'agent_report_denied', code: error.code }, 'agent report refused');
      }
      const issues = error.details?.issues;
      return reply.code(error.status).send({ code: error.code, message: error.message, ...(issues ? { issues } : {}) });
    }
  });
}

/** Documents `POST /agent/report` (an agent token, not a procedure) in the OpenAPI document. */
export function describeAgentReport(doc: OpenAPIObject): OpenAPIObject {
  const error = {
    description: 'Refused: `{ code, message }` with a stable code',
    content: {
      'application/json': {
        schema: {
          type: 'object' as const,
          properties: {
            code: { type: 'string' as const },
            message: { type: 'string' as const },
            issues: { type: 'array' as const, items: { type: 'object' as const } },
          },
          required: ['code', 'message'],
        },
      },
    },
  };
  const usage = { type: ['number', 'null'] as ('number' | 'null')[], minimum: 0, maximum: 1 };
  doc.paths = {
    ...doc.paths,
    '/agent/report': {
      post: {
        operationId: 'agent-report',
        summary: "Report an agent's resources",
        description:
          'Sent by an agent with its own token (`Authorization: Bearer tna_…`, shown once by POST /agents). Upserts each resource (an agent and a name identify one), marks the agent seen, evaluates the alert rules and pushes the changes live. Usage values are fractions from 0 to 1.',
        tags: ['agents'],
        security: [{ bearerToken: [] }],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                additionalProperties: false,
                required: ['resources'],
                properties: {
                  resources: {
                    type: 'array',
                    minItems: 1,
                    maxItems: RESOURCE_LIMITS.perReport,
                    items: {
                      type: 'object',
                      additionalProperties: false,
                      required: ['type', 'name', 'status'],
                      properties: {
                        type: { type: 'string', enum: [...RESOURCE_TYPES] },
                        name: { type: 'string', minLength: 1, maxLength: RESOURCE_LIMITS.name },
                        status: { type: 'string', enum: [...RESOURCE_STATUSES] },
                        cpu: usage,
                        memory: usage,
                        disk: usage,
                      },
                    },
                  },
                  version: { type: 'string', minLength: 1, maxLength: 50 },
                },
              },
            },
          },
        },
        responses: {
          '200': {
            description: 'What the report changed',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['ok', 'agentId', 'resources', 'created', 'updated'],
                  properties: {
                    ok: { type: 'boolean', const: true },
                    agentId: { type: 'string', format: 'uuid' },
                    resources: { type: 'integer' },
                    created: { type: 'integer' },
                    updated: { type: 'integer' },
                  },
                },
              },
            },
          },
          '400': error,
          '401': error,
          '402': error,
          '403': error,
          '429': error,
          '501': error,
        },
      },
    },
  };
  return doc;
}
