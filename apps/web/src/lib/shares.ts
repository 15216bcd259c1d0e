import { queryOptions } from '@tanstack/solid-query';
import { type RouterOutputs, trpc } from './trpc';
import type { CurrentOrg } from './types';

export type Share = RouterOutputs['shares']['list']['shares'][number];
export type IncomingShare = RouterOutputs['shares']['incoming']['shares'][number];

/** Whether the org has the sharing module (licensed) and the member may see its shares. */
export function showsSharing(org: CurrentOrg | undefined): boolean {
  return !!org && org.modules.includes('sharing') && org.permissions.includes('shares.read');
}

/** Query options of shares; keys start with `['shares', orgId]`. */
export const shareQueries = {
  outgoing: (orgId: string) =>
    queryOptions({
      queryKey: ['shares', orgId, 'outgoing'],
      queryFn: ({ signal }) => trpc.shares.list.query({ orgId }, { signal }),
    }),
  incoming: (orgId: string) =>
    queryOptions({
      queryKey: ['shares', orgId, 'incoming'],
      queryFn: ({ signal }) => trpc.shares.incoming.query({ orgId }, { signal }),
    }),
};
