/**
 * Deleting a tenant of 1,000,000 rows while another tenant is read under steady load.
 *
 *   pnpm exec tsx bench/deletion.bench.ts [--rows 1000000] [--path '/api/resources?limit=50'] [--auth token]
 *     [--rate 150] [--warmup 30]         (seconds of the neighbour's load before and after the deletion)
 *     [--worker-log worker.ndjson]   (the worker's debug log, a line per batch)
 *     [--timeline neighbour.ndjson]  (every neighbour response while deleting: time, latency, status)
 *     [--batch-share 0.5]            (the worker's DELETION_BATCH_SHARE; default: the worker's default)
 *
 * Starts the API and the worker as their own processes on a fresh PostgreSQL database (and
 * the machine's Redis, with a private queue prefix), seeds two identical tenants straight into
 * their tables as the owner (agents, resources, audit events, invitations), and a neighbour
 * tenant. It measures the neighbour's latency under a steady, paced load (bench/lib/paced-load.ts:
 * each request timed from when it was due), then again while the first tenant is deleted through
 * the API (the real job, in batches, in its own scope). The second, identical tenant is then
 * deleted by raw batches of 10,000 rows by ctid as the owner: the reference.
 *
 * The neighbour's read is `--path` (`{org}` stands for its id), sent with `X-Org-Id` of the
 * neighbour. By default it is its dashboard as a monitoring integration polls it: the first page
 * of its resources with an API token (`--auth token`). `--auth session` sends the browser
 * session's cookie instead (e.g. `--path /api/org --auth session`). Figures go to
 * bench/results/deletion.json.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateLicenseKeyPair, issueLicense } from '@tenantry/core';
import { createTestDatabase } from '@tenantry/db/testing';
import cliProgress from 'cli-progress';
import pg from 'pg';
import { API_NODE_FLAGS } from '../scripts/lib/node-flags.js';
import { describeSamples, type PacedLoad, type PacedSample, pacedLoad } from './lib/paced-load.js';
import { clearRunKeys } from './lib/redis-cleanup.js';
import { writeResult } from './lib/results.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const REDIS_URL = 'redis://127.0.0.1:6379';
const RAW_BATCH = 10_000;
/** How often the platform admin's progress bar follows the deletion (the web app's interval). */
const DELETION_POLL_MS = 400;
const SEED_CHUNK = 50_000;
/** Progress bars also when stdout is not a terminal (CI logs), every few seconds. */
const NO_TTY = { noTTYOutput: true, notTTYSchedule: 3000 };

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    path: { type: 'string', default: '/api/resources?limit=50' },
    auth: { type: 'string', default: 'token' },
    rate: { type: 'string', default: '150' },
    // The baseline: on this 2-core machine a 10 s window's p99 alone ranged 5.8-14.8 ms between
    // runs (the 10th slowest of 1,500 reads), so the baseline is three times as long.
    warmup: { type: 'string', default: '30' },
    'worker-log': { type: 'string' },
    timeline: { type: 'string' },
    'batch-share': { type: 'string' },
  },
});
const ROWS = Number(args.rows);
const RATE = Number(args.rate);
const WARMUP_S = Number(args.warmup);

/** How the rows of one tenant are spread over its tables (they sum to ROWS). */
function spread(rows: number) {
  const agents = Math.max(1, Math.round(rows * 0.002));
  const perAgent = Math.max(1, Math.floor((rows * 0.598) / agents));
  const resources = agents * perAgent;
  const invitations = Math.round(rows * 0.05);
  const audit = rows - agents - resources - invitations;
  return { agents, perAgent, resources, audit, invitations };
}

const say = (line: string) => process.stdout.write(`${line}\n`);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Starts a process of the platform; with `logFile`, its whole output also goes there. */
function startProcess(
  name: string,
  script: string,
  env: Record<string, string>,
  logFile?: string,
  nodeArgs: readonly string[] = [],
): ChildProcess {
  const child = spawn(TSX, [...nodeArgs, script], {
    cwd: ROOT,
    detached: true,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  if (logFile) {
    const log = createWriteStream(logFile);
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
  }
  child.on('exit', (code, signal) => {
    if (code !== 0 && code !== 143 && signal !== 'SIGTERM' && signal !== 'SIGKILL') {
      process.stderr.write(`${name} exited (${code ?? signal}):\n${output}\n`);
    }
  });
  return child;
}

function stopProcess(child: ChildProcess | undefined): void {
  if (child?.pid && child.exitCode === null) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // gone already
    }
  }
}

