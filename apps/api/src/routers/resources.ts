import {
  can,
  DomainError,
  decodeOrgControl,
  orgResourcesChannel,
  orgServes,
  RESOURCE_LIMITS,
  RESOURCE_STATUSES,
  RESOURCE_TYPES,
  shareAllowsWrite,
} from '@tenantry/core';
import {
  findVisibleResource,
  listResources,
  type ResourceQuery,
  type ResourceRow,
  updateResourceSettings,
} from '@tenantry/db';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { authenticateApiToken } from '../api-tokens.js';
import { orgControlChannel } from '../live.js';
import {
  publishFanout,
  type ResourceEvent,
  resourceEventOutput,
  resourceOutput,
  toResourceOutput,
  upsertFanout,
} from '../resource-events.js';
import { checkAccess } from '../tenancy.js';
import { requireModule, requirePermission, router, tenantProcedure } from '../trpc.js';

// The active org's resources (SPEC §8): its own and those shared with it, read by every role
// (module `agents`: resources come from agents). The hot list is also served by a lean route
// (lean-resources.ts) that answers the same page in one database round trip.

const resourcesRead = tenantProcedure.use(requireModule('agents')).use(requirePermission('resources.read'));

/** `(name, id)` of the last row of a page, opaque to clients. */
export function encodeCursor(row: { name: string; id: string }): string {
  return Buffer.from(JSON.stringify([row.name, row.id])).toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function decodeCursor(cursor: string): { name: string; id: string } | null {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') {
      if (UUID.test(value[1]) && value[0].length <= RESOURCE_LIMITS.name) return { name: value[0], id: value[1] };
    }
  } catch {
    // not a cursor
  }
  return null;
}

export const listInput = z
  .strictObject({
    type: z.enum(RESOURCE_TYPES).optional(),
    status: z.enum(RESOURCE_STATUSES).optional(),
    /** Part of the name, case-insensitive. */
    search: z.string().trim().min(1).max(100).optional(),
    /** `nextCursor` of the previous page. */
    cursor: z.string().min(1).max(400).optional(),
    limit: z.coerce.number().int().min(1).max(RESOURCE_LIMITS.pageMax).default(RESOURCE_LIMITS.pageDefault),
  })
  .default({ limit: RESOURCE_LIMITS.pageDefault });
export type ListInput = z.infer<typeof listInput>;

export const listOutput = z.object({ resources: z.array(resourceOutput), nextCursor: z.string().nullable() });

/** The repository query of a validated list input; VALIDATION_FAILED for a cursor that is not one. */
export function toResourceQuery(input: ListInput): ResourceQuery {
  const after = input.cursor ? decodeCursor(input.cursor) : undefined;
  if (after === null) {
    throw new DomainError('VALIDATION_FAILED', 'cursor is not a cursor of this list: pass nextCursor as it came.', {
      issues: [{ path: ['cursor'], message: 'not a cursor of this list', code: 'invalid_format' }],
    });
  }
  return { type: input.type, status: input.status, search: input.search, after, limit: input.limit };
}

/** The page and the cursor of the next one, from `limit + 1` rows. */
export function toPage(rows: readonly ResourceRow[], limit: number) {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    resources: page.map(toResourceOutput),
    nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
  };
}

/** How often a live stream re-checks that its caller still stands in the org. */
const RECHECK_MS = 15_000;

