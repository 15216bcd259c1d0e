import {
  AUDIT_ACTOR_TYPES,
  type AuditChainBreak,
  type AuditEventRow,
  auditHeadSeq,
  findAuditEvent,
  listAuditEvents,
  verifyAuditChain,
} from '@tenantry/db';
import { z } from 'zod';
import { requireModule, requirePermission, router, tenantProcedure } from '../trpc.js';

// The active org's audit log (SPEC §8): module `audit`, permission `audit.read` (admin+).
// `auditProcedure` is the one place that decides who reads the log; the streamed export
// (`GET /api/audit/export`, audit-export.ts) goes through `audit.startExport` below.

export const auditProcedure = tenantProcedure.use(requireModule('audit')).use(requirePermission('audit.read'));

const isoTime = z.iso.datetime({ offset: true });

/** Filters shared by the list and the export. */
const filterShape = {
  actorType: z.enum(AUDIT_ACTOR_TYPES).optional(),
  actorId: z.uuid().optional(),
  action: z.string().trim().min(1).max(100).optional(),
  /** Entries at or after this time (ISO 8601). */
  from: isoTime.optional(),
  /** Entries before this time (ISO 8601). */
  to: isoTime.optional(),
};

type Filters = { [K in keyof typeof filterShape]?: z.infer<(typeof filterShape)[K]> };

const timeOrder = (v: Filters) => !v.from || !v.to || new Date(v.from) < new Date(v.to);
const timeOrderIssue = { message: 'from must be before to.', path: ['from'] };

/** The repository's filters from validated input. */
export function auditFilters(input: Filters) {
  return {
    actorType: input.actorType,
    actorId: input.actorId,
    action: input.action,
    from: input.from ? new Date(input.from) : undefined,
    to: input.to ? new Date(input.to) : undefined,
  };
}

export const auditEventOutput = z.object({
  seq: z.number(),
  id: z.string(),
  occurredAt: z.string(),
  actorType: z.enum(AUDIT_ACTOR_TYPES),
  actorId: z.string().nullable(),
  actorLabel: z.string().nullable(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  ip: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});

/** An entry as the API shows it (and as the NDJSON export writes it, one per line). */
export function toAuditEventOutput(e: AuditEventRow): z.infer<typeof auditEventOutput> {
  return {
    seq: e.seq,
    id: e.id,
    occurredAt: e.occurredAt.toISOString(),
    actorType: e.actorType,
    actorId: e.actorId,
    actorLabel: e.actorLabel,
    action: e.action,
    targetType: e.targetType,
    targetId: e.targetId,
    ip: e.ip,
    details: e.details,
    prevHash: e.prevHash,
    hash: e.hash,
  };
}

const BREAK_MESSAGES: Record<AuditChainBreak['reason'], (seq: number) => string> = {
  hash_mismatch: (seq) => `Entry ${seq} was changed after it was written: its content no longer matches its hash.`,
  gap: (seq) => `Entry ${seq} is missing: it was deleted from the log.`,
  prev_mismatch: (seq) =>
    `Entry ${seq} does not link to entry ${seq - 1}: the entry before it was changed or replaced.`,
};

/** The export formats of `GET /api/audit/export`. */
export const AUDIT_EXPORT_FORMATS = ['ndjson', 'csv'] as const;
export type AuditExportFormat = (typeof AUDIT_EXPORT_FORMATS)[number];

export const auditRouter = router({
  /** Entries newest first, filtered by actor, action and time; `cursor` is the previous page's `nextCursor`. */
  list: auditProcedure
    .meta({ openapi: { method: 'GET', path: '/audit', tags: ['audit'], summary: 'List audit log entries' } })
    .input(
      z
        .strictObject({
          ...filterShape,
          cursor: z.coerce.number().int().min(1).optional(),
          limit: z.coerce.number().int().min(1).max(200).optional(),
        })
        .refine(timeOrder, timeOrderIssue),
    )
    .output(z.object({ events: z.array(auditEventOutput), nextCursor: z.number().nullable() }))
    .query(async ({ ctx, input }) => {
      const page = await listAuditEvents(ctx.em, ctx.org.id, {
        ...auditFilters(input),
        cursor: input.cursor,
        limit: input.limit ?? 50,
      });
      return { events: page.events.map(toAuditEventOutput), nextCursor: page.nextCursor };
    }),

  /**
   * Recomputes the org's hash chain and names the first entry that was edited or deleted.
   * The check itself is recorded (`audit.verified`).
   */
  verify: auditProcedure
    .meta({
      openapi: { method: 'POST', path: '/audit/verify', tags: ['audit'], summary: 'Verify the audit chain' },
      audit: false,
    })
    .input(z.void())
    .output(
      z.object({
        ok: z.boolean(),
        checked: z.number(),
        head: z.object({ seq: z.number(), hash: z.string() }).nullable(),
        firstBroken: z
          .object({
            seq: z.number(),
            reason: z.enum(['hash_mismatch', 'gap', 'prev_mismatch']),
            message: z.string(),
            /** The entry as it reads now; null when it was deleted. */
            entry: z.object({ id: z.string(), action: z.string(), occurredAt: z.string() }).nullable(),
          })
          .nullable(),
      }),
    )
    .mutation(async ({ ctx }) => {
      const result = await verifyAuditChain(ctx.em, ctx.org.id);
      let firstBroken = null;
      if (result.firstBroken) {
        const { seq, reason } = result.firstBroken;
        const entry = reason === 'gap' ? null : await findAuditEvent(ctx.em, ctx.org.id, seq);
        firstBroken = {
          seq,
          reason,
          message: BREAK_MESSAGES[reason](seq),
          entry: entry ? { id: entry.id, action: entry.action, occurredAt: entry.occurredAt.toISOString() } : null,
        };
      }
      await ctx.audit({
        action: 'audit.verified',
        targetType: 'audit_log',
        details: {
          ok: result.ok,
          checked: result.checked,
          ...(firstBroken ? { firstBroken: { seq: firstBroken.seq, reason: firstBroken.reason } } : {}),
        },
      });
      return { ok: result.ok, checked: result.checked, head: result.head, firstBroken };
    }),

  /**
   * Starts an export: decides access like every audit read, records `audit.exported`, and
   * answers what `GET /api/audit/export` then streams (every matching entry up to the head
   * of the log at this moment). Browsers and REST clients use that route, not this procedure.
   */
  startExport: auditProcedure
    .input(z.strictObject({ format: z.enum(AUDIT_EXPORT_FORMATS), ...filterShape }).refine(timeOrder, timeOrderIssue))
    .output(
      z.object({
        orgId: z.string(),
        format: z.enum(AUDIT_EXPORT_FORMATS),
        /** The filters as validated (trimmed), which the stream applies. */
        filters: z.object(filterShape),
        throughSeq: z.number(),
        filename: z.string(),
      }),
    )
    .query(async ({ ctx, input }) => {
      const { format, ...filters } = input;
      const throughSeq = await auditHeadSeq(ctx.em, ctx.org.id);
      const stamp = new Date()
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z');
      await ctx.audit({
        action: 'audit.exported',
        targetType: 'audit_log',
        details: { format, throughSeq, ...filters },
      });
      return {
        orgId: ctx.org.id,
        format,
        filters,
        throughSeq,
        filename: `audit-${ctx.org.slug}-${stamp}.${format}`,
      };
    }),
});
