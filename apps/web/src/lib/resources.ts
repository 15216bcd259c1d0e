import { type InfiniteData, infiniteQueryOptions, queryOptions } from '@tanstack/solid-query';
import { type Accessor, createSignal, onCleanup } from 'solid-js';
import { queryClient } from './queries';
import { type RouterOutputs, trpc } from './trpc';
import type { CurrentOrg } from './types';

export { RESOURCE_STATUSES, RESOURCE_TYPES, SHARE_ROLES } from '@tenantry/core';

export type Resource = RouterOutputs['resources']['list']['resources'][number];
export type ResourceDetail = RouterOutputs['resources']['byId'];
export type ResourcePage = RouterOutputs['resources']['list'];
export type ResourceType = Resource['type'];
export type ResourceStatus = Resource['status'];
export type ShareRole = NonNullable<Resource['shared']>['role'];
/** One event of `resources.live`. */
export type ResourceEvent = RouterOutputs['resources']['live'] extends AsyncIterable<infer E> ? E : never;

/** What the resources table is narrowed to; empty means everything. */
export interface ResourceFilters {
  type?: ResourceType;
  status?: ResourceStatus;
  search?: string;
}

/** Whether the org has the agents module (resources come from agents) and the member may read resources. */
export function showsResources(org: CurrentOrg | undefined): boolean {
  return !!org && org.modules.includes('agents') && org.permissions.includes('resources.read');
}

/** Whether the member may change this resource's notes and tags: `resources.write`, and for a shared one an editor or admin share. */
export function mayEditResource(org: CurrentOrg | undefined, resource: Resource): boolean {
  if (!org?.permissions.includes('resources.write')) return false;
  return resource.shared === null || resource.shared.role === 'editor' || resource.shared.role === 'admin';
}

/** Query options of resources; keys start with `['resources', orgId]` so one prefix refreshes them all. */
export const resourceQueries = {
  list: (orgId: string, filters: ResourceFilters) =>
    infiniteQueryOptions({
      queryKey: ['resources', orgId, 'list', filters],
      queryFn: ({ pageParam, signal }) =>
        trpc.resources.list.query({ ...filters, ...(pageParam ? { cursor: pageParam } : {}), limit: 50 }, { signal }),
      initialPageParam: null as string | null,
      getNextPageParam: (last) => last.nextCursor,
    }),
  byId: (orgId: string, resourceId: string) =>
    queryOptions({
      queryKey: ['resources', orgId, 'byId', resourceId],
      queryFn: ({ signal }) => trpc.resources.byId.query({ resourceId }, { signal }),
    }),
};

function matches(resource: Resource, filters: ResourceFilters): boolean {
  if (filters.type && resource.type !== filters.type) return false;
  if (filters.status && resource.status !== filters.status) return false;
  if (filters.search && !resource.name.toLowerCase().includes(filters.search.toLowerCase())) return false;
  return true;
}

/** The list's order: by name, then id. */
function before(a: Resource, b: Resource): boolean {
  return a.name === b.name ? a.id < b.id : a.name < b.name;
}

/** A list page set with `resource` put in, replaced or taken out, as the filters say. */
function upsertInto(data: InfiniteData<ResourcePage>, resource: Resource, filters: ResourceFilters) {
  const pages = data.pages.map((p) => ({ ...p, resources: p.resources.filter((r) => r.id !== resource.id) }));
  const at = data.pages.findIndex((p) => p.resources.some((r) => r.id === resource.id));
  if (!matches(resource, filters)) return at === -1 ? data : { ...data, pages };
  if (at !== -1) {
    // In place: a report changes status and metrics, never the position.
    return {
      ...data,
      pages: data.pages.map((p, i) =>
        i === at ? { ...p, resources: p.resources.map((r) => (r.id === resource.id ? resource : r)) } : p,
      ),
    };
  }
  const last = pages[pages.length - 1];
  const lastRow = last?.resources[last.resources.length - 1];
  // Past the loaded rows, it arrives with "Load more".
  if (!last || (last.nextCursor !== null && lastRow && before(lastRow, resource))) return data;
  const page = pages.findIndex((p) => {
    const tail = p.resources[p.resources.length - 1];
    return tail !== undefined && before(resource, tail);
  });
  const target = page === -1 ? pages.length - 1 : page;
  const rows = [...pages[target]!.resources];
  const index = rows.findIndex((r) => before(resource, r));
  rows.splice(index === -1 ? rows.length : index, 0, resource);
  pages[target] = { ...pages[target]!, resources: rows };
  return { ...data, pages };
}

/** Applies one live event to every cached view of the org's resources. */
export function applyResourceEvent(orgId: string, event: ResourceEvent): void {
  for (const query of queryClient.getQueryCache().findAll({ queryKey: ['resources', orgId, 'list'] })) {
    const filters = (query.queryKey[3] ?? {}) as ResourceFilters;
    queryClient.setQueryData<InfiniteData<ResourcePage>>(query.queryKey, (data) => {
      if (!data) return data;
      if (event.kind === 'upsert') return upsertInto(data, event.resource, filters);
      return {
        ...data,
        pages: data.pages.map((p) => ({ ...p, resources: p.resources.filter((r) => r.id !== event.resourceId) })),
      };
    });
  }
  if (event.kind === 'upsert') {
    queryClient.setQueryData<ResourceDetail>(['resources', orgId, 'byId', event.resource.id], (old) =>
      old ? { ...old, ...event.resource } : old,
    );
  } else {
    // Gone (removed, or no longer shared): the detail page says so.
    void queryClient.invalidateQueries({ queryKey: ['resources', orgId, 'byId', event.resourceId] });
  }
}

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'failed';

/**
 * Follows `resources.live` while the calling component lives: events patch the cached lists and
 * details in place. Each time the stream (re)connects, the cached views are reloaded first, with
 * the events of that moment held back and applied after, so nothing missed while disconnected
 * or loading stays on screen. Returns the connection's state and `onEvent` sees every event.
 */
export function createResourcesLive(
  orgId: string,
  onEvent?: (event: ResourceEvent) => void,
): { state: Accessor<LiveState>; error: Accessor<unknown> } {
  const [state, setState] = createSignal<LiveState>('connecting');
  const [error, setError] = createSignal<unknown>(null);
  let connected = false;
  let held: ResourceEvent[] | null = null;
  const apply = (event: ResourceEvent) => {
    applyResourceEvent(orgId, event);
    onEvent?.(event);
  };
  const subscription = trpc.resources.live.subscribe(undefined, {
    onStarted: () => {
      connected = true;
      held = [];
      void queryClient.invalidateQueries({ queryKey: ['resources', orgId] }).finally(() => {
        const pending = held ?? [];
        held = null;
        for (const event of pending) apply(event);
        setError(null);
        setState('live');
      });
    },
    onData: (event) => {
      if (held) held.push(event);
      else apply(event);
    },
    onConnectionStateChange: (s) => {
      if (s.state === 'connecting' && connected) setState('reconnecting');
    },
    onError: (cause) => {
      setError(cause);
      setState('failed');
    },
  });
  onCleanup(() => subscription.unsubscribe());
  return { state, error };
}
