import { orgResourcesChannel, type ShareRole, strongestShareRole } from '@tenantry/core';
import {
  type Db,
  deleteShares,
  type EntityManager,
  inOrgScope,
  listResharesThrough,
  listSharesOfResources,
  type ResourceRow,
} from '@tenantry/db';
import type { FastifyBaseLogger } from 'fastify';
import { z } from 'zod';
import type { LiveHub } from './live.js';

// What a resource looks like on the wire (lists, detail, live events), and the fan-out of
// its changes to every org that may see it: the owner, the orgs it is shared with, and the
// orgs those re-shared it with. Each org gets the event on its own channel only.

export const sharedOutput = z
  .object({
    shareId: z.string(),
    fromOrgId: z.string(),
    fromOrgName: z.string(),
    role: z.enum(['viewer', 'editor', 'admin']),
  })
  .nullable();

export const resourceOutput = z.object({
  id: z.string(),
  orgId: z.string(),
  agentId: z.string(),
  type: z.enum(['host', 'vm', 'container', 'storage']),
  name: z.string(),
  status: z.enum(['online', 'offline', 'running', 'stopped', 'paused', 'degraded', 'unknown']),
  cpu: z.number().nullable(),
  memory: z.number().nullable(),
  disk: z.number().nullable(),
  notes: z.string().nullable(),
  tags: z.array(z.string()),
  reportedAt: z.string(),
  updatedAt: z.string(),
  /** Null for the org's own resources; the share it is seen through otherwise. */
  shared: sharedOutput,
});
export type ResourceOutput = z.infer<typeof resourceOutput>;

export const resourceEventOutput = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('upsert'), resource: resourceOutput }),
  z.object({ kind: z.literal('remove'), resourceId: z.string(), orgId: z.string() }),
]);
export type ResourceEvent = z.infer<typeof resourceEventOutput>;

const iso = (d: Date) => d.toISOString();

export function toResourceOutput(r: ResourceRow): ResourceOutput {
  return {
    id: r.id,
    orgId: r.orgId,
    agentId: r.agentId,
    type: r.type,
    name: r.name,
    status: r.status,
    cpu: r.cpu,
    memory: r.memory,
    disk: r.disk,
    notes: r.notes,
    tags: r.tags,
    reportedAt: iso(r.reportedAt),
    updatedAt: iso(r.updatedAt),
    shared: r.shared,
  };
}

/** One org that sees a resource through a share. */
export interface Viewer {
  orgId: string;
  shareId: string;
  fromOrgId: string;
  role: ShareRole;
}

/**
 * The orgs other than the owner that see each of these resources of `ownerOrgId`: its shares
 * (read in the owner's scope, where `em`'s transaction stands), and the re-shares made through
 * admin shares (read in each re-sharing org's scope, switched inside the same transaction).
 * The strongest share wins when one org sees a resource twice.
 */
export async function viewersOf(
  em: EntityManager,
  ownerOrgId: string,
  resourceIds: readonly string[],
): Promise<{ viewers: Map<string, Viewer[]>; names: Map<string, string> }> {
  const viewers = new Map<string, Viewer[]>();
  if (resourceIds.length === 0) return { viewers, names: new Map() };
  const shares = await listSharesOfResources(em, ownerOrgId, resourceIds);
  if (shares.length === 0) return { viewers, names: new Map() };
  const add = (resourceId: string, viewer: Viewer) => {
    const list = viewers.get(resourceId) ?? [];
    const same = list.findIndex((v) => v.orgId === viewer.orgId);
    if (same < 0) list.push(viewer);
    else if (strongestShareRole([list[same]!.role, viewer.role]) === viewer.role) list[same] = viewer;
    viewers.set(resourceId, list);
  };
  for (const s of shares)
    add(s.resourceId, { orgId: s.targetOrgId, shareId: s.id, fromOrgId: ownerOrgId, role: s.role });
  for (const [resharer, parentIds] of adminSharesByTarget(shares)) {
    const reshares = await inOrgScope(em, resharer, () => listResharesThrough(em, resharer, parentIds));
    for (const r of reshares) {
      if (r.targetOrgId !== ownerOrgId) {
        add(r.resourceId, { orgId: r.targetOrgId, shareId: r.id, fromOrgId: resharer, role: r.role });
      }
    }
  }
  const names = await orgNames(
    em,
    [...viewers.values()].flat().map((v) => v.fromOrgId),
  );
  return { viewers, names };
}

