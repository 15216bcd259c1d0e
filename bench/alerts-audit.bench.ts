import { createHash, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { createApp, evaluateAlertsOnReport, loadApiEnv, type ReportedResource } from '@tenantry/api';
import {
  addMembership,
  appendAuditEvents,
  createAlertRule,
  createOrg,
  createSession,
  createUser,
  type Db,
} from '@tenantry/db';
import { createTestDatabase } from '@tenantry/db/testing';
import cliProgress from 'cli-progress';
import { writeResult } from './lib/results.js';

// What alerting adds to an agent report, and how fast the audit log streams out.
//
// 1. Evaluation: one org with 20 enabled rules; an agent reports 1,000 resources per report.
//    Each report is one unit of work (as the report endpoint runs it) that evaluates every
//    rule against every resource. Measured in the steady state (nothing changes: the common
//    case), and for a storm (every resource crosses the CPU thresholds at once, then recovers:
//    thousands of alerts fired and audited in one report, then resolved).
// 2. Export: `GET /api/audit/export` of 100,000 entries over HTTP, NDJSON and CSV.
//
// Targets are what the product needs, not what an idle machine does: an agent reports every
// 10 s or more, so a steady evaluation of 100 ms is 1% of the interval, and even a storm must
// end well within one interval. The machine's load is recorded beside the figures.
//
// Run: pnpm exec tsx bench/alerts-audit.bench.ts (PostgreSQL on 127.0.0.1:5432).

const RESOURCES = 1000;
const RULES = 20;
const STEADY_REPORTS = 60;
const STORM_ROUNDS = 5;
const AUDIT_ENTRIES = 100_000;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

function bar(label: string, total: number) {
  const b = new cliProgress.SingleBar(
    { format: `${label.padEnd(24)} [{bar}] {value}/{total} {duration_formatted}`, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  b.start(total, 0);
  return b;
}

async function seedOrg(db: Db, owner: string) {
  const org = await db.platform({}, (em) =>
    createOrg(em, { slug: `bench-${randomUUID().slice(0, 8)}`, name: 'Bench', ownerId: owner, tier: 'enterprise' }),
  );
  const agentId = randomUUID();
  const resources: ReportedResource[] = [];
  const progress = bar('resources and rules', RESOURCES + RULES);
  await db.tenant({ orgId: org.id }, async (em) => {
    await em.execute(`insert into agents (org_id, id, name, token_hash) values (?, ?, 'bench', 'x')`, [
      org.id,
      agentId,
    ]);
    for (let i = 0; i < RESOURCES; i++) {
      const r: ReportedResource = {
        id: randomUUID(),
        type: i % 4 === 0 ? 'vm' : 'host',
        name: `node-${i}`,
        status: 'online',
        cpu: 0.3,
        memory: 0.4,
        disk: 0.5,
      };
      resources.push(r);
      await em.execute(
        `insert into resources (org_id, id, agent_id, type, name, status, cpu, memory, disk)
         values (?, ?, ?, ?, ?, 'online', 0.3, 0.4, 0.5)`,
        [org.id, r.id, agentId, r.type, r.name],
      );
      progress.increment();
    }
    for (let i = 0; i < RULES; i++) {
      const metric = (['cpu', 'memory', 'disk', 'status'] as const)[i % 4]!;
      await createAlertRule(em, {
        orgId: org.id,
        name: `rule-${i}`,
        metric,
        comparison: metric === 'status' ? 'eq' : 'gt',
        threshold: metric === 'status' ? null : 0.9 + (i % 5) / 100,
        statusValue: metric === 'status' ? 'offline' : null,
        durationSeconds: i % 3 === 0 ? 60 : 0,
        resourceTypes: i % 2 === 0 ? [] : ['host'],
        namePattern: i % 5 === 0 ? 'node-*' : null,
        resourceIds: [],
        recipients: [`oncall-${i}@example.com`],
        enabled: true,
      });
      progress.increment();
    }
  });
  progress.stop();
  return { orgId: org.id, agentId, resources };
}

/** Appends `AUDIT_ENTRIES` entries to the default org's log and exports them over HTTP. */
async function measureExport(db: Db, ownerId: string) {
  // The default org works without a license.
  const orgId = db.defaultOrgId;
  await db.tenant({ orgId }, (em) => addMembership(em, { orgId, userId: ownerId, role: 'owner' }));
  const progress = bar('audit entries', AUDIT_ENTRIES);
  for (let i = 0; i < AUDIT_ENTRIES; i += 1000) {
    await db.tenant({ orgId }, (em) =>
      appendAuditEvents(
        em,
        orgId,
        Array.from({ length: 1000 }, (_, j) => ({
          actorType: 'user' as const,
          actorId: ownerId,
          actorLabel: 'bench@example.com',
          action: 'bench.entry',
          targetType: 'thing',
          targetId: `t-${i + j}`,
          ip: '192.0.2.1',
          details: { n: i + j, note: 'a, "quoted" value' },
        })),
      ),
    );
    progress.increment(1000);
  }
  progress.stop();
  const token = randomUUID();
  await db.platform({ userId: ownerId }, (em) =>
    createSession(em, {
      tokenHash: createHash('sha256').update(token).digest('hex'),
      userId: ownerId,
      expiresAt: new Date(Date.now() + 3_600_000),
    }),
  );
  const app = createApp({ env: loadApiEnv({ LOG_LEVEL: 'silent', WEB_DIST: '/nonexistent' }), db });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const exportOnce = async (format: 'ndjson' | 'csv') => {
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/api/audit/export?format=${format}`, {
      headers: { cookie: `tenantry_session=${token}`, 'x-org-id': orgId },
    });
    if (res.status !== 200) throw new Error(`export answered ${res.status}: ${await res.text()}`);
    const text = await res.text();
    const lines = text.split('\n').filter(Boolean).length - (format === 'csv' ? 1 : 0);
    return { seconds: (performance.now() - t0) / 1000, lines, bytes: text.length };
  };
  try {
    await exportOnce('ndjson');
    return { ndjson: await exportOnce('ndjson'), csv: await exportOnce('csv') };
  } finally {
    await app.close();
  }
}

async function main() {
  const loadBefore = loadavg();
  const tdb = await createTestDatabase({ kind: 'postgresql', poolMax: 8 });
  try {
    const db = tdb.db;
    const owner = await db.platform({}, (em) =>
      createUser(em, { email: `bench-${randomUUID()}@example.com`, name: 'Bench', passwordHash: 'x' }),
    );
    const { orgId, agentId, resources } = await seedOrg(db, owner.id);
    const report = (cpu: number) =>
      db.tenant({ orgId }, (em) =>
        evaluateAlertsOnReport(
          em,
          orgId,
          resources.map((r) => ({ ...r, cpu })),
          { queues: null, actor: { type: 'agent', id: agentId, label: 'bench' } },
        ),
      );

    // Warm-up, then the steady state: nothing crosses a threshold.
    for (let i = 0; i < 5; i++) await report(0.3);
    const steady: number[] = [];
    let progress = bar('steady reports', STEADY_REPORTS);
    for (let i = 0; i < STEADY_REPORTS; i++) {
      const t0 = performance.now();
      await report(0.3 + (i % 3) / 100);
      steady.push(performance.now() - t0);
      progress.increment();
    }
    progress.stop();

    // Storms: every resource breaches the CPU rules at once, then recovers.
    const fire: number[] = [];
    const recover: number[] = [];
    let fired = 0;
    progress = bar('storms', STORM_ROUNDS);
    for (let i = 0; i < STORM_ROUNDS; i++) {
      let t0 = performance.now();
      const up = await report(0.99);
      fire.push(performance.now() - t0);
      fired += up.fired.length;
      t0 = performance.now();
      await report(0.1);
      recover.push(performance.now() - t0);
      progress.increment();
    }
    progress.stop();

    const { ndjson, csv } = await measureExport(db, owner.id);

    const s = [...steady].sort((a, b) => a - b);
    const f = [...fire].sort((a, b) => a - b);
    const r = [...recover].sort((a, b) => a - b);
    const perStorm = fired / STORM_ROUNDS;
    writeResult({
      name: 'alerts-audit',
      description: `alert evaluation of ${RESOURCES}-resource reports against ${RULES} rules, and the audit export of ${AUDIT_ENTRIES} entries`,
      figures: [
        {
          label: 'steady report p50',
          value: percentile(s, 0.5),
          unit: 'ms',
          target: '<= 100 ms',
          ok: percentile(s, 0.5) <= 100,
        },
        { label: 'steady report p99', value: percentile(s, 0.99), unit: 'ms' },
        {
          label: 'steady rule×resource evaluations',
          value: (RESOURCES * RULES) / (percentile(s, 0.5) / 1000),
          unit: '/s',
        },
        {
          label: `storm report (${perStorm} alerts fired) p50`,
          value: percentile(f, 0.5),
          unit: 'ms',
          target: '<= 10000 ms',
          ok: percentile(f, 0.5) <= 10_000,
        },
        { label: `recovery report (${perStorm} resolved) p50`, value: percentile(r, 0.5), unit: 'ms' },
        {
          label: 'NDJSON export',
          value: ndjson.lines / ndjson.seconds,
          unit: 'entries/s',
          target: '>= 10000 entries/s',
          ok: ndjson.lines / ndjson.seconds >= 10_000,
        },
        {
          label: 'CSV export',
          value: csv.lines / csv.seconds,
          unit: 'entries/s',
          target: '>= 10000 entries/s',
          ok: csv.lines / csv.seconds >= 10_000,
        },
      ],
      details: {
        resources: RESOURCES,
        rules: RULES,
        steadyReports: STEADY_REPORTS,
        stormRounds: STORM_ROUNDS,
        alertsFiredPerStorm: perStorm,
        exportedEntries: { ndjson: ndjson.lines, csv: csv.lines },
        exportBytes: { ndjson: ndjson.bytes, csv: csv.bytes },
        exportSeconds: { ndjson: ndjson.seconds, csv: csv.seconds },
        loadAverage: { before: loadBefore, after: loadavg() },
      },
    });
  } finally {
    await tdb.drop();
  }
}

await main();
