/**
 * Invitations end to end: 10,000 invitations across 100 orgs created through the REST API's bulk
 * endpoint (100 per request, on PostgreSQL), mailed by the invitation worker, until every mail
 * has reached a local SMTP sink running in another process. In the same run, the ceiling: a bare BullMQ + nodemailer
 * pipeline (no-op jobs, no database) into the same sink with the same concurrency and pool.
 *
 *   pnpm exec tsx bench/invitations.bench.ts [--invitations 10000] [--orgs 100] [--http 32]
 *
 * Processes: this one (HTTP client, producer of the ceiling's jobs), the API, the worker (or
 * the bare worker), the sink, PostgreSQL and Redis, all on this machine. Phases: the ceiling;
 * end to end (the API creates while the worker mails); then a backlog created through the API
 * with the worker stopped, mailed from the moment the worker is up; the ceiling again (the
 * ratios use the higher of the two). The API and the worker log at warn, as lines per mail are
 * not what is measured. BENCH_PROFILE=api,worker,bare (and BENCH_PROFILE_DIR) writes CPU
 * profiles of those processes (bare: the ceiling's worker).
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { generateLicenseKeyPair, INVITATION_CHUNK_SIZE, issueLicense } from '@tenantry/core';
import { createTestDatabase, type TestDatabase } from '@tenantry/db/testing';
import { INVITATION_EMAIL_CONCURRENCY, INVITATION_EMAIL_QUEUE, SMTP_POOL_SIZE } from '@tenantry/worker';
import { Queue } from 'bullmq';
import cliProgress from 'cli-progress';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort, type HttpClient, httpClient } from './lib/http.js';
import { type Child, runTs } from './lib/processes.js';
import { clearRunKeys } from './lib/redis-cleanup.js';
import { type Figure, writeResult } from './lib/results.js';
import { type Sink, startSink } from './lib/sink-client.js';

const { values: args } = parseArgs({
  options: {
    invitations: { type: 'string', default: '10000' },
    orgs: { type: 'string', default: '100' },
    http: { type: 'string', default: '32' },
  },
});
const INVITATIONS = Number(args.invitations);
const ORGS = Number(args.orgs);
const HTTP_CONCURRENCY = Number(args.http);
const REDIS_URL = 'redis://127.0.0.1:6379';
const PREFIX = `bench-inv-${randomUUID()}`;
const TARGET_RATIO = 0.6;
const DELIVERY_TIMEOUT_MS = 10 * 60_000;

const bars = new cliProgress.MultiBar(
  {
    format: '  {label} [{bar}] {value}/{total} {rate}',
    hideCursor: true,
    clearOnComplete: false,
    noTTYOutput: true,
    notTTYSchedule: 2000,
  },
  cliProgress.Presets.shades_classic,
);
const log = (line: string) => bars.log(`${line}\n`);

// ---------- The ceiling: bare BullMQ + nodemailer ----------

async function measureCeiling(sink: Sink): Promise<{ mailsPerSecond: number; seconds: number }> {
  const queueName = 'bare-mail';
  const worker = runTs(
    'bench/lib/bare-pipeline-worker.ts',
    {
      REDIS_URL,
      QUEUE_PREFIX: PREFIX,
      QUEUE_NAME: queueName,
      SMTP_URL: `smtp://127.0.0.1:${sink.port}`,
      CONCURRENCY: String(INVITATION_EMAIL_CONCURRENCY),
      POOL_SIZE: String(SMTP_POOL_SIZE),
    },
    profileArgs('bare'),
  );
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection, prefix: PREFIX });
  try {
    await worker.waitFor(/ready/, 60_000);
    await sink.reset();
    const bar = bars.create(INVITATIONS, 0, { label: 'ceiling mails   ', rate: '' });
    const started = performance.now();
    for (let i = 0; i < INVITATIONS; i += 1000) {
      const n = Math.min(1000, INVITATIONS - i);
      await queue.addBulk(
        Array.from({ length: n }, (_, k) => ({
          name: 'mail',
          data: {},
          opts: { jobId: `bare-${i + k}`, removeOnComplete: true, removeOnFail: true },
        })),
      );
    }
    await sink.until(
      (c) => c.mails >= INVITATIONS,
      (c) => bar.update(c.mails, { rate: rateText(c.mails, started) }),
      DELIVERY_TIMEOUT_MS,
    );
    const seconds = (performance.now() - started) / 1000;
    bar.stop();
    return { mailsPerSecond: INVITATIONS / seconds, seconds };
  } finally {
    await worker.stop();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
    connection.disconnect();
  }
}

/** `--cpu-prof` for the process named in BENCH_PROFILE (`api`, `worker`, `bare`), into BENCH_PROFILE_DIR. */
function profileArgs(name: string): string[] {
  const wanted = (process.env.BENCH_PROFILE ?? '').split(',');
  if (!wanted.includes(name)) return [];
  return ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR ?? 'bench/results/profiles'}`];
}

function rateText(done: number, started: number): string {
  const seconds = (performance.now() - started) / 1000;
  return seconds > 0 ? `${Math.round(done / seconds)}/s` : '';
}

// ---------- The real pipeline ----------

interface Pipeline {
  http: HttpClient;
  api: Child;
  worker: Child | null;
  cookie: string;
  orgIds: string[];
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  stop(): Promise<void>;
}

/** Resolves once a worker serves the invitation mail queue (or throws if `worker` exits first). */
async function waitForMailWorker(worker: Child): Promise<void> {
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(INVITATION_EMAIL_QUEUE, { connection, prefix: PREFIX });
  try {
    const deadline = Date.now() + 60_000;
    while ((await queue.getWorkersCount()) === 0) {
      if (worker.child.exitCode !== null) throw new Error(`the worker exited:\n${worker.output()}`);
      if (Date.now() > deadline) throw new Error(`the worker did not start:\n${worker.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** The API and the worker as their own processes on the test database, with an owner and the orgs. */
async function startPipeline(sink: Sink, tdb: TestDatabase, owner: pg.Client): Promise<Pipeline> {
  const keys = await generateLicenseKeyPair();
  const license = await issueLicense(
    {
      licensee: 'Benchmark',
      tier: 'enterprise',
      features: ['multi_tenant'],
      expiresAt: new Date(Date.now() + 86_400_000),
    },
    keys.privateKeyPem,
  );
  const port = await freePort();
  const common = {
    REDIS_URL,
    QUEUE_PREFIX: PREFIX,
    DATABASE_URL: tdb.appUrl!,
    DATABASE_MIGRATION_URL: tdb.ownerUrl!,
    LOG_LEVEL: 'warn',
  };
  const api = runTs(
    'apps/api/src/main.ts',
    {
      ...common,
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: 'https://tenantry.example.com',
      MULTI_TENANT_ENABLED: 'true',
      LICENSE_PUBLIC_KEY: keys.publicKeyPem,
      LICENSE_KEY: license,
      WEB_DIST: '/nonexistent',
    },
    profileArgs('api'),
  );
  const http = httpClient(port, HTTP_CONCURRENCY);
  await http.waitForHealth(api);
  const pipeline: Pipeline = {
    http,
    api,
    worker: null,
    cookie: '',
    orgIds: [],
    async startWorker() {
      // At the API's log level (warn, no line per mail); ready once it serves the mail queue.
      const worker = runTs(
        'apps/worker/src/main.ts',
        { ...common, SMTP_URL: `smtp://127.0.0.1:${sink.port}` },
        profileArgs('worker'),
      );
      pipeline.worker = worker;
      await waitForMailWorker(worker);
    },
    async stopWorker() {
      await pipeline.worker?.stop();
      pipeline.worker = null;
    },
    async stop() {
      http.close();
      await Promise.all([api.stop(), pipeline.stopWorker()]);
    },
  };

  // Set-up, not measured: an owner, the orgs, and no member limit (enterprise).
  const signup = await http.call('POST', '/api/auth/signup', {
    email: 'bench-owner@example.com',
    password: 'correct horse battery',
    name: 'Bench Owner',
  });
  if (signup.status !== 201 || !signup.cookie) throw new Error(`sign-up failed: ${JSON.stringify(signup.body)}`);
  pipeline.cookie = signup.cookie;
  const setupBar = bars.create(ORGS, 0, { label: 'orgs (set-up)   ', rate: '' });
  for (let i = 0; i < ORGS; i += 1) {
    const org = await http.call('POST', '/api/orgs', { name: `Bench Org ${i + 1}` }, pipeline.cookie);
    if (org.status !== 201) throw new Error(`creating an org failed: ${JSON.stringify(org.body)}`);
    pipeline.orgIds.push(String(org.body?.id));
    setupBar.update(i + 1);
  }
  setupBar.stop();
  await owner.query(`update organizations set tier = 'enterprise' where id = any($1::uuid[])`, [pipeline.orgIds]);
  return pipeline;
}

interface Creation {
  created: number;
  refused: number;
  requests: number;
  seconds: number;
}

/** Invitations per bulk request, as the web app and the CLI send them. */
const PER_REQUEST = INVITATION_CHUNK_SIZE;

/**
 * Creates INVITATIONS invitations through the REST API's bulk endpoint, PER_REQUEST per
 * request, the requests round-robin over the orgs, HTTP_CONCURRENCY at a time.
 */
async function createInvitations(pipeline: Pipeline, tag: string, label: string): Promise<Creation> {
  const bar = bars.create(INVITATIONS, 0, { label, rate: '' });
  const started = performance.now();
  const requests = Math.ceil(INVITATIONS / PER_REQUEST);
  let next = 0;
  let created = 0;
  let refused = 0;
  const client = async () => {
    for (;;) {
      const r = next++;
      if (r >= requests) return;
      const first = r * PER_REQUEST;
      const count = Math.min(PER_REQUEST, INVITATIONS - first);
      const invitations = Array.from({ length: count }, (_, k) => ({
        email: `${tag}-${first + k}@example.com`,
        role: 'viewer',
      }));
      const res = await pipeline.http.call(
        'POST',
        `/api/orgs/${pipeline.orgIds[r % ORGS]}/invitations/bulk`,
        { invitations },
        pipeline.cookie,
      );
      const made = res.status === 200 ? Number(res.body?.created ?? 0) : 0;
      created += made;
      if (made < count) {
        refused += count - made;
        if (refused <= 3 * PER_REQUEST)
          log(`  invitations refused: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      }
      bar.update(created + refused, { rate: rateText(created + refused, started) });
    }
  };
  await Promise.all(Array.from({ length: HTTP_CONCURRENCY }, client));
  bar.stop();
  return { created, refused, requests, seconds: (performance.now() - started) / 1000 };
}

interface Delivery {
  mailsPerSecond: number;
  seconds: number;
  duplicates: number;
}

/** Waits until the sink holds `expected` distinct mails; the rate counts from `started`. */
async function awaitMails(sink: Sink, expected: number, started: number, label: string): Promise<Delivery> {
  const bar = bars.create(expected, 0, { label, rate: '' });
  const last = await sink.until(
    (c) => c.distinct >= expected,
    (c) => bar.update(c.distinct, { rate: rateText(c.distinct, started) }),
    DELIVERY_TIMEOUT_MS,
  );
  bar.stop();
  const seconds = (performance.now() - started) / 1000;
  return { mailsPerSecond: last.distinct / seconds, seconds, duplicates: last.mails - last.distinct };
}

interface RealResult {
  /** `mailsDuringCreation`: mails at the sink when the API answered the last bulk request. */
  endToEnd: Delivery & { creation: Creation; mailsDuringCreation: number };
  backlog: Delivery & { creation: Creation };
  states: Record<string, number>;
}

async function measureRealPipeline(sink: Sink, tdb: TestDatabase): Promise<RealResult> {
  const owner = new pg.Client({ connectionString: tdb.ownerUrl! });
  await owner.connect();
  const pipeline = await startPipeline(sink, tdb, owner);
  try {
    // 1. End to end: the worker mails while the API creates.
    await pipeline.startWorker();
    await sink.reset();
    let mailsDuringCreation = 0;
    const started = performance.now();
    const [creation, delivery] = await Promise.all([
      createInvitations(pipeline, 'invitee', 'invitations API ').then((c) => {
        mailsDuringCreation = sink.latest.distinct;
        return c;
      }),
      // The expected count is known once creation ends; until then wait for all of them.
      awaitMails(sink, INVITATIONS, started, 'mails received  '),
    ]);
    if (creation.refused > 0) throw new Error(`${creation.refused} invitations were refused`);
    const endToEnd = { ...delivery, creation, mailsDuringCreation };
    log(
      `  end to end: ${Math.round(endToEnd.mailsPerSecond)} mails/s; the API created ${Math.round(creation.created / creation.seconds)}/s, meanwhile ${mailsDuringCreation} mails arrived`,
    );

    // 2. Delivery alone: a backlog created through the API with the worker stopped, then the worker.
    await pipeline.stopWorker();
    const backlogCreation = await createInvitations(pipeline, 'backlog', 'backlog via API ');
    await sink.reset();
    // From the moment the worker is consuming, as the ceiling's worker is when its jobs arrive.
    await pipeline.startWorker();
    const workerStarted = performance.now();
    const backlog = {
      ...(await awaitMails(sink, INVITATIONS, workerStarted, 'backlog mailed  ')),
      creation: backlogCreation,
    };
    log(`  delivery of a backlog: ${Math.round(backlog.mailsPerSecond)} mails/s `);

    // The sink has every mail; the last `sent` records commit a moment after the SMTP answer.
    const states = async () => {
      const { rows } = await owner.query<{ state: string; n: number }>(
        `select delivery_state as state, count(*)::int as n from invitations where org_id = any($1::uuid[]) group by 1`,
        [pipeline.orgIds],
      );
      return Object.fromEntries(rows.map((r) => [r.state, r.n])) as Record<string, number>;
    };
    let settled = await states();
    for (let i = 0; i < 100 && (settled.sent ?? 0) < 2 * INVITATIONS; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      settled = await states();
    }
    return { endToEnd, backlog, states: settled };
  } finally {
    await pipeline.stop();
    await owner.end();
  }
}

async function obliterate(names: string[]): Promise<void> {
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  for (const name of names) {
    const queue = new Queue(name, { connection, prefix: PREFIX });
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
  connection.disconnect();
}

async function main(): Promise<void> {
  log(
    `Invitations: ${INVITATIONS} across ${ORGS} orgs, ${HTTP_CONCURRENCY} HTTP requests in flight, worker concurrency ${INVITATION_EMAIL_CONCURRENCY}, SMTP pool ${SMTP_POOL_SIZE}`,
  );
  const sink = await startSink();
  const tdb = await createTestDatabase({ kind: 'postgresql', poolMax: 2 });
  try {
    // The ceiling before and after the product's phases, and the higher of the two: a quiet
    // spell during one of them cannot make the ratio look better than it is.
    const before = await measureCeiling(sink);
    log(`  ceiling: ${Math.round(before.mailsPerSecond)} mails/s (${before.seconds.toFixed(1)} s)`);
    const real = await measureRealPipeline(sink, tdb);
    const after = await measureCeiling(sink);
    log(`  ceiling again: ${Math.round(after.mailsPerSecond)} mails/s (${after.seconds.toFixed(1)} s)`);
    const ceiling = after.mailsPerSecond > before.mailsPerSecond ? after : before;
    const ratio = real.endToEnd.mailsPerSecond / ceiling.mailsPerSecond;
    const backlogRatio = real.backlog.mailsPerSecond / ceiling.mailsPerSecond;
    bars.stop();
    const target = `>= ${Math.round(TARGET_RATIO * ceiling.mailsPerSecond)} mails/s (${TARGET_RATIO}x the ceiling)`;
    const sent = real.states.sent ?? 0;
    const figures: Figure[] = [
      {
        label: 'end to end: API creates while the worker mails, first request to last mail',
        value: real.endToEnd.mailsPerSecond,
        unit: 'mails/s',
        target,
        ok: ratio >= TARGET_RATIO,
      },
      {
        label:
          'ceiling: bare BullMQ + nodemailer, same sink, concurrency and pool (the higher of a run before and after)',
        value: ceiling.mailsPerSecond,
        unit: 'mails/s',
      },
      {
        label: 'end to end / ceiling',
        value: ratio,
        unit: 'x',
        target: `>= ${TARGET_RATIO}x`,
        ok: ratio >= TARGET_RATIO,
      },
      {
        label: `invitations created through the REST API's bulk endpoint, ${PER_REQUEST} per request (end-to-end phase)`,
        value: real.endToEnd.creation.created / real.endToEnd.creation.seconds,
        unit: 'invitations/s',
      },
      {
        label: 'bulk invitation requests (end-to-end phase)',
        value: real.endToEnd.creation.requests / real.endToEnd.creation.seconds,
        unit: 'requests/s',
      },
      {
        label: 'delivery of a backlog made through the API: worker ready to last mail',
        value: real.backlog.mailsPerSecond,
        unit: 'mails/s',
        target,
        ok: backlogRatio >= TARGET_RATIO,
      },
      {
        label: 'backlog delivery / ceiling',
        value: backlogRatio,
        unit: 'x',
        target: `>= ${TARGET_RATIO}x`,
        ok: backlogRatio >= TARGET_RATIO,
      },
      {
        label: 'invitations recorded as sent',
        value: sent,
        unit: `of ${2 * INVITATIONS}`,
        ok: sent === 2 * INVITATIONS,
      },
      {
        label: 'duplicate mails at the sink',
        value: real.endToEnd.duplicates + real.backlog.duplicates,
        unit: 'mails',
        ok: real.endToEnd.duplicates + real.backlog.duplicates === 0,
      },
    ];
    writeResult({
      name: 'invitations',
      description: `${INVITATIONS} invitations across ${ORGS} orgs through the REST API's bulk endpoint (${PER_REQUEST} per request) on PostgreSQL, until every mail reached an SMTP sink in another process; then a backlog of ${INVITATIONS} more`,
      figures,
      details: {
        invitations: INVITATIONS,
        orgs: ORGS,
        httpConcurrency: HTTP_CONCURRENCY,
        invitationsPerRequest: PER_REQUEST,
        workerConcurrency: INVITATION_EMAIL_CONCURRENCY,
        smtpPoolSize: SMTP_POOL_SIZE,
        ceilingSeconds: ceiling.seconds,
        ceilingRuns: [before.mailsPerSecond, after.mailsPerSecond],
        endToEndSeconds: real.endToEnd.seconds,
        endToEndCreateSeconds: real.endToEnd.creation.seconds,
        endToEndMailsDuringCreation: real.endToEnd.mailsDuringCreation,
        backlogCreateSeconds: real.backlog.creation.seconds,
        backlogDeliverySeconds: real.backlog.seconds,
        deliveryStates: real.states,
        loadAverageAtEnd: loadavg(),
      },
    });
  } finally {
    bars.stop();
    sink.close();
    await obliterate(['bare-mail', 'invitation-email', 'invitation-expiry', 'invitation-expiry-sweep']);
    await clearRunKeys(REDIS_URL, PREFIX).catch(() => 0);
    await tdb.drop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    bars.stop();
    process.stderr.write(
      `benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
