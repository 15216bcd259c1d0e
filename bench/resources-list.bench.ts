/**
 * The resources list under load, against its ceiling and against itself without tenancy.
 *
 *   pnpm exec tsx bench/resources-list.bench.ts [--orgs 1000] [--per-org 1000] [--connections 64]
 *     [--seconds 15] [--warmup 3] [--rounds 3] [--database tenantry_bench_resources] [--fresh]
 *     [--drop] [--targets ceiling,product,tenancy-off]
 *   BENCH_PROFILE=product[,tenancy-off,ceiling] also writes CPU profiles of those servers.
 *
 * One PostgreSQL database of 1,000 orgs × 1,000 resources (seeded once, reused while its counts
 * match; `--fresh` seeds again, `--drop` drops it at the end), one MSP user who owns every org
 * and an API token bound to all of them. Three servers, each in its own process, on the same
 * data, with a random org per request chosen by the load generator:
 * - ceiling: plain Fastify + `pg` as the owner, `GET /resources?org=<id>`, no tenancy;
 * - product: the API (`createApp`), `GET /api/resources?limit=50` with the bearer token and
 *   `X-Org-Id`;
 * - tenancy-off: the same API with `createApp({ tenancyChecks: false })`: the same route and page
 *   query (in the org's RLS scope, one round trip), the token still authenticated (looked up by
 *   hash, live), but without the membership, binding, gate, org status, rate budget, module and
 *   permission checks and the page's guard: what isolation costs.
 * They are measured one after the other (the others idle), in `--rounds` rounds of rotating
 * order; each figure is the median round, each ratio the median of the rounds' ratios.
 * Before load, every server must answer 50 resources of the requested org (the same rows as
 * the table holds), and the product must refuse with 403 an org the token is not bound to.
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { generateLicenseKeyPair, issueLicense } from '@tenantry/core';
import pg from 'pg';
import { type ListTarget, type LoadFigures, measureList, warmUp } from './lib/list-load.js';
import { type Child, runTs } from './lib/processes.js';
import { trackInterference, waitForQuiet } from './lib/quiet.js';
import { dropResourcesDatabase, prepareResourcesData, type SeededData } from './lib/resources-seed.js';
import { type Figure, writeResult } from './lib/results.js';

const TARGETS = ['ceiling', 'product', 'tenancy-off'] as const;
type TargetName = (typeof TARGETS)[number];

const { values: args } = parseArgs({
  options: {
    orgs: { type: 'string', default: '1000' },
    'per-org': { type: 'string', default: '1000' },
    connections: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    database: { type: 'string', default: 'tenantry_bench_resources' },
    targets: { type: 'string', default: TARGETS.join(',') },
    fresh: { type: 'boolean', default: false },
    drop: { type: 'boolean', default: false },
  },
});
const PAGE = 50;
const TARGET_RATIO = 0.5;
const TARGET_ISOLATION_COST = 0.1;
const QUIET_TIMEOUT_MS = 60_000;
const FOREIGN_CPU_LIMIT = 0.1;
const ATTEMPTS = 2;
const selected = args.targets.split(',').map((t) => t.trim()) as TargetName[];
const unknown = selected.filter((t) => !TARGETS.includes(t));
if (unknown.length > 0) throw new Error(`unknown target(s) ${unknown.join(', ')}: choose from ${TARGETS.join(', ')}`);
const CONNECTIONS = Number(args.connections);
const SECONDS = Number(args.seconds);
const WARMUP_S = Number(args.warmup);
const ROUNDS = Number(args.rounds);

const say = (line: string) => process.stdout.write(`${line}\n`);

/**
 * `--cpu-prof` for the target named in BENCH_PROFILE (`ceiling`, `product`, `tenancy-off`, comma
 * separated), into BENCH_PROFILE_DIR (default bench/results/profiles).
 */
function profileArgs(name: TargetName): string[] {
  if (!(process.env.BENCH_PROFILE ?? '').split(',').includes(name)) return [];
  return ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR ?? 'bench/results/profiles'}`];
}

/** Starts a server entry point and resolves with its process and base URL once it listens. */
async function startServer(
  entry: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<{ child: Child; base: string }> {
  const child = runTs(entry, env, nodeArgs);
  await child.waitFor(/listening \d+/, 120_000);
  const port = /listening (\d+)/.exec(child.output())![1];
  return { child, base: `http://127.0.0.1:${port}` };
}

/** The product's environment: multi-tenant mode open, a license of this run, its own queue prefix. */
async function productEnv(data: SeededData): Promise<Record<string, string>> {
  const keys = await generateLicenseKeyPair();
  const license = await issueLicense(
    {
      licensee: 'Resources list benchmark',
      tier: 'enterprise',
      features: ['multi_tenant', 'sharing'],
      expiresAt: new Date(Date.now() + 86_400_000),
    },
    keys.privateKeyPem,
  );
  return {
    DATABASE_URL: data.appUrl,
    DATABASE_MIGRATION_URL: data.ownerUrl,
    REDIS_URL: 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: `bench-resources-${randomUUID()}`,
    MULTI_TENANT_ENABLED: 'true',
    LICENSE_PUBLIC_KEY: keys.publicKeyPem,
    LICENSE_KEY: license,
    PUBLIC_URL: 'http://127.0.0.1:3000',
    WEB_DIST: '/nonexistent',
    LOG_LEVEL: 'warn',
  };
}

