import { randomUUID } from 'node:crypto';
import type { ResourceStatus, ResourceType, ShareRole } from '@tenantry/core';
import type { EntityManager } from '../db.js';
import { date, dateOrNull, json, type Raw, UUID_SET } from './alert-sql.js';

// Agents, resources and shares (migration 0003). Every function takes the org id, filters by
// it and runs in that org's unit of work, so that the query and RLS agree.

/** A row of `agents`, with the count of its resources. */
export interface AgentRow {
  orgId: string;
  id: string;
  name: string;
  tokenHash: string;
  createdById: string | null;
  createdAt: Date;
  lastSeenAt: Date | null;
  lastIp: string | null;
  version: string | null;
  resources: number;
}

const AGENT_COLUMNS = `a.org_id as "orgId", a.id, a.name, a.token_hash as "tokenHash",
  a.created_by_id as "createdById", a.created_at as "createdAt", a.last_seen_at as "lastSeenAt",
  a.last_ip as "lastIp", a.version,
  (select count(*) from resources r where r.org_id = a.org_id and r.agent_id = a.id)::int as "resources"`;

function mapAgent(r: Raw): AgentRow {
  return {
    orgId: r.orgId as string,
    id: r.id as string,
    name: r.name as string,
    tokenHash: r.tokenHash as string,
    createdById: (r.createdById as string | null) ?? null,
    createdAt: date(r.createdAt),
    lastSeenAt: dateOrNull(r.lastSeenAt),
    lastIp: (r.lastIp as string | null) ?? null,
    version: (r.version as string | null) ?? null,
    resources: Number(r.resources ?? 0),
  };
}

/** Thrown by `createAgent` when the org already has an agent of that name. */
export class AgentNameTakenError extends Error {
  constructor() {
    super('agent name taken');
  }
}

export async function createAgent(
  em: EntityManager,
  input: { orgId: string; id?: string; name: string; tokenHash: string; createdById: string | null },
): Promise<AgentRow> {
  try {
    const [row] = await em.execute(
      `insert into agents (org_id, id, name, token_hash, created_by_id) values (?, ?, ?, ?, ?)
       returning org_id as "orgId", id, name, token_hash as "tokenHash", created_by_id as "createdById",
         created_at as "createdAt", last_seen_at as "lastSeenAt", last_ip as "lastIp", version, 0 as "resources"`,
      [input.orgId, input.id ?? randomUUID(), input.name, input.tokenHash, input.createdById],
    );
    return mapAgent(row as Raw);
  } catch (error) {
    if (/agents_org_id_name_unique/.test(String((error as Error).message))) throw new AgentNameTakenError();
    throw error;
  }
}

export async function listAgents(em: EntityManager, orgId: string): Promise<AgentRow[]> {
  const rows = await em.execute(`select ${AGENT_COLUMNS} from agents a where a.org_id = ? order by a.name, a.id`, [
    orgId,
  ]);
  return (rows as Raw[]).map(mapAgent);
}

export async function findAgent(em: EntityManager, orgId: string, agentId: string): Promise<AgentRow | null> {
  const [row] = await em.execute(`select ${AGENT_COLUMNS} from agents a where a.org_id = ? and a.id = ?`, [
    orgId,
    agentId,
  ]);
  return row ? mapAgent(row as Raw) : null;
}

export async function countAgents(em: EntityManager, orgId: string): Promise<number> {
  const [row] = await em.execute<{ n: number }[]>('select count(*)::int as n from agents where org_id = ?', [orgId]);
  return Number(row?.n ?? 0);
}

/** Records that the agent reported (time, source address, agent version). */
export async function touchAgent(
  em: EntityManager,
  orgId: string,
  agentId: string,
  seen: { ip: string | null; version: string | null },
): Promise<void> {
  await em.execute(
    `update agents set last_seen_at = now(), last_ip = ?, version = coalesce(?, version) where org_id = ? and id = ?`,
    [seen.ip, seen.version, orgId, agentId],
  );
}

