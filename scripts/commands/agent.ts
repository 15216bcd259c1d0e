import { randomUUID } from 'node:crypto';
import { newAgentToken } from '../../apps/api/src/agent-report.js';
import { parseDuration } from '../../packages/core/src/index.js';
import { AgentNameTakenError, createAgent, createDb, findOrgBySlug } from '../../packages/db/src/index.js';
import { loadCliEnv } from '../lib/cli-env.js';
import { type Command, CommandError, info, out, parse, UsageError } from '../lib/cli-kit.js';
import { callServer, refusalText, serverBase } from '../lib/rest.js';

// `pnpm tenantry agent simulate`: a simulated agent for demos and load. It reports over HTTP
// exactly as a real agent does (POST /api/agent/report with its tna_ token), so the dashboard,
// live updates, alert rules and sharing all see it like any other agent.

const TYPES = ['host', 'vm', 'container', 'storage'] as const;
type ResourceType = (typeof TYPES)[number];

interface Simulated {
  type: ResourceType;
  name: string;
  status: string;
  cpu: number;
  memory: number;
  disk: number;
}

const STATUS_OF: Record<ResourceType, { up: string; down: string }> = {
  host: { up: 'online', down: 'offline' },
  vm: { up: 'running', down: 'stopped' },
  container: { up: 'running', down: 'stopped' },
  storage: { up: 'online', down: 'degraded' },
};

const round = (x: number) => Math.round(x * 1000) / 1000;
const clamp = (x: number) => Math.min(1, Math.max(0, x));

/** `count` resources named after the agent: a few hosts, then VMs, containers and storage. */
export function simulatedFleet(prefix: string, count: number, random: () => number = Math.random): Simulated[] {
  const out: Simulated[] = [];
  for (let i = 0; i < count; i++) {
    const type: ResourceType = i % 10 === 0 ? 'host' : i % 10 === 9 ? 'storage' : i % 3 === 0 ? 'container' : 'vm';
    out.push({
      type,
      name: `${prefix}-${type}-${String(i + 1).padStart(3, '0')}`,
      status: STATUS_OF[type].up,
      cpu: round(0.05 + random() * 0.5),
      memory: round(0.2 + random() * 0.5),
      disk: round(0.1 + random() * 0.6),
    });
  }
  return out;
}

/** One step of the simulation: metrics drift, and now and then a resource goes down or comes back. */
export function drift(fleet: Simulated[], random: () => number = Math.random): void {
  for (const r of fleet) {
    r.cpu = round(clamp(r.cpu + (random() - 0.5) * 0.2));
    r.memory = round(clamp(r.memory + (random() - 0.5) * 0.05));
    r.disk = round(clamp(r.disk + random() * 0.002));
    const { up, down } = STATUS_OF[r.type];
    if (r.status === up && random() < 0.02) r.status = down;
    else if (r.status === down && random() < 0.3) r.status = up;
  }
}