/** The admin shares among `shares`, by the org that holds them (which may have re-shared). */
export function adminSharesByTarget(
  shares: readonly { id: string; targetOrgId: string; role: ShareRole }[],
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of shares) {
    if (s.role === 'admin') out.set(s.targetOrgId, [...(out.get(s.targetOrgId) ?? []), s.id]);
  }
  return out;
}

/**
 * Removes the re-shares made through shares that are gone, each in its re-sharing org's scope
 * inside the caller's transaction, and answers them so that their receivers can be told.
 */
export async function removeResharesThrough(
  em: EntityManager,
  parents: Map<string, string[]>,
): Promise<{ targetOrgId: string; resourceOrgId: string; resourceId: string }[]> {
  const gone: { targetOrgId: string; resourceOrgId: string; resourceId: string }[] = [];
  for (const [resharer, parentShareIds] of parents) {
    gone.push(...(await inOrgScope(em, resharer, () => deleteShares(em, resharer, { parentShareIds }))));
  }
  return gone;
}

/** Names of orgs, for the `shared` part of events (organizations are readable in any scope). */
async function orgNames(em: EntityManager, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await em.execute<{ id: string; name: string }[]>(
    'select id, name from organizations where id in (select v::uuid from jsonb_array_elements_text(?::jsonb) v)',
    [JSON.stringify([...new Set(ids)])],
  );
  return new Map(rows.map((r) => [r.id, r.name]));
}

/** Live events to publish: each on the channel of the one org it is for. */
export type Fanout = { channel: string; message: string }[];

function eventFor(orgId: string, event: ResourceEvent): Fanout[number] {
  return { channel: orgResourcesChannel(orgId), message: JSON.stringify(event) };
}

/**
 * `upsert` of each changed resource of `ownerOrgId` to the owner and to every org that sees
 * it, marked as shared from that org's point of view. Runs its own units: after the commit.
 */
export async function upsertFanout(db: Db, ownerOrgId: string, rows: readonly ResourceRow[]): Promise<Fanout> {
  const own = rows.filter((r) => r.orgId === ownerOrgId);
  if (own.length === 0) return [];
  const { viewers, names } = await db.tenant({ orgId: ownerOrgId }, (em) =>
    viewersOf(
      em,
      ownerOrgId,
      own.map((r) => r.id),
    ),
  );
  const out: Fanout = [];
  for (const row of own) {
    const resource = toResourceOutput({ ...row, shared: null });
    out.push(eventFor(ownerOrgId, { kind: 'upsert', resource }));
    for (const v of viewers.get(row.id) ?? []) {
      const shared = {
        shareId: v.shareId,
        fromOrgId: v.fromOrgId,
        fromOrgName: names.get(v.fromOrgId) ?? '',
        role: v.role,
      };
      out.push(eventFor(v.orgId, { kind: 'upsert', resource: { ...resource, shared } }));
    }
  }
  return out;
}

/** `remove` of resources of `ownerOrgId` for the given orgs (the owner, former viewers). */
export function removeFanout(ownerOrgId: string, removals: readonly { orgId: string; resourceId: string }[]): Fanout {
  const seen = new Set<string>();
  const out: Fanout = [];
  for (const r of removals) {
    const key = `${r.orgId}|${r.resourceId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(eventFor(r.orgId, { kind: 'remove', resourceId: r.resourceId, orgId: ownerOrgId }));
  }
  return out;
}

/** Publishes a fan-out (after the commit); a failure is logged, the change stands. */
export async function publishFanout(live: LiveHub, log: FastifyBaseLogger, fanout: Fanout): Promise<void> {
  try {
    await Promise.all(fanout.map((m) => live.publish(m.channel, m.message)));
  } catch (error) {
    log.warn({ err: error }, 'live resource events could not be published');
  }
}