/** Removes the agent and (by cascade) its resources; answers the ids of those resources. */
export async function removeAgent(
  em: EntityManager,
  orgId: string,
  agentId: string,
): Promise<{ removed: boolean; resourceIds: string[] }> {
  const ids = await em.execute<{ id: string }[]>('select id from resources where org_id = ? and agent_id = ?', [
    orgId,
    agentId,
  ]);
  const gone = await em.execute<{ id: string }[]>('delete from agents where org_id = ? and id = ? returning id', [
    orgId,
    agentId,
  ]);
  return { removed: gone.length > 0, resourceIds: ids.map((r) => r.id) };
}

// --- resources ---------------------------------------------------------------------------

/** A resource as the active org sees it: its own, or shared with it (`shared` set). */
export interface ResourceRow {
  orgId: string;
  id: string;
  agentId: string;
  type: ResourceType;
  name: string;
  status: ResourceStatus;
  cpu: number | null;
  memory: number | null;
  disk: number | null;
  notes: string | null;
  tags: string[];
  reportedAt: Date;
  updatedAt: Date;
  shared: { shareId: string; fromOrgId: string; fromOrgName: string; role: ShareRole } | null;
}

/** One resource of an agent report. */
export interface ReportedResourceInput {
  type: ResourceType;
  name: string;
  status: ResourceStatus;
  cpu?: number | null;
  memory?: number | null;
  disk?: number | null;
}

// float4 columns: rounded to what an agent can report (0.1 ‰), not float4's noise.
const USAGE = (col: string) => `round(${col}::numeric, 4)::float8`;

const RESOURCE_FIELDS = (r: string) => `${r}.org_id as "orgId", ${r}.id, ${r}.agent_id as "agentId", ${r}.type,
  ${r}.name, ${r}.status, ${USAGE(`${r}.cpu`)} as cpu, ${USAGE(`${r}.memory`)} as memory,
  ${USAGE(`${r}.disk`)} as disk, ${r}.notes, array_to_json(${r}.tags)::text as tags,
  ${r}.reported_at as "reportedAt", ${r}.updated_at as "updatedAt"`;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function mapResource(r: Raw): ResourceRow {
  return {
    orgId: r.orgId as string,
    id: r.id as string,
    agentId: r.agentId as string,
    type: r.type as ResourceType,
    name: r.name as string,
    status: r.status as ResourceStatus,
    cpu: num(r.cpu),
    memory: num(r.memory),
    disk: num(r.disk),
    notes: (r.notes as string | null) ?? null,
    tags: json<string[]>(r.tags ?? '[]'),
    reportedAt: date(r.reportedAt),
    updatedAt: date(r.updatedAt),
    shared: r.shareId
      ? {
          shareId: r.shareId as string,
          fromOrgId: r.fromOrgId as string,
          fromOrgName: r.fromOrgName as string,
          role: r.shareRole as ShareRole,
        }
      : null,
  };
}

/**
 * Upserts an agent's report (an agent and a name identify a resource) and answers the rows as
 * stored, with whether each was created. `updated_at` moves only when something changed.
 */
export async function upsertReportedResources(
  em: EntityManager,
  orgId: string,
  agentId: string,
  resources: readonly ReportedResourceInput[],
): Promise<(ResourceRow & { created: boolean })[]> {
  if (resources.length === 0) return [];
  const payload = JSON.stringify(
    resources.map((r) => ({
      id: randomUUID(),
      type: r.type,
      name: r.name,
      status: r.status,
      cpu: r.cpu ?? null,
      memory: r.memory ?? null,
      disk: r.disk ?? null,
    })),
  );
  const rows = await em.execute(
    `insert into resources as r (org_id, id, agent_id, type, name, status, cpu, memory, disk)
     select ?, x.id, ?, x.type, x.name, x.status, x.cpu, x.memory, x.disk
     from jsonb_to_recordset(?::jsonb) as x(id uuid, type text, name text, status text, cpu real, memory real, disk real)
     on conflict (org_id, agent_id, name) do update set
       type = excluded.type, status = excluded.status, cpu = excluded.cpu, memory = excluded.memory,
       disk = excluded.disk, reported_at = now(),
       updated_at = case when (r.type, r.status, r.cpu, r.memory, r.disk)
         is distinct from (excluded.type, excluded.status, excluded.cpu, excluded.memory, excluded.disk)
         then now() else r.updated_at end
     returning ${RESOURCE_FIELDS('r')}, (xmax = 0) as created`,
    [orgId, agentId, payload],
  );
  return (rows as Raw[]).map((row) => ({ ...mapResource(row), created: row.created === true }));
}

