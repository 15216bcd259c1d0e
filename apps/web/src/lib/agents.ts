import { queryOptions } from '@tanstack/solid-query';
import { type RouterOutputs, trpc } from './trpc';
import type { CurrentOrg } from './types';

export type Agent = RouterOutputs['agents']['list']['agents'][number];
export type RegisteredAgent = RouterOutputs['agents']['register'];

/** Whether the org has the agents module and the member may see its agents. */
export function showsAgents(org: CurrentOrg | undefined): boolean {
  return !!org && org.modules.includes('agents') && org.permissions.includes('agents.read');
}

export const agentQueries = {
  /** Refreshed every 30 s, so an agent that stops reporting turns offline on screen. */
  list: (orgId: string) =>
    queryOptions({
      queryKey: ['agents', orgId],
      queryFn: ({ signal }) => trpc.agents.list.query(undefined, { signal }),
      refetchInterval: 30_000,
    }),
};

/** The report an agent sends, as a shell command to try a fresh token with. */
export function reportExample(origin: string, token: string): string {
  const body = JSON.stringify({
    resources: [{ type: 'host', name: 'pve-1', status: 'online', cpu: 0.42, memory: 0.61, disk: 0.3 }],
  });
  return [
    `curl -X POST ${origin}/api/agent/report \\`,
    `  -H 'Authorization: Bearer ${token}' \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d '${body}'`,
  ].join('\n');
}