export const resourcesRouter = router({
  list: resourcesRead
    .meta({
      openapi: {
        method: 'GET',
        path: '/resources',
        tags: ['resources'],
        summary: 'List resources',
        description:
          "The active organization's resources and those shared with it (`shared` set), by name. Pass `nextCursor` as `cursor` for the next page.",
      },
    })
    .input(listInput)
    .output(listOutput)
    .query(async ({ ctx, input }) =>
      toPage(await listResources(ctx.em, ctx.org.id, toResourceQuery(input)), input.limit),
    ),

  byId: resourcesRead
    .meta({ openapi: { method: 'GET', path: '/resources/{resourceId}', tags: ['resources'], summary: 'A resource' } })
    .input(z.strictObject({ resourceId: z.uuid() }))
    .output(resourceOutput.extend({ agentName: z.string().nullable() }))
    .query(async ({ ctx, input }) => {
      const found = await findVisibleResource(ctx.em, ctx.org.id, input.resourceId);
      if (!found) throw new DomainError('RESOURCE_NOT_FOUND');
      return { ...toResourceOutput(found), agentName: found.agentName };
    }),

  /**
   * Changes a resource's notes and tags (editor+). A resource shared with the org can be
   * changed through an editor or admin share; the owner's pages see the change live.
   */
  update: tenantProcedure
    .use(requireModule('agents'))
    .use(requirePermission('resources.write'))
    .meta({
      openapi: {
        method: 'PATCH',
        path: '/resources/{resourceId}',
        tags: ['resources'],
        summary: "Change a resource's notes and tags",
      },
      audit: false,
    })
    .input(
      z.strictObject({
        resourceId: z.uuid(),
        notes: z.string().trim().max(RESOURCE_LIMITS.notes).nullable().optional(),
        tags: z
          .array(z.string().trim().min(1).max(RESOURCE_LIMITS.tag))
          .max(RESOURCE_LIMITS.tags)
          .transform((tags) => [...new Set(tags)])
          .optional(),
      }),
    )
    .output(resourceOutput)
    .mutation(async ({ ctx, input }) => {
      const found = await findVisibleResource(ctx.em, ctx.org.id, input.resourceId);
      if (!found) throw new DomainError('RESOURCE_NOT_FOUND');
      if (found.shared && !shareAllowsWrite(found.shared.role)) throw new DomainError('SHARE_ROLE_INSUFFICIENT');
      const patch = {
        ...(input.notes !== undefined ? { notes: input.notes || null } : {}),
        ...(input.tags !== undefined ? { tags: input.tags } : {}),
      };
      const updated = await updateResourceSettings(ctx.em, found, patch);
      if (!updated) throw new DomainError('RESOURCE_NOT_FOUND');
      await ctx.audit({
        action: 'resource.updated',
        targetType: 'resource',
        targetId: updated.id,
        details: { name: updated.name, ownerOrgId: updated.orgId, changed: Object.keys(patch) },
      });
      const owner = updated.orgId;
      ctx.afterCommit(async () => publishFanout(ctx.live, ctx.log, await upsertFanout(ctx.db, owner, [updated])));
      return toResourceOutput({ ...updated, shared: found.shared });
    }),

  /**
   * Live changes of the active org's resources (own and shared), as Server-Sent Events. The
   * stream listens to the org's own channel only; it ends when the org stops serving (control
   * channel) or the caller no longer stands in it (re-checked every 15 s).
   */
  live: resourcesRead.subscription(async function* ({ ctx, signal }): AsyncGenerator<ResourceEvent> {
    const orgId = ctx.org.id;
    const queue: ResourceEvent[] = [];
    let wake: (() => void) | null = null;
    let ended: TRPCError | null = null;
    const notify = () => {
      wake?.();
      wake = null;
    };
    const stop = (code: 'ORG_SUSPENDED' | 'ORG_DELETION_PENDING' | 'ORG_ACCESS_DENIED' | 'UNAUTHENTICATED') => {
      ended = new TRPCError({ code: 'FORBIDDEN', cause: new DomainError(code) });
      notify();
    };
    const offEvents = await ctx.live.listen(orgResourcesChannel(orgId), (message) => {
      const parsed = resourceEventOutput.safeParse(JSON.parse(message));
      if (!parsed.success) return;
      queue.push(parsed.data);
      notify();
    });
    const offControl = await ctx.live.listen(orgControlChannel(orgId), (message) => {
      const control = decodeOrgControl(message);
      if (control?.type === 'suspended') stop('ORG_SUSPENDED');
      if (control?.type === 'deleted') stop('ORG_DELETION_PENDING');
    });
    const caller = { user: ctx.user, session: ctx.session, actor: ctx.actor };
    const recheck = setInterval(() => {
      void (async () => {
        if (ctx.actor.kind === 'token' && ctx.bearerToken && !(await authenticateApiToken(ctx, ctx.bearerToken))) {
          return stop('UNAUTHENTICATED');
        }
        const access = await ctx.db.platform({ userId: ctx.user.id }, async (em) => {
          const licensed = ctx.env.MULTI_TENANT_ENABLED ? await ctx.license.isLicensed(em) : false;
          return checkAccess({ ...ctx, ...caller }, em, orgId, 'header', licensed);
        });
        if (!access.ok || !can(access.membership.role, 'resources.read')) return stop('ORG_ACCESS_DENIED');
        if (!orgServes(access.org.status)) stop('ORG_SUSPENDED');
      })().catch((error) => ctx.log.warn({ err: error, orgId }, 'live stream re-check failed'));
    }, RECHECK_MS);
    const onAbort = () => notify();
    signal?.addEventListener('abort', onAbort);
    try {
      while (!signal?.aborted) {
        if (ended) throw ended;
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      clearInterval(recheck);
      signal?.removeEventListener('abort', onAbort);
      await offEvents();
      await offControl();
    }
  }),
});