/** Filters and page of the resources list. */
export interface ResourceQuery {
  type?: ResourceType | undefined;
  status?: ResourceStatus | undefined;
  /** Part of the name, case-insensitive. */
  search?: string | undefined;
  /** After this (name, id): the cursor of the previous page. */
  after?: { name: string; id: string } | undefined;
  limit: number;
}

function likePattern(search: string): string {
  return `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The SQL of one page of the list, as one statement: the org's own resources and those shared
 * with it, each side read by its own index from the org's first column, merged by (name, id).
 * A resource shared with the org twice (by its owner and through a re-share) is listed once,
 * with the strongest share. Answers `limit + 1` rows, so the caller knows whether more follow.
 */
export function resourcePageSql(orgId: string, q: ResourceQuery): { sql: string; params: unknown[] } {
  const filters = (r: string) => {
    const parts: string[] = [];
    const params: unknown[] = [];
    if (q.type) {
      parts.push(`${r}.type = ?`);
      params.push(q.type);
    }
    if (q.status) {
      parts.push(`${r}.status = ?`);
      params.push(q.status);
    }
    if (q.search) {
      parts.push(`${r}.name ilike ?`);
      params.push(likePattern(q.search));
    }
    if (q.after) {
      parts.push(`(${r}.name, ${r}.id) > (?, ?::uuid)`);
      params.push(q.after.name, q.after.id);
    }
    return { sql: parts.map((p) => ` and ${p}`).join(''), params };
  };
  const own = filters('r');
  const shared = filters('r');
  const limit = q.limit + 1;
  const sql = `select * from (
      (select ${RESOURCE_FIELDS('r')}, null::uuid as "shareId", null::uuid as "fromOrgId",
         null::text as "fromOrgName", null::text as "shareRole"
       from resources r where r.org_id = ?${own.sql}
       order by r.name, r.id limit ${limit})
      union all
      (select distinct on (r.name, r.id) ${RESOURCE_FIELDS('r')}, s.share_id as "shareId",
         s.granting_org_id as "fromOrgId", g.name as "fromOrgName", s.role as "shareRole"
       from incoming_shares s
       join resources r on r.org_id = s.resource_org_id and r.id = s.resource_id
       join organizations g on g.id = s.granting_org_id
       where s.org_id = ?${shared.sql}
       order by r.name, r.id, case s.role when 'admin' then 0 when 'editor' then 1 else 2 end
       limit ${limit})
    ) page order by name, id limit ${limit}`;
  return { sql, params: [orgId, ...own.params, orgId, ...shared.params] };
}

/** One page of the org's resources (own and shared), `limit + 1` rows. */
export async function listResources(em: EntityManager, orgId: string, q: ResourceQuery): Promise<ResourceRow[]> {
  const { sql, params } = resourcePageSql(orgId, q);
  return ((await em.execute(sql, params)) as Raw[]).map(mapResource);
}

/** A resource visible in the org: its own, or shared with it (with the strongest share). */
export async function findVisibleResource(
  em: EntityManager,
  orgId: string,
  resourceId: string,
): Promise<(ResourceRow & { agentName: string | null }) | null> {
  const [own] = await em.execute(
    `select ${RESOURCE_FIELDS('r')}, a.name as "agentName" from resources r
     left join agents a on a.org_id = r.org_id and a.id = r.agent_id
     where r.org_id = ? and r.id = ?`,
    [orgId, resourceId],
  );
  if (own) return { ...mapResource(own as Raw), agentName: ((own as Raw).agentName as string | null) ?? null };
  const [shared] = await em.execute(
    `select ${RESOURCE_FIELDS('r')}, s.share_id as "shareId", s.granting_org_id as "fromOrgId",
       g.name as "fromOrgName", s.role as "shareRole"
     from incoming_shares s
     join resources r on r.org_id = s.resource_org_id and r.id = s.resource_id
     join organizations g on g.id = s.granting_org_id
     where s.org_id = ? and s.resource_id = ?
     order by case s.role when 'admin' then 0 when 'editor' then 1 else 2 end limit 1`,
    [orgId, resourceId],
  );
  return shared ? { ...mapResource(shared as Raw), agentName: null } : null;
}

/**
 * Changes a resource's settings (notes, tags). The row may be another org's, shared with this
 * one with an editor or admin share: RLS allows exactly that, and the owner's org id is named.
 */
export async function updateResourceSettings(
  em: EntityManager,
  resource: { orgId: string; id: string },
  patch: { notes?: string | null; tags?: string[] },
): Promise<ResourceRow | null> {
  const sets: string[] = [];
  const params: unknown[] = [];
  if (patch.notes !== undefined) {
    sets.push('notes = ?');
    params.push(patch.notes);
  }
  if (patch.tags !== undefined) {
    sets.push(`tags = array(select jsonb_array_elements_text(?::jsonb))`);
    params.push(JSON.stringify(patch.tags));
  }
  if (sets.length === 0) sets.push('updated_at = updated_at');
  else sets.push('updated_at = now()');
  const [row] = await em.execute(
    `update resources r set ${sets.join(', ')} where r.org_id = ? and r.id = ? returning ${RESOURCE_FIELDS('r')}`,
    [...params, resource.orgId, resource.id],
  );
  return row ? mapResource(row as Raw) : null;
}

/** The org's own resources of these ids (others' are skipped), with their type. */
export async function findOwnResources(
  em: EntityManager,
  orgId: string,
  ids: readonly string[],
): Promise<{ id: string; type: ResourceType; name: string }[]> {
  if (ids.length === 0) return [];
  return em.execute(`select id, type, name from resources where org_id = ? and id in ${UUID_SET}`, [
    orgId,
    JSON.stringify(ids),
  ]);
}

// --- shares ------------------------------------------------------------------------------

/** A share the org granted (its `shares` row), with names for lists. */
export interface ShareRow {
  orgId: string;
  id: string;
  targetOrgId: string;
  targetOrgName: string;
  resourceOrgId: string;
  resourceId: string;
  resourceType: ResourceType;
  resourceName: string | null;
  role: ShareRole;
  parentShareId: string | null;
  createdById: string | null;
  createdAt: Date;
}

/** A share the org received (its `incoming_shares` row). */
export interface IncomingShareRow {
  orgId: string;
  id: string;
  grantingOrgId: string;
  grantingOrgName: string;
  resourceOrgId: string;
  resourceId: string;
  resourceType: ResourceType;
  resourceName: string | null;
  role: ShareRole;
  createdAt: Date;
}

const SHARE_COLUMNS = `s.org_id as "orgId", s.id, s.target_org_id as "targetOrgId", t.name as "targetOrgName",
  s.resource_org_id as "resourceOrgId", s.resource_id as "resourceId", s.resource_type as "resourceType",
  r.name as "resourceName", s.role, s.parent_share_id as "parentShareId", s.created_by_id as "createdById",
  s.created_at as "createdAt"`;

function mapShare(r: Raw): ShareRow {
  return {
    orgId: r.orgId as string,
    id: r.id as string,
    targetOrgId: r.targetOrgId as string,
    targetOrgName: (r.targetOrgName as string | null) ?? '',
    resourceOrgId: r.resourceOrgId as string,
    resourceId: r.resourceId as string,
    resourceType: r.resourceType as ResourceType,
    resourceName: (r.resourceName as string | null) ?? null,
    role: r.role as ShareRole,
    parentShareId: (r.parentShareId as string | null) ?? null,
    createdById: (r.createdById as string | null) ?? null,
    createdAt: date(r.createdAt),
  };
}

/** The shares the org granted, newest first. Resource names resolve where the org can read them. */
export async function listShares(em: EntityManager, orgId: string): Promise<ShareRow[]> {
  const rows = await em.execute(
    `select ${SHARE_COLUMNS} from shares s
     join organizations t on t.id = s.target_org_id
     left join resources r on r.org_id = s.resource_org_id and r.id = s.resource_id
     where s.org_id = ? order by s.created_at desc, s.id`,
    [orgId],
  );
  return (rows as Raw[]).map(mapShare);
}

export async function findShare(em: EntityManager, orgId: string, shareId: string): Promise<ShareRow | null> {
  const [row] = await em.execute(
    `select ${SHARE_COLUMNS} from shares s
     join organizations t on t.id = s.target_org_id
     left join resources r on r.org_id = s.resource_org_id and r.id = s.resource_id
     where s.org_id = ? and s.id = ?`,
    [orgId, shareId],
  );
  return row ? mapShare(row as Raw) : null;
}

/** The shares received by the org, newest first. */
export async function listIncomingShares(em: EntityManager, orgId: string): Promise<IncomingShareRow[]> {
  const rows = await em.execute(
    `select s.org_id as "orgId", s.share_id as id, s.granting_org_id as "grantingOrgId", g.name as "grantingOrgName",
       s.resource_org_id as "resourceOrgId", s.resource_id as "resourceId", s.resource_type as "resourceType",
       r.name as "resourceName", s.role, s.created_at as "createdAt"
     from incoming_shares s
     join organizations g on g.id = s.granting_org_id
     left join resources r on r.org_id = s.resource_org_id and r.id = s.resource_id
     where s.org_id = ? order by s.created_at desc, s.share_id`,
    [orgId],
  );
  return (rows as Raw[]).map((r) => ({
    orgId: r.orgId as string,
    id: r.id as string,
    grantingOrgId: r.grantingOrgId as string,
    grantingOrgName: (r.grantingOrgName as string | null) ?? '',
    resourceOrgId: r.resourceOrgId as string,
    resourceId: r.resourceId as string,
    resourceType: r.resourceType as ResourceType,
    resourceName: (r.resourceName as string | null) ?? null,
    role: r.role as ShareRole,
    createdAt: date(r.createdAt),
  }));
}

/** The org's incoming share of a resource, strongest first; null if it holds none. */
export async function findIncomingShareOf(
  em: EntityManager,
  orgId: string,
  resourceId: string,
): Promise<{ shareId: string; grantingOrgId: string; resourceOrgId: string; role: ShareRole } | null> {
  const [row] = await em.execute(
    `select share_id as "shareId", granting_org_id as "grantingOrgId", resource_org_id as "resourceOrgId", role
     from incoming_shares where org_id = ? and resource_id = ?
     order by case role when 'admin' then 0 when 'editor' then 1 else 2 end limit 1`,
    [orgId, resourceId],
  );
  return (row as { shareId: string; grantingOrgId: string; resourceOrgId: string; role: ShareRole }) ?? null;
}

/** Thrown by `createShare` when the resource is already shared with that org by this org. */
export class ShareExistsError extends Error {
  constructor() {
    super('share exists');
  }
}

/** Writes the granting org's side of a share (run in the granting org's scope). */
export async function createShare(
  em: EntityManager,
  input: {
    orgId: string;
    id?: string;
    targetOrgId: string;
    resourceOrgId: string;
    resourceId: string;
    resourceType: ResourceType;
    role: ShareRole;
    parentShareId: string | null;
    createdById: string | null;
  },
): Promise<string> {
  const id = input.id ?? randomUUID();
  try {
    await em.execute(
      `insert into shares (org_id, id, target_org_id, resource_org_id, resource_id, resource_type, role, parent_share_id, created_by_id)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        input.orgId,
        id,
        input.targetOrgId,
        input.resourceOrgId,
        input.resourceId,
        input.resourceType,
        input.role,
        input.parentShareId,
        input.createdById,
      ],
    );
  } catch (error) {
    if (/shares_org_id_resource_target_unique/.test(String((error as Error).message))) throw new ShareExistsError();
    throw error;
  }
  return id;
}

