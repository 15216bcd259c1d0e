import { infiniteQueryOptions } from '@tanstack/solid-query';
import { type RouterInputs, type RouterOutputs, trpc } from './trpc';
import type { CurrentOrg } from './types';

export type AuditEvent = RouterOutputs['audit']['list']['events'][number];
export type AuditFilters = Omit<NonNullable<RouterInputs['audit']['list']>, 'cursor' | 'limit'>;
export type AuditVerification = RouterOutputs['audit']['verify'];

/** Whether the org has the audit module and the member may read the log (admin+). */
export function showsAudit(org: CurrentOrg | undefined): boolean {
  return !!org && org.modules.includes('audit') && org.permissions.includes('audit.read');
}

export const auditQueries = {
  list: (orgId: string, filters: AuditFilters) =>
    infiniteQueryOptions({
      queryKey: ['audit', orgId, filters],
      queryFn: ({ pageParam, signal }) =>
        trpc.audit.list.query({ ...filters, ...(pageParam ? { cursor: pageParam } : {}), limit: 50 }, { signal }),
      initialPageParam: null as number | null,
      getNextPageParam: (last) => last.nextCursor,
    }),
};

/** The export's URL for the active org: the browser downloads it with the session cookie. */
export function auditExportUrl(format: 'ndjson' | 'csv', filters: AuditFilters): string {
  const params = new URLSearchParams({ format });
  for (const [key, value] of Object.entries(filters)) if (value) params.set(key, String(value));
  return `/api/audit/export?${params.toString()}`;
}
