import { queryOptions } from '@tanstack/solid-query';
import { getUntypedClient } from '@trpc/client';
import type { ResourceType, ShareRole } from './resources';
import { trpc } from './trpc';
import type { CurrentOrg } from './types';

// CONTRACT: replaced by the AppRouter's inferred types once the API has them.
export interface Share {
  id: string;
  targetOrgId: string;
  targetOrgName: string;
  resourceOrgId: string;
  resourceId: string;
  resourceType: ResourceType;
  resourceName: string;
  role: ShareRole;
  createdAt: string;
}
export interface IncomingShare {
  id: string;
  grantingOrgId: string;
  grantingOrgName: string;
  resourceOrgId: string;
  resourceId: string;
  resourceType: ResourceType;
  resourceName: string;
  role: ShareRole;
  createdAt: string;
}
export interface ShareInput {
  orgId: string;
  targetOrgId: string;
  resourceType: ResourceType;
  resourceId: string;
  role: ShareRole;
}
const untyped = getUntypedClient(trpc);
export const sharesApi = {
  list: (orgId: string, signal?: AbortSignal) =>
    untyped.query('shares.list', { orgId }, { signal }) as Promise<{ shares: Share[] }>,
  incoming: (orgId: string, signal?: AbortSignal) =>
    untyped.query('shares.incoming', { orgId }, { signal }) as Promise<{ shares: IncomingShare[] }>,
  create: (input: ShareInput) => untyped.mutation('shares.create', input) as Promise<Share>,
  remove: (input: { orgId: string; shareId: string }) =>
    untyped.mutation('shares.remove', input) as Promise<{ ok: true }>,
};
// END CONTRACT

/** Whether the org has the sharing module (licensed) and the member may see its shares. */
export function showsSharing(org: CurrentOrg | undefined): boolean {
  return !!org && org.modules.includes('sharing') && org.permissions.includes('shares.read');
}

/** Query options of shares; keys start with `['shares', orgId]`. */
export const shareQueries = {
  outgoing: (orgId: string) =>
    queryOptions({
      queryKey: ['shares', orgId, 'outgoing'],
      queryFn: ({ signal }) => sharesApi.list(orgId, signal),
    }),
  incoming: (orgId: string) =>
    queryOptions({
      queryKey: ['shares', orgId, 'incoming'],
      queryFn: ({ signal }) => sharesApi.incoming(orgId, signal),
    }),
};
