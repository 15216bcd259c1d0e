import { queryOptions } from '@tanstack/solid-query';
import { getUntypedClient } from '@trpc/client';
import { trpc } from './trpc';
import type { CurrentOrg } from './types';

// CONTRACT: replaced by the AppRouter's inferred types once the API has them.
export interface Agent {
  id: string;
  name: string;
  createdAt: string;
  lastSeenAt: string | null;
  lastIp: string | null;
  version: string | null;
  online: boolean;
  resources: number;
}
export interface RegisteredAgent {
  id: string;
  name: string;
  token: string;
}
const untyped = getUntypedClient(trpc);
export const agentsApi = {
  list: (signal?: AbortSignal) => untyped.query('agents.list', undefined, { signal }) as Promise<{ agents: Agent[] }>,
  register: (input: { name: string }) => untyped.mutation('agents.register', input) as Promise<RegisteredAgent>,
  remove: (input: { agentId: string }) => untyped.mutation('agents.remove', input) as Promise<{ ok: true }>,
};
// END CONTRACT

/** Whether the org has the agents module and the member may see its agents. */
export function showsAgents(org: CurrentOrg | undefined): boolean {
  return !!org && org.modules.includes('agents') && org.permissions.includes('agents.read');
}

export const agentQueries = {
  /** Refreshed every 30 s, so an agent that stops reporting turns offline on screen. */
  list: (orgId: string) =>
    queryOptions({
      queryKey: ['agents', orgId],
      queryFn: ({ signal }) => agentsApi.list(signal),
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
