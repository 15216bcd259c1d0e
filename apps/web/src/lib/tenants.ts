import { queryOptions } from '@tanstack/solid-query';
import { type RouterOutputs, trpc } from './trpc';

/** Admin → Tenants and the org lifecycle: types and queries (platform admins, owners). */

export type TenantList = RouterOutputs['admin']['tenants']['list'];
export type Tenant = TenantList['tenants'][number];
export type Deletion = RouterOutputs['admin']['deletions']['byId'];
export type Usage = RouterOutputs['usage']['byOrg'];
export type ModuleName = Tenant['modules'][number];

/** How each module is named on screen. */
export const MODULE_LABELS: Record<ModuleName, string> = {
  agents: 'Agents',
  alerts: 'Alerts',
  audit: 'Audit log',
  api_tokens: 'API tokens',
  sharing: 'Sharing',
};

/** How long a running deletion waits between two progress reads. */
export const DELETION_POLL_MS = 400;

export const tenantQueries = {
  list: () =>
    queryOptions({
      queryKey: ['admin', 'tenants'],
      queryFn: ({ signal }) => trpc.admin.tenants.list.query(undefined, { signal }),
    }),
  /** A deletion, re-read while it runs (platform admins read any; owners use `ownDeletion`). */
  deletion: (deletionId: string) =>
    queryOptions({
      queryKey: ['admin', 'deletions', deletionId],
      queryFn: ({ signal }) => trpc.admin.deletions.byId.query({ deletionId }, { signal }),
      refetchInterval: (query) => (isOver(query.state.data) ? false : DELETION_POLL_MS),
      staleTime: 0,
    }),
  usage: (orgId: string) =>
    queryOptions({
      queryKey: ['usage', orgId],
      queryFn: ({ signal }) => trpc.usage.byOrg.query({ orgId }, { signal }),
    }),
};

/** Whether a deletion has ended (its report or its failure is final). */
export function isOver(deletion: Deletion | undefined): boolean {
  return deletion?.status === 'completed' || deletion?.status === 'failed' || deletion?.status === 'cancelled';
}

/** "12,345" */
export function formatCount(n: number): string {
  return n.toLocaleString();
}

/** Words for a deletion's current step. */
export const STEP_LABELS: Record<Deletion['step'], string> = {
  prepare: 'Counting what to delete',
  jobs: 'Removing queued jobs',
  rows: 'Deleting rows',
  tokens: 'Removing API tokens',
  users: 'Removing and repointing users',
  organization: 'Removing the organization',
  redis: 'Clearing cached data',
  files: 'Removing stored files',
  report: 'Writing the report',
};