async function waitForHealth(base: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${base}/api/health`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('the API did not start');
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Seeds one tenant's rows as the owner, in chunks, advancing `bar`. */
async function seedTenant(owner: pg.Client, orgId: string, bar: cliProgress.SingleBar): Promise<void> {
  const s = spread(ROWS);
  await owner.query(
    `insert into agents (org_id, id, name, token_hash)
     select $1, gen_random_uuid(), 'agent-' || g, md5(g::text) from generate_series(1, $2) g`,
    [orgId, s.agents],
  );
  bar.increment(s.agents);
  const { rows: agents } = await owner.query<{ id: string }>('select id from agents where org_id = $1 order by id', [
    orgId,
  ]);
  const agentsPerChunk = Math.max(1, Math.floor(SEED_CHUNK / s.perAgent));
  for (let i = 0; i < agents.length; i += agentsPerChunk) {
    const ids = agents.slice(i, i + agentsPerChunk).map((a) => a.id);
    await owner.query(
      `insert into resources (org_id, id, agent_id, type, name, status, cpu, memory, disk, tags)
       select $1, gen_random_uuid(), a, (array['host','vm','container','storage'])[1 + g % 4], 'res-' || g,
              'running', random(), random(), random(), array['bench']
       from unnest($2::uuid[]) a cross join generate_series(1, $3) g`,
      [orgId, ids, s.perAgent],
    );
    bar.increment(ids.length * s.perAgent);
  }
  // After the entries the API wrote (the tenant's creation).
  const { rows: head } = await owner.query<{ seq: string }>(
    'select coalesce(max(seq), 0) as seq from audit_events where org_id = $1',
    [orgId],
  );
  const first = Number(head[0]?.seq ?? 0) + 1;
  for (let from = first; from < first + s.audit; from += SEED_CHUNK) {
    const to = Math.min(first + s.audit - 1, from + SEED_CHUNK - 1);
    await owner.query(
      `insert into audit_events (org_id, seq, id, occurred_at, actor_type, action, target_type, target_id, details,
         prev_hash, hash)
       select $1, g, gen_random_uuid(), now() - (g || ' seconds')::interval, 'agent', 'resource.reported', 'resource',
              g::text, jsonb_build_object('n', g), md5((g - 1)::text), md5(g::text)
       from generate_series($2::bigint, $3::bigint) g`,
      [orgId, from, to],
    );
    bar.increment(to - from + 1);
  }
  for (let from = 1; from <= s.invitations; from += SEED_CHUNK) {
    const to = Math.min(s.invitations, from + SEED_CHUNK - 1);
    await owner.query(
      `insert into invitations (org_id, id, email, role, send_count, expires_at)
       select $1, gen_random_uuid(), 'invitee-' || g || '@bench.example.com', 'viewer', 1, now() + interval '7 days'
       from generate_series($2::int, $3::int) g`,
      [orgId, from, to],
    );
    bar.increment(to - from + 1);
  }
}

/** The reference: the same rows deleted by raw batches of 10,000 by ctid, as the owner, children first. */
async function rawBatchedDelete(
  owner: pg.Client,
  orgId: string,
): Promise<{ ms: number; rows: number; batches: number; longestMs: number }> {
  const started = performance.now();
  let rows = 0;
  let batches = 0;
  let longestMs = 0;
  for (const table of ['resources', 'agents', 'audit_events', 'invitations', 'api_token_orgs', 'memberships']) {
    for (;;) {
      const t0 = performance.now();
      const res = await owner.query(
        `delete from ${table} where ctid = any(array(select ctid from ${table} where org_id = $1 limit ${RAW_BATCH}))`,
        [orgId],
      );
      longestMs = Math.max(longestMs, performance.now() - t0);
      batches += 1;
      rows += res.rowCount ?? 0;
      if ((res.rowCount ?? 0) === 0) break;
    }
  }
  return { ms: performance.now() - started, rows, batches, longestMs };
}

/** What the bench reads of `GET /api/admin/deletions/{id}`. */
interface DeletionView {
  status: string;
  step: string;
  rowsTotal: number;
  rowsDeleted: number;
  error: string | null;
  startedAt: string;
  finishedAt: string;
  report: { rowsTotal: number; longestBatchMs: number; batches: number; rowsDeleted: unknown; stepsMs?: unknown };
}

/** Waits (up to a minute) until no autovacuum worker runs in the bench's database. */
async function settleAutovacuum(owner: pg.Client): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const { rows } = await owner.query(
      `select 1 from pg_stat_activity where backend_type = 'autovacuum worker' and datname = current_database()`,
    );
    if (rows.length === 0) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Samples in windows of 10 s from the first one's due time (the last window may be shorter). */
function per10s(samples: PacedSample[]): PacedSample[][] {
  const windows: PacedSample[][] = [];
  const start = samples[0]?.dueAt ?? 0;
  for (const sample of samples) {
    const i = Math.floor((sample.dueAt - start) / 10_000);
    const window = windows[i] ?? [];
    windows[i] = window;
    window.push(sample);
  }
  return windows.filter(Boolean);
}

/** The neighbour's paced reads; with `timeline`, every response also goes there as a line. */
function neighbourLoad(
  base: string,
  target: string,
  credentials: Record<string, string>,
  orgId: string,
  seconds: number,
  timeline?: string,
): PacedLoad {
  const out = timeline ? createWriteStream(timeline) : undefined;
  const load = pacedLoad({
    url: `${base}${target.replace('{org}', orgId)}`,
    headers: { ...credentials, 'x-org-id': orgId },
    rate: RATE,
    seconds,
    onSample: out
      ? (sample) =>
          out.write(
            `${JSON.stringify({ time: sample.dueAt, ms: Math.round(sample.ms * 10) / 10, status: sample.status })}\n`,
          )
      : undefined,
  });
  void load.done.finally(() => out?.end());
  return load;
}

/** Writes, every 250 ms, the database's other busy backends (autovacuum, checkpointer) to `file`. */
function sampleActivity(url: string, file: string): { stop(): Promise<void> } {
  const client = new pg.Client({ connectionString: url });
  const out = createWriteStream(file);
  let running = true;
  const done = (async () => {
    await client.connect();
    while (running) {
      const { rows } = await client.query<{ backend_type: string; state: string | null; query: string }>(
        `select backend_type, state, left(query, 80) as query from pg_stat_activity
         where pid <> pg_backend_pid() and (backend_type <> 'client backend' or state = 'active')
           and backend_type not in ('background writer', 'walwriter', 'logical replication launcher', 'autovacuum launcher')`,
      );
      out.write(`${JSON.stringify({ time: Date.now(), busy: rows })}\n`);
      await new Promise((r) => setTimeout(r, 250));
    }
    await client.end();
    out.end();
  })();
  return {
    stop: async () => {
      running = false;
      await done;
    },
  };
}

async function main(): Promise<void> {
  const loadAtStart = loadavg();
  const s = spread(ROWS);
  say(
    `Deleting a tenant of ${ROWS.toLocaleString()} rows (${s.agents} agents, ${s.resources} resources, ${s.audit} audit events, ${s.invitations} invitations) under load on ${args.path}`,
  );
  const tdb = await createTestDatabase({ kind: 'postgresql', poolMax: 2 });
  const owner = new pg.Client({ connectionString: tdb.ownerUrl! });
  await owner.connect();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-bench-'));
  const prefix = `bench-del-${randomUUID().slice(0, 8)}`;
  const keys = await generateLicenseKeyPair();
  const license = await issueLicense(
    {
      licensee: 'Bench',
      tier: 'enterprise',
      features: ['multi_tenant', 'sharing'],
      expiresAt: new Date(Date.now() + 86_400_000),
    },
    keys.privateKeyPem,
  );
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const common = {
    DATABASE_URL: tdb.appUrl!,
    DATABASE_MIGRATION_URL: tdb.ownerUrl!,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
  };
  let api: ChildProcess | undefined;
  let worker: ChildProcess | undefined;
  try {
    api = startProcess(
      'api',
      'apps/api/src/main.ts',
      {
        ...common,
        PORT: String(port),
        PUBLIC_URL: base,
        MULTI_TENANT_ENABLED: 'true',
        LICENSE_PUBLIC_KEY: keys.publicKeyPem,
        LICENSE_KEY: license,
        WEB_DIST: '/nonexistent',
      },
      undefined,
      API_NODE_FLAGS,
    );
    const workerEnv: Record<string, string> = { ...common };
    if (args['worker-log']) workerEnv.LOG_LEVEL = 'debug';
    if (args['batch-share']) workerEnv.DELETION_BATCH_SHARE = args['batch-share'];
    worker = startProcess('worker', 'apps/worker/src/main.ts', workerEnv, args['worker-log']);
    await waitForHealth(base, 90_000);

    const signup = await fetch(`${base}/api/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'bench@example.com', password: 'correct horse battery', name: 'Bench' }),
    });
    const cookie = (signup.headers.get('set-cookie') ?? '').split(';')[0]!;
    const call = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(`${base}${p}`, {
        method,
        headers: { cookie, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const json = (await res.json()) as Record<string, unknown>;
      if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    const tenant = async (slug: string) =>
      (await call('POST', '/api/admin/tenants', { name: slug, slug })).id as string;
    const victim = await tenant('victim');
    const reference = await tenant('reference');
    const neighbour = await tenant('neighbour');
    // The load must measure latency, not the neighbour's rate budget.
    await call('PATCH', `/api/admin/tenants/${neighbour}/limits`, { requestsPerMinute: 10_000_000 });
    await owner.query(
      `insert into agents (org_id, id, name, token_hash) select $1, gen_random_uuid(), 'n-' || g, md5(g::text) from generate_series(1, 20) g`,
      [neighbour],
    );
    await owner.query(
      `insert into resources (org_id, id, agent_id, type, name, status) select a.org_id, gen_random_uuid(), a.id, 'vm', a.name || '-' || g, 'running'
       from agents a cross join generate_series(1, 100) g where a.org_id = $1`,
      [neighbour],
    );

    const bars = new cliProgress.MultiBar(
      { format: ' {name} [{bar}] {percentage}% | {value}/{total} rows', hideCursor: true, ...NO_TTY },
      cliProgress.Presets.shades_classic,
    );
    const seedStarted = performance.now();
    for (const [name, orgId] of [
      ['seed victim   ', victim],
      ['seed reference', reference],
    ] as const) {
      await seedTenant(owner, orgId, bars.create(ROWS, 0, { name }));
    }
    bars.stop();
    // A database in service has vacuumed its tables: without this, autovacuum runs over the 2M
    // fresh rows while the neighbour is measured, and the "before" figure measures that.
    await owner.query('vacuum (analyze)');
    await settleAutovacuum(owner);
    // Likewise its bulk load is behind a checkpoint: without this, the checkpoint that the seed's
    // WAL calls for starts during the measurement (the deletion's own WAL still counts).
    await owner.query('checkpoint');
    say(`seeded ${(2 * ROWS).toLocaleString()} rows in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`);

    say(`neighbour at ${RATE} req/s: ${WARMUP_S} s before the deletion…`);
    // The neighbour reads as an integration (its API token) or as a person (the session).
    const credentials: Record<string, string> =
      args.auth === 'session'
        ? { cookie }
        : {
            authorization: `Bearer ${
              (
                (await call('POST', '/api/tokens', { name: 'dashboard', orgIds: [neighbour], role: 'viewer' })) as {
                  token: string;
                }
              ).token
            }`,
          };
    // Warm-up, not counted: the API's first seconds under load (compiling its hot paths, growing
    // its heap) were its slowest, a first 10 s window's p99 twice the next ones'.
    await neighbourLoad(base, args.path!, credentials, neighbour, 15).done;
    const beforeSamples = await neighbourLoad(base, args.path!, credentials, neighbour, WARMUP_S).done;
    const before = describeSamples(beforeSamples);

    say('…and while the victim is deleted:');
    const during = neighbourLoad(base, args.path!, credentials, neighbour, 600, args.timeline);
    // With --timeline, what else PostgreSQL runs meanwhile (autovacuum, checkpoints), every 250 ms.
    const sampler = args.timeline ? sampleActivity(tdb.ownerUrl!, `${args.timeline}.pg`) : undefined;
    const requested = performance.now();
    const requestedAt = Date.now();
    const { deletionId } = (await call('DELETE', `/api/admin/tenants/${victim}`, { confirm: 'victim' })) as {
      deletionId: string;
    };
    const deleteRequest = { at: requestedAt, ms: Math.round((performance.now() - requested) * 10) / 10 };
    const bar = new cliProgress.SingleBar(
      { format: ' delete victim  [{bar}] {percentage}% | {value}/{total} rows | {step}', hideCursor: true, ...NO_TTY },
      cliProgress.Presets.shades_classic,
    );
    bar.start(ROWS, 0, { step: 'queued' });
    let deletion: DeletionView;
    for (;;) {
      deletion = (await call('GET', `/api/admin/deletions/${deletionId}`)) as unknown as DeletionView;
      bar.setTotal(Math.max(1, deletion.rowsTotal));
      bar.update(deletion.rowsDeleted, { step: deletion.step });
      if (deletion.status === 'completed' || deletion.status === 'failed') break;
      // As often as the web app's progress bar asks (DELETION_POLL_MS in apps/web/src/lib/tenants.ts).
      await new Promise((r) => setTimeout(r, DELETION_POLL_MS));
    }
    bar.stop();
    const wallMs = performance.now() - requested;
    during.stop();
    await sampler?.stop();
    const duringResult = describeSamples(await during.done);
    if (deletion.status !== 'completed') throw new Error(`deletion failed: ${deletion.error}`);
    const jobMs = new Date(deletion.finishedAt).getTime() - new Date(deletion.startedAt).getTime();
    const report = deletion.report;

    // The same window once the deletion is over: how much the neighbour's p99 moves on its own.
    say(`neighbour at ${RATE} req/s: ${WARMUP_S} s after the deletion…`);
    const after = describeSamples(await neighbourLoad(base, args.path!, credentials, neighbour, WARMUP_S).done);

    say('reference: raw batches of 10,000 rows by ctid, as the owner…');
    const raw = await rawBatchedDelete(owner, reference);

    const ratio = jobMs / raw.ms;
    const p99Ratio = duringResult.p99 / Math.max(0.001, before.p99);
    writeResult({
      name: 'deletion',
      description: `Delete a tenant of ${ROWS.toLocaleString()} rows through the API and worker while another tenant is read at a paced ${RATE} req/s (${args.path}, ${args.auth === 'session' ? 'session' : 'API token'})`,
      figures: [
        { label: 'deletion total (job start to report)', value: jobMs / 1000, unit: 's' },
        { label: 'deletion wall time (request to report)', value: wallMs / 1000, unit: 's' },
        { label: 'rows deleted', value: report.rowsTotal, unit: 'rows' },
        { label: 'deletion rate', value: report.rowsTotal / (jobMs / 1000), unit: 'rows/s' },
        { label: 'raw batched delete (reference)', value: raw.ms / 1000, unit: 's' },
        { label: 'deletion vs reference', value: ratio, unit: 'x', target: '<= 4x', ok: ratio <= 4 },
        {
          label: 'longest batch (transaction holding locks)',
          value: report.longestBatchMs,
          unit: 'ms',
          target: '<= 100 ms',
          ok: report.longestBatchMs <= 100,
        },
        { label: 'neighbour p99 before', value: before.p99, unit: 'ms' },
        { label: 'neighbour p99 during', value: duringResult.p99, unit: 'ms' },
        { label: 'neighbour p99 during vs before', value: p99Ratio, unit: 'x', target: '<= 1.5x', ok: p99Ratio <= 1.5 },
        { label: 'neighbour p99 after (no deletion: the load on its own)', value: after.p99, unit: 'ms' },
      ],
      details: {
        rows: ROWS,
        spread: s,
        path: args.path,
        auth: args.auth,
        batchShare: args['batch-share'] ?? 'worker default',
        // When the deletion was asked for (epoch ms, as in --timeline) and how long the API took to answer.
        deleteRequest,
        rate: RATE,
        load: 'paced: one request every 1/rate s, each timed from when it was due',
        batches: report.batches,
        rawBatches: raw.batches,
        rawLongestBatchMs: Math.round(raw.longestMs * 10) / 10,
        // The machine is shared: its load while measuring puts the latencies in context.
        loadAverage: { atStart: loadAtStart, atEnd: loadavg() },
        rawRows: raw.rows,
        before,
        // The baseline's p99 per 10 s of it: how much it varies on its own.
        beforeP99Per10s: per10s(beforeSamples).map((w) => describeSamples(w).p99),
        during: duringResult,
        after,
        rowsDeleted: report.rowsDeleted,
        stepsMs: report.stepsMs,
        longestBatchMs: report.longestBatchMs,
      },
    });
  } finally {
    stopProcess(worker);
    stopProcess(api);
    await new Promise((r) => setTimeout(r, 1500));
    await owner.end();
    await tdb.drop();
    rmSync(dataDir, { recursive: true, force: true });
    await clearRunKeys(REDIS_URL, prefix).catch(() => 0);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