function targetFor(name: TargetName, base: string, token: string): ListTarget {
  if (name === 'ceiling') {
    return { name, base, request: (org) => ({ path: `/resources?org=${org}`, headers: {} }) };
  }
  return {
    name,
    base,
    request: (org) => ({
      path: `/api/resources?limit=${PAGE}`,
      headers: { authorization: `Bearer ${token}`, 'x-org-id': org },
    }),
  };
}

/** The resources of a list answer, whichever key the page carries them under. */
function pageItems(body: unknown): { id: string }[] | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const page = body as Record<string, unknown>;
  const items = page.resources ?? page.items;
  return Array.isArray(items) ? (items as { id: string }[]) : undefined;
}

/**
 * Fails unless `target` answers, for a few random orgs, exactly the first page the table holds
 * for that org; for the product with tenancy on, also a 403 for an org the token does not reach.
 */
async function verify(target: ListTarget, data: SeededData, owner: pg.Client): Promise<number> {
  let bytes = 0;
  for (let i = 0; i < 3; i++) {
    const org = data.orgIds[Math.floor(Math.random() * data.orgIds.length)]!;
    const { path, headers } = target.request(org);
    const res = await fetch(`${target.base}${path}`, { headers });
    const text = await res.text();
    bytes = text.length;
    const items = res.status === 200 ? pageItems(JSON.parse(text)) : undefined;
    const { rows } = await owner.query<{ id: string }>(
      `select id from resources where org_id = $1 order by name, id limit ${PAGE}`,
      [org],
    );
    const expected = rows.map((r) => r.id).join(',');
    if (!items || items.length !== PAGE || items.map((r) => r.id).join(',') !== expected) {
      throw new Error(
        `${target.name}: ${path} for org ${org} answered ${res.status}, not its ${PAGE} resources: ${text.slice(0, 300)}`,
      );
    }
  }
  if (target.name === 'product') {
    const { path, headers } = target.request(data.outsideOrgId);
    const res = await fetch(`${target.base}${path}`, { headers });
    if (res.status !== 403) {
      throw new Error(
        `product: an org the token is not bound to answered ${res.status}: ${(await res.text()).slice(0, 300)}`,
      );
    }
  }
  return bytes;
}

/** One measurement of one target in one round. */
interface Sample extends LoadFigures {
  round: number;
  attempts: number;
  foreignCpu: number;
  stealCpu: number;
  quietBefore: boolean;
  loadAverage: number[];
}

/**
 * Measures `target` once the machine is idle, after a warm-up. This machine is shared: when
 * other processes took more than FOREIGN_CPU_LIMIT of its CPUs during the measured part, the
 * figure says little, so it is measured again (ATTEMPTS in all) and the cleanest one kept.
 */
async function measureQuietly(target: ListTarget, server: Child, round: number): Promise<Sample> {
  let best: Sample | null = null;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const quiet = await waitForQuiet({ timeoutMs: QUIET_TIMEOUT_MS });
    if (!quiet.quiet) say(`  ! the machine stayed busy (${Math.round((quiet.busy ?? 0) * 100)} %): measuring anyway`);
    await warmUp(target, data.orgIds, CONNECTIONS, WARMUP_S);
    const watch = trackInterference([server.child.pid!]);
    const figures = await measureList(target, data.orgIds, CONNECTIONS, SECONDS);
    const { foreign, steal } = watch.stop();
    say(
      `  round ${round}, ${target.name.padEnd(11)} ${fmt(figures.rps).padStart(5)} req/s, p50 ${figures.p50} ms, ` +
        `p99 ${figures.p99} ms, ${figures.failed} failed; other processes ${Math.round(foreign * 100)} %, ` +
        `steal ${Math.round(steal * 100)} % of the CPUs`,
    );
    if (!best || foreign < best.foreignCpu) {
      best = {
        ...figures,
        round,
        attempts: attempt,
        foreignCpu: foreign,
        stealCpu: steal,
        quietBefore: quiet.quiet,
        loadAverage: loadavg(),
      };
    }
    if (foreign <= FOREIGN_CPU_LIMIT) break;
    if (attempt < ATTEMPTS) say('    disturbed: measuring again');
  }
  return best!;
}

/** The sample of median throughput (its latencies go with it). */
function median(samples: Sample[]): Sample {
  const sorted = [...samples].sort((a, b) => a.rps - b.rps);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

const middle = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2));

