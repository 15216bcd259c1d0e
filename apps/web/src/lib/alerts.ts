import { infiniteQueryOptions, queryOptions } from '@tanstack/solid-query';
import { type RouterInputs, type RouterOutputs, trpc } from './trpc';
import type { CurrentOrg } from './types';

export type AlertRule = RouterOutputs['alertRules']['list']['rules'][number];
export type AlertRuleInput = RouterInputs['alertRules']['create'];
export type Alert = RouterOutputs['alerts']['list']['alerts'][number];
export type AlertStatusFilter = 'firing' | 'resolved' | 'all';

/** Whether the org has the alerts module and the member may read alerts. */
export function showsAlerts(org: CurrentOrg | undefined): boolean {
  return !!org && org.modules.includes('alerts') && org.permissions.includes('alerts.read');
}

/** Query options of the alerts module; keys start with `['alerts', orgId]` so one prefix refreshes them all. */
export const alertQueries = {
  rules: (orgId: string) =>
    queryOptions({
      queryKey: ['alerts', orgId, 'rules'],
      queryFn: ({ signal }) => trpc.alertRules.list.query(undefined, { signal }),
    }),
  /** The firing count of the navigation badge, refreshed every 30 s. */
  summary: (orgId: string) =>
    queryOptions({
      queryKey: ['alerts', orgId, 'summary'],
      queryFn: ({ signal }) => trpc.alerts.summary.query(undefined, { signal }),
      refetchInterval: 30_000,
    }),
  list: (orgId: string, status: AlertStatusFilter) =>
    infiniteQueryOptions({
      queryKey: ['alerts', orgId, 'list', status],
      queryFn: ({ pageParam, signal }) =>
        trpc.alerts.list.query(
          { ...(status === 'all' ? {} : { status }), ...(pageParam ? { cursor: pageParam } : {}), limit: 25 },
          { signal },
        ),
      initialPageParam: null as string | null,
      getNextPageParam: (last) => last.nextCursor,
    }),
};
