import { TenantryError } from './errors.js';

/** One resource as an agent reports it; usage is a fraction from 0 to 1. An agent and a name identify it. */
export interface ReportedResource {
  type: 'host' | 'vm' | 'container' | 'storage';
  name: string;
  status: string;
  cpu?: number;
  memory?: number;
  disk?: number;
}

/** The body of `POST /api/agent/report`. */
export interface AgentReport {
  resources: ReportedResource[];
}

/** How an agent reaches its server: the base URL and the agent token (`tna_…`) shown once at registration. */
export interface AgentOptions {
  url: string;
  token: string;
  fetch?: typeof fetch;
}

/**
 * Reports an agent's resources with its org-bound agent token (`POST /api/agent/report`). The
 * server answers with its own summary, returned as it is; a refusal rejects with a
 * TenantryError carrying the stable code.
 */
export async function reportResources(agent: AgentOptions, report: AgentReport): Promise<unknown> {
  const base = agent.url.replace(/\/+$/, '');
  const fetchImpl = agent.fetch ?? globalThis.fetch.bind(globalThis);
  let res: Response;
  try {
    res = await fetchImpl(`${base}/api/agent/report`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(report),
    });
  } catch (error) {
    throw TenantryError.fromUnknown(error);
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  if (!res.ok) throw TenantryError.fromRest(res.status, body);
  return body;
}