const data = await prepareResourcesData({
  database: args.database,
  orgs: Number(args.orgs),
  perOrg: Number(args['per-org']),
  fresh: args.fresh,
});
say(
  `  ${data.seeded ? 'seeded' : 'reused'} ${args.database} (${data.orgIds.length} orgs × ${args['per-org']} resources) in ${data.seedSeconds.toFixed(1)} s`,
);
const owner = new pg.Client({ connectionString: data.ownerUrl });
await owner.connect();
const samples = new Map<TargetName, Sample[]>(selected.map((name) => [name, []]));
const responseBytes: Partial<Record<TargetName, number>> = {};
const servers = new Map<TargetName, { child: Child; base: string }>();
try {
  const env = await productEnv(data);
  for (const name of selected) {
    servers.set(
      name,
      name === 'ceiling'
        ? await startServer('bench/servers/plain.ts', { DATABASE_URL: data.ownerUrl }, profileArgs(name))
        : await startServer(
            'bench/servers/product.ts',
            { ...env, ...(name === 'tenancy-off' ? { BENCH_TENANCY_CHECKS: 'off' } : {}) },
            profileArgs(name),
          ),
    );
  }
  const targets = new Map(selected.map((name) => [name, targetFor(name, servers.get(name)!.base, data.token)]));
  for (const [name, target] of targets) responseBytes[name] = await verify(target, data, owner);
  say(
    `  ${ROUNDS} rounds; each target: ${WARMUP_S} s warm-up, then ${CONNECTIONS} connections for ${SECONDS} s ` +
      '(the others idle, the order rotating)',
  );
  for (let round = 1; round <= ROUNDS; round++) {
    // Rotated so that no target always runs first, or right after the same neighbour.
    const order = selected.map((_, i) => selected[(i + round - 1) % selected.length]!);
    for (const name of order) {
      samples.get(name)!.push(await measureQuietly(targets.get(name)!, servers.get(name)!.child, round));
    }
  }
} finally {
  await Promise.all([...servers.values()].map((s) => s.child.stop()));
  await owner.end();
  if (args.drop) await dropResourcesDatabase(args.database);
}

const measured = new Map([...samples].map(([name, list]) => [name, median(list)]));
const ceiling = measured.get('ceiling');
/** Per-round figures of two targets measured in the same round. */
const perRound = (a: TargetName, b: TargetName, f: (x: Sample, y: Sample) => number) =>
  samples.get(a)!.flatMap((x) => {
    const y = samples.get(b)?.find((s) => s.round === x.round);
    return y ? [f(x, y)] : [];
  });
const LABELS: Record<TargetName, string> = {
  ceiling: 'ceiling (plain Fastify + pg)',
  product: 'product',
  'tenancy-off': 'product, tenancy checks off',
};
const figures: Figure[] = [];
for (const [name, m] of measured) {
  const throughput: Figure = { label: `${LABELS[name]}, throughput`, value: m.rps, unit: 'req/s' };
  if (name === 'product' && ceiling) {
    const floor = TARGET_RATIO * ceiling.rps;
    Object.assign(throughput, { target: `>= ${fmt(floor)} req/s (${TARGET_RATIO}× ceiling)`, ok: m.rps >= floor });
  }
  figures.push(
    throughput,
    { label: `${LABELS[name]}, p50`, value: m.p50, unit: 'ms' },
    { label: `${LABELS[name]}, p99`, value: m.p99, unit: 'ms' },
  );
}
// Ratios of targets measured in the same round (seconds apart), the median over the rounds:
// the machine's pace drifts between rounds more than within one.
const ratios = perRound('product', 'ceiling', (p, c) => p.rps / c.rps);
const costs = perRound('tenancy-off', 'product', (o, p) => (o.rps - p.rps) / o.rps);
if (ratios.length > 0) {
  const ratio = middle(ratios);
  figures.push({
    label: 'product / ceiling (median of rounds)',
    value: ratio,
    unit: '×',
    target: `>= ${TARGET_RATIO}×`,
    ok: ratio >= TARGET_RATIO,
  });
}
if (costs.length > 0) {
  const cost = middle(costs);
  figures.push({
    label: 'cost of isolation, (tenancy off − product) / tenancy off (median of rounds)',
    value: cost * 100,
    unit: '%',
    target: `<= ${TARGET_ISOLATION_COST * 100} %`,
    ok: cost <= TARGET_ISOLATION_COST,
  });
}
const failed = [...samples.values()].flat().reduce((sum, m) => sum + m.failed, 0);
figures.push({ label: 'failed requests under load', value: failed, unit: 'requests', ok: failed === 0 });

writeResult({
  name: 'resources-list',
  description:
    `GET /api/resources, page of ${PAGE}, random org of ${data.orgIds.length} × ${args['per-org']} resources, ` +
    `${CONNECTIONS} connections for ${SECONDS} s after ${WARMUP_S} s warm-up, median of ${ROUNDS} rounds; ` +
    'against plain Fastify + pg (ceiling) and against the API with tenancy checks off',
  figures,
  details: {
    orgs: data.orgIds.length,
    resourcesPerOrg: Number(args['per-org']),
    connections: CONNECTIONS,
    seconds: SECONDS,
    warmupSeconds: WARMUP_S,
    rounds: ROUNDS,
    seeded: data.seeded,
    seedSeconds: data.seedSeconds,
    responseBytes,
    productOverCeilingPerRound: ratios,
    isolationCostPerRound: costs,
    samples: Object.fromEntries(samples),
  },
});