/** Registers the agent over the API with an API token (admin or owner in the org). */
async function registerOverApi(base: string, token: string, org: string, name: string): Promise<string> {
  const res = await callServer(`${base}/api/agents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'x-org-id': org, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (res.status !== 201) {
    throw new CommandError(`Cannot register the agent: ${refusalText(res)}`);
  }
  return String(res.body.token);
}

/** Registers the agent straight in the database (PostgreSQL, which the server shares). */
async function registerInDatabase(org: string, name: string): Promise<string> {
  const env = loadCliEnv();
  if (!env.DATABASE_URL) {
    throw new CommandError(
      'Give the simulator a credential: --token tnt_… (an API token of an admin of the organization, from Settings → API tokens) or --agent-token tna_… (from the agents page). With DATABASE_URL set it can register the agent in the database itself.',
    );
  }
  const db = await createDb({
    databaseUrl: env.DATABASE_URL,
    migrationUrl: env.DATABASE_MIGRATION_URL,
    dataDir: env.DATA_DIR,
  });
  try {
    const found = await db.platform({}, (em) => findOrgBySlug(em, org));
    if (!found) throw new CommandError(`No organization with the slug ${org}.`);
    const id = randomUUID();
    const { token, hash } = newAgentToken(found.id, id);
    await db.tenant({ orgId: found.id }, (em) =>
      createAgent(em, { orgId: found.id, id, name, tokenHash: hash, createdById: null }),
    );
    return token;
  } catch (error) {
    if (error instanceof AgentNameTakenError) {
      throw new CommandError(`The organization already has an agent named ${name}: pass another --name.`);
    }
    throw error;
  } finally {
    await db.close();
  }
}

export const simulate: Command = {
  name: 'agent simulate',
  help: `Usage: pnpm tenantry agent simulate --org <slug> [--resources 50] [options]

Runs a simulated agent: it registers in the organization and reports its resources (hosts,
VMs, containers, storage) every interval, with drifting CPU, memory and disk and now and then
a resource going down and coming back — as a real agent would, over POST /api/agent/report.
For demos (watch the dashboard update live) and for load.

Credentials, one of:
  --token tnt_…        an API token with the admin or owner role in the organization
                       (TENANTRY_TOKEN): the agent is registered over the API
  --agent-token tna_…  the token of an agent registered on the agents page
                       (TENANTRY_AGENT_TOKEN): it reports as that agent
  neither, with DATABASE_URL set: the agent is registered in the database

Options:
      --org <slug>         the organization (required)
      --resources <n>      resources to report, 1–1000 (default 50)
      --url <url>          the server (default PUBLIC_URL, or http://localhost:3000)
      --name <name>        the agent's name (default simulated-<org>-<random>)
      --interval <time>    time between reports (default 5s)
      --count <n>          stop after n reports (default: until Ctrl-C)
  -h, --help               show this help

Example:
  pnpm tenantry agent simulate --org acme --resources 50 --token tnt_…`,
  async run(argv) {
    const { values } = parse(argv, {
      org: { type: 'string' },
      resources: { type: 'string', default: '50' },
      url: { type: 'string' },
      name: { type: 'string' },
      interval: { type: 'string', default: '5s' },
      count: { type: 'string' },
      token: { type: 'string' },
      'agent-token': { type: 'string' },
    });
    const org = values.org?.trim();
    if (!org) throw new UsageError('--org is required: the slug of the organization the agent reports to.');
    const resources = Number(values.resources);
    if (!Number.isInteger(resources) || resources < 1 || resources > 1000) {
      throw new UsageError('--resources must be a whole number from 1 to 1000.');
    }
    const intervalMs = parseDuration(values.interval);
    if (intervalMs === null || intervalMs < 100)
      throw new UsageError('--interval must be a duration such as 5s or 1m (at least 100ms).');
    const count = values.count === undefined ? Number.POSITIVE_INFINITY : Number(values.count);
    if (!(count >= 1) || (Number.isFinite(count) && !Number.isInteger(count))) {
      throw new UsageError('--count must be a whole number of reports, at least 1.');
    }
    const base = serverBase(values.url);
    const name = values.name?.trim() || `simulated-${org}-${randomUUID().slice(0, 4)}`;
    const apiToken = values.token ?? process.env.TENANTRY_TOKEN;
    let agentToken = values['agent-token'] ?? process.env.TENANTRY_AGENT_TOKEN;
    if (!agentToken) {
      agentToken = apiToken ? await registerOverApi(base, apiToken, org, name) : await registerInDatabase(org, name);
      info(`registered agent ${name} in ${org}`);
      info(`agent token (shown once; pass it as --agent-token to report as this agent again): ${agentToken}`);
    }

    const fleet = simulatedFleet(name, resources);
    let stopped = false;
    process.once('SIGINT', () => {
      stopped = true;
    });
    for (let n = 1; n <= count && !stopped; n++) {
      if (n > 1) drift(fleet);
      const started = performance.now();
      const res = await callServer(`${base}/api/agent/report`, {
        method: 'POST',
        headers: { authorization: `Bearer ${agentToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ resources: fleet, version: 'tenantry-simulator/1' }),
      });
      const ms = Math.round(performance.now() - started);
      if (res.status !== 200) {
        throw new CommandError(`Report ${n} refused: ${refusalText(res)}`);
      }
      const down = fleet.filter((r) => r.status !== STATUS_OF[r.type].up).length;
      const total = Number.isFinite(count) ? `/${count}` : '';
      out(
        `report ${n}${total}: ${res.body.resources} resources (${res.body.created} new, ${res.body.updated} updated, ${down} down) in ${ms} ms`,
      );
      if (n < count && !stopped) await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    return undefined;
  },
};