/** Writes the receiving org's side of a share (run in the target org's scope). */
export async function createIncomingShare(
  em: EntityManager,
  input: {
    orgId: string;
    shareId: string;
    grantingOrgId: string;
    resourceOrgId: string;
    resourceId: string;
    resourceType: ResourceType;
    role: ShareRole;
  },
): Promise<void> {
  await em.execute(
    `insert into incoming_shares (org_id, share_id, granting_org_id, resource_org_id, resource_id, resource_type, role)
     values (?, ?, ?, ?, ?, ?, ?)`,
    [
      input.orgId,
      input.shareId,
      input.grantingOrgId,
      input.resourceOrgId,
      input.resourceId,
      input.resourceType,
      input.role,
    ],
  );
}

/**
 * Deletes shares of the org (their incoming sides go by cascade). Answers what was deleted,
 * so the caller can remove re-shares made through them in the targets' scopes.
 */
export async function deleteShares(
  em: EntityManager,
  orgId: string,
  where: { shareIds?: readonly string[]; resourceIds?: readonly string[]; parentShareIds?: readonly string[] },
): Promise<{ id: string; targetOrgId: string; resourceOrgId: string; resourceId: string; role: ShareRole }[]> {
  const clauses: string[] = [];
  const params: unknown[] = [orgId];
  if (where.shareIds) {
    clauses.push(`id in ${UUID_SET}`);
    params.push(JSON.stringify(where.shareIds));
  }
  if (where.resourceIds) {
    clauses.push(`resource_id in ${UUID_SET}`);
    params.push(JSON.stringify(where.resourceIds));
  }
  if (where.parentShareIds) {
    clauses.push(`parent_share_id in ${UUID_SET}`);
    params.push(JSON.stringify(where.parentShareIds));
  }
  if (clauses.length === 0) return [];
  return em.execute(
    `delete from shares where org_id = ? and (${clauses.join(' or ')})
     returning id, target_org_id as "targetOrgId", resource_org_id as "resourceOrgId", resource_id as "resourceId", role`,
    params,
  );
}

/** The org's shares of these resources: to whom, with which role (for live fan-out). */
export async function listSharesOfResources(
  em: EntityManager,
  orgId: string,
  resourceIds: readonly string[],
): Promise<{ id: string; targetOrgId: string; resourceId: string; role: ShareRole }[]> {
  if (resourceIds.length === 0) return [];
  return em.execute(
    `select id, target_org_id as "targetOrgId", resource_id as "resourceId", role from shares
     where org_id = ? and resource_org_id = ? and resource_id in ${UUID_SET}`,
    [orgId, orgId, JSON.stringify(resourceIds)],
  );
}

/** Re-shares the org made through one of the shares it received. */
export async function listResharesThrough(
  em: EntityManager,
  orgId: string,
  parentShareIds: readonly string[],
): Promise<{ id: string; targetOrgId: string; resourceId: string; role: ShareRole }[]> {
  if (parentShareIds.length === 0) return [];
  return em.execute(
    `select id, target_org_id as "targetOrgId", resource_id as "resourceId", role from shares
     where org_id = ? and parent_share_id in ${UUID_SET}`,
    [orgId, JSON.stringify(parentShareIds)],
  );
}
