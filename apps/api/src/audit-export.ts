import { Readable } from 'node:stream';
import { type AuditEventRow, type Db, listAuditEventsForExport } from '@tenantry/db';
import { TRPCError } from '@trpc/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OpenAPIObject } from 'trpc-to-openapi';
import type { Context } from './context.js';
import { describeError } from './errors.js';
import { createCaller } from './root.js';
import { type AuditExportFormat, auditFilters, toAuditEventOutput } from './routers/audit.js';

// `GET /api/audit/export?format=ndjson|csv`: every matching entry of the active org's log,
// streamed page by page. trpc-to-openapi answers JSON only, so this is a plain Fastify route;
// access is decided by the `audit.startExport` procedure (the same chain as every audit read),
// called with the request's own context.

const PAGE = 5000;

export const AUDIT_CSV_COLUMNS = [
  'seq',
  'id',
  'occurred_at',
  'actor_type',
  'actor_id',
  'actor_label',
  'action',
  'target_type',
  'target_id',
  'ip',
  'details',
  'prev_hash',
  'hash',
] as const;

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF, with quotes
 * doubled. A text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR
 * first) gets a leading `'` (OWASP's advice for CSV injection); NDJSON keeps values exact.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV record, CRLF-terminated. */
export function csvLine(values: readonly (string | number | null)[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

function csvRecord(e: AuditEventRow): string {
  return csvLine([
    e.seq,
    e.id,
    e.occurredAt.toISOString(),
    e.actorType,
    e.actorId,
    e.actorLabel,
    e.action,
    e.targetType,
    e.targetId,
    e.ip,
    JSON.stringify(e.details),
    e.prevHash,
    e.hash,
  ]);
}

/** What `audit.startExport` answered. */
export interface AuditExportPlan {
  orgId: string;
  format: AuditExportFormat;
  filters: Parameters<typeof auditFilters>[0];
  throughSeq: number;
  filename: string;
}

/**
 * The export's text, page by page, each page read in its own unit of work of the org (the
 * log is append-only and bounded by `throughSeq`, so the pages add up to one snapshot).
 */
export async function* auditExportChunks(
  db: Db,
  plan: AuditExportPlan,
  filters: ReturnType<typeof auditFilters>,
): AsyncGenerator<string> {
  if (plan.format === 'csv') yield csvLine(AUDIT_CSV_COLUMNS);
  let afterSeq = 0;
  for (;;) {
    const page = await db.tenant({ orgId: plan.orgId }, (em) =>
      listAuditEventsForExport(em, plan.orgId, { ...filters, afterSeq, throughSeq: plan.throughSeq, limit: PAGE }),
    );
    if (page.length > 0) {
      yield page
        .map((e) => (plan.format === 'csv' ? csvRecord(e) : `${JSON.stringify(toAuditEventOutput(e))}\n`))
        .join('');
    }
    if (page.length < PAGE) return;
    afterSeq = page[page.length - 1]!.seq;
  }
}

const CONTENT_TYPES: Record<AuditExportFormat, string> = {
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

/** Registers `GET /api/audit/export` on the app. */
export function registerAuditExportRoute(
  app: FastifyInstance,
  deps: { db: Db; createContext: (opts: { req: FastifyRequest; res: FastifyReply }) => Context },
): void {
  app.get('/api/audit/export', async (req, reply) => {
    const ctx = deps.createContext({ req, res: reply });
    const query = { ...(req.query as Record<string, unknown>) };
    let plan: AuditExportPlan;
    try {
      plan = await createCaller(ctx).audit.startExport(query as never);
    } catch (error) {
      const described = describeError(
        error instanceof TRPCError ? error : new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: error }),
      );
      if (described.status >= 500) req.log.error({ err: error }, 'audit export failed');
      return reply.code(described.status).send({
        code: described.code,
        message: described.message,
        ...(described.issues ? { issues: described.issues } : {}),
      });
    }
    const stream = Readable.from(auditExportChunks(deps.db, plan, auditFilters(plan.filters)));
    stream.on('error', (err) => req.log.error({ err, orgId: plan.orgId }, 'audit export stream failed'));
    return reply
      .header('content-type', CONTENT_TYPES[plan.format])
      .header('content-disposition', `attachment; filename="${plan.filename}"`)
      .header('cache-control', 'no-store')
      .header('x-audit-through-seq', String(plan.throughSeq))
      .send(stream);
  });
}

/** Adds the export route, which trpc-to-openapi does not generate, to the OpenAPI document. */
export function describeAuditExport(doc: OpenAPIObject): OpenAPIObject {
  const text = { schema: { type: 'string' as const } };
  const error = {
    description: 'Refused: `{ code, message }` with a stable code',
    content: {
      'application/json': {
        schema: {
          type: 'object' as const,
          properties: { code: { type: 'string' as const }, message: { type: 'string' as const } },
          required: ['code', 'message'],
        },
      },
    },
  };
  const stringParam = (name: string, description: string, extra: Record<string, unknown> = {}) => ({
    name,
    in: 'query' as const,
    required: false,
    description,
    schema: { type: 'string' as const, ...extra },
  });
  doc.paths = {
    ...doc.paths,
    '/audit/export': {
      get: {
        operationId: 'audit-export',
        summary: 'Export the audit log',
        description:
          'Every entry matching the filters, oldest first, streamed as NDJSON (one entry per line, as `GET /audit` shows it) or CSV (RFC 4180, a header row). Admin and owner only.',
        tags: ['audit'],
        security: [{ sessionCookie: [] }, { bearerToken: [] }],
        parameters: [
          { ...stringParam('format', 'ndjson or csv', { enum: ['ndjson', 'csv'] }), required: true },
          stringParam('actorType', 'user, token, agent, system or operator'),
          stringParam('actorId', 'Actor id (UUID)', { format: 'uuid' }),
          stringParam('action', 'Exact action, e.g. alert.fired'),
          stringParam('from', 'At or after (ISO 8601)', { format: 'date-time' }),
          stringParam('to', 'Before (ISO 8601)', { format: 'date-time' }),
        ],
        responses: {
          '200': {
            description: 'The export, as an attachment',
            content: { 'application/x-ndjson': text, 'text/csv': text },
          },
          '400': error,
          '401': error,
          '403': error,
          '429': error,
        },
      },
    },
  };
  return doc;
}
