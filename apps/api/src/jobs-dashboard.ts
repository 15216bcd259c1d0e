import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { canPlatform, ERRORS, type ErrorCode } from '@tenantry/core';
import type { UserRow } from '@tenantry/db';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AGENT_TOKEN_PREFIX, authenticateApiToken } from './api-tokens.js';
import type { Context } from './context.js';
import type { JobQueues } from './jobs.js';
import { authenticateSession } from './session.js';

/** Where the job dashboard lives. */
export const JOBS_DASHBOARD_PATH = '/admin/jobs';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

// The dashboard's page pulls a web font from a CDN; the policy keeps every request on this
// origin (the browser falls back to a local font).
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

export interface JobDashboardDeps {
  createContext: (opts: { req: FastifyRequest; res: FastifyReply }) => Context;
  queues: JobQueues;
  /** Every queue the workers consume (the worker's registry). */
  queueNames: readonly string[];
  publicOrigin: string;
  isCrossSite: (req: FastifyRequest, publicOrigin: string) => boolean;
  /** Counts a refusal (metrics) by its stable code. */
  onDenied: (code: string) => void;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function wantsHtml(req: FastifyRequest): boolean {
  const accept = req.headers.accept ?? '';
  return req.method === 'GET' && accept.includes('text/html');
}

/** A plain page for people who open the dashboard without the right to see it. */
function refusalPage(title: string, message: string, link: { href: string; text: string }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Tenantry</title>
<style>body{font-family:system-ui,sans-serif;background:#f6f7f9;color:#1f2430;display:grid;place-items:center;min-height:100vh;margin:0}
main{background:#fff;border:1px solid #dde1e7;border-radius:10px;padding:2rem 2.5rem;max-width:32rem}
h1{font-size:1.25rem;margin:0 0 .75rem}p{line-height:1.5;margin:0 0 1.25rem}a{color:#3451b2}</style></head>
<body><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p><p><a href="${escapeHtml(link.href)}">${escapeHtml(link.text)}</a></p></main></body></html>`;
}

function refuse(req: FastifyRequest, reply: FastifyReply, code: ErrorCode, message: string) {
  const status = ERRORS[code].status;
  if (wantsHtml(req)) {
    const page =
      status === 401
        ? refusalPage('Sign in to see the job dashboard', message, {
            href: `/signin?next=${encodeURIComponent(JOBS_DASHBOARD_PATH)}`,
            text: 'Sign in',
          })
        : refusalPage('The job dashboard is for platform administrators', message, {
            href: '/',
            text: 'Back to Tenantry',
          });
    return reply.code(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(page);
  }
  return reply.code(status).send({ code, message });
}

/** The signed-in user of a request (session cookie or API token), or null. */
async function userOf(ctx: Context): Promise<UserRow | null> {
  if (ctx.bearerToken) {
    if (ctx.bearerToken.startsWith(AGENT_TOKEN_PREFIX)) return null;
    return (await authenticateApiToken(ctx, ctx.bearerToken))?.user ?? null;
  }
  return (await authenticateSession(ctx))?.user ?? null;
}

/**
 * The BullMQ dashboard (bull-board) at `/admin/jobs` for superadmins only: every queue of the
 * worker's registry with its waiting, active, delayed, failed and completed jobs, and retry,
 * promote and remove actions. Signed out answers 401, anyone else 403 (org owners included),
 * as a page for browsers and `{code, message}` for API clients. Its own UI sends the changes
 * from this origin; changes from another site are refused like any cookie-authenticated one.
 */
export async function registerJobDashboard(app: FastifyInstance, deps: JobDashboardDeps): Promise<void> {
  const queues = deps.queueNames.map((name) => deps.queues.get(name));
  const available = queues.every((q) => q !== null);

  await app.register(
    async (scope) => {
      scope.addHook('onRequest', async (req, reply) => {
        reply.header('content-security-policy', CSP).header('x-frame-options', 'DENY');
        const ctx = deps.createContext({ req, res: reply });
        const user = await userOf(ctx);
        if (!user) {
          return refuse(
            req,
            reply,
            'UNAUTHENTICATED',
            'Sign in with a platform administrator account to see the jobs.',
          );
        }
        req.log = req.log.child({ userId: user.id });
        reply.log = req.log;
        if (!canPlatform(user.platformRole, 'jobs.view')) {
          deps.onDenied('SUPERADMIN_REQUIRED');
          req.log.warn({ event: 'access_denied', reason: 'superadmin_required' }, 'job dashboard refused');
          return refuse(req, reply, 'SUPERADMIN_REQUIRED', ERRORS.SUPERADMIN_REQUIRED.message);
        }
        if (!SAFE_METHODS.has(req.method) && !ctx.bearerToken && deps.isCrossSite(req, deps.publicOrigin)) {
          deps.onDenied('CSRF_REJECTED');
          req.log.warn({ event: 'csrf_rejected', origin: req.headers.origin ?? null }, 'cross-site request refused');
          return refuse(req, reply, 'CSRF_REJECTED', ERRORS.CSRF_REJECTED.message);
        }
        if (!available) {
          return reply.code(503).send({
            code: 'INTERNAL',
            message: 'The job queues live in Redis, which this API process cannot reach: check REDIS_URL.',
          });
        }
      });

      if (!available) {
        scope.all('/*', async () => undefined);
        scope.all('/', async () => undefined);
        return;
      }
      const serverAdapter = new FastifyAdapter();
      serverAdapter.setBasePath(JOBS_DASHBOARD_PATH);
      createBullBoard({
        queues: queues.map((queue) => new BullMQAdapter(queue!, { allowRetries: true })),
        serverAdapter,
        options: {
          uiConfig: {
            boardTitle: 'Tenantry jobs',
            hideDocsLink: true,
            miscLinks: [{ text: 'Back to Tenantry', url: '/' }],
          },
        },
      });
      await scope.register(serverAdapter.registerPlugin());
    },
    { prefix: JOBS_DASHBOARD_PATH },
  );
}
