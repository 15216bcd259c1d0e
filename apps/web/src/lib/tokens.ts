import { queryOptions } from '@tanstack/solid-query';
import { type RouterOutputs, trpc } from './trpc';
import type { CurrentOrg } from './types';

export type ApiToken = RouterOutputs['tokens']['list']['tokens'][number];
export type CreatedApiToken = RouterOutputs['tokens']['create'];

/** Whether the org has the API tokens module. */
export function showsTokens(org: CurrentOrg | undefined): boolean {
  return !!org && org.modules.includes('api_tokens') && org.permissions.includes('tokens.create');
}

export const tokenQueries = {
  list: () =>
    queryOptions({
      queryKey: ['tokens'],
      queryFn: ({ signal }) => trpc.tokens.list.query(undefined, { signal }),
    }),
};
