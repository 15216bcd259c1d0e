/**
 * "List my organizations" for a user in 500 organizations: `GET /api/orgs` (what the org
 * switcher shows), latency of one client alone and throughput under concurrent load
 * (autocannon). One API process on PostgreSQL and Redis.
 *
 *   pnpm exec tsx bench/list-orgs.bench.ts [--orgs 500] [--connections 10] [--seconds 10]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { generateLicenseKeyPair, issueLicense } from '@tenantry/core';
import { createOrg, findUserByEmail } from '@tenantry/db';
import { createTestDatabase } from '@tenantry/db/testing';
import autocannon from 'autocannon';
import cliProgress from 'cli-progress';
import { percentile, startApiProcess } from './lib/api-process.js';
import { writeResult } from './lib/results.js';

const { values: args } = parseArgs({
  options: {
    orgs: { type: 'string', default: '500' },
    connections: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '10' },
  },
});
const ORGS = Number(args.orgs);
const CONNECTIONS = Number(args.connections);
const SECONDS = Number(args.seconds);
const SEQUENTIAL = 200;
const TARGET_P95_MS = 50;
const TARGET_RPS = 200;

const keys = await generateLicenseKeyPair();
const license = await issueLicense(
  { licensee: 'Bench', tier: 'enterprise', features: ['multi_tenant'], expiresAt: new Date(Date.now() + 86_400_000) },
  keys.privateKeyPem,
);
const tdb = await createTestDatabase({ kind: 'postgresql', poolMax: 4 });
const api = await startApiProcess({
  DATABASE_URL: tdb.appUrl!,
  DATABASE_MIGRATION_URL: tdb.ownerUrl!,
  MULTI_TENANT_ENABLED: 'true',
  LICENSE_PUBLIC_KEY: keys.publicKeyPem,
  LICENSE_KEY: license,
  QUEUE_PREFIX: `bench-orgs-${randomUUID()}`,
});

async function signUp(name: string): Promise<{ email: string; cookie: string }> {
  const email = `${name}-${randomUUID().slice(0, 8)}@example.com`;
  const res = await fetch(`${api.url}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct horse battery staple', name }),
  });
  if (res.status !== 201) throw new Error(`signup: ${res.status} ${await res.text()}`);
  return { email, cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]! };
}

try {
  // The first account is the platform admin; the measured user is an ordinary member of ORGS orgs.
  await signUp('admin');
  const member = await signUp('member');
  const user = (await tdb.db.platform({}, (em) => findUserByEmail(em, member.email)))!;
  const bar = new cliProgress.SingleBar(
    {
      format: '  seeding organizations [{bar}] {value}/{total} ({eta}s left)',
      noTTYOutput: true,
      notTTYSchedule: 1000,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(ORGS, 0);
  for (let i = 0; i < ORGS; i += 25) {
    await tdb.db.platform({ userId: user.id }, async (em) => {
      for (let j = i; j < Math.min(ORGS, i + 25); j++) {
        await createOrg(em, { slug: `org-${j}`, name: `Organization ${j}`, createdById: user.id, ownerId: user.id });
      }
    });
    bar.update(Math.min(ORGS, i + 25));
  }
  bar.stop();

  const headers = { cookie: member.cookie };
  const first = await fetch(`${api.url}/api/orgs`, { headers });
  const listed = (await first.json()) as { orgs: unknown[] };
  if (first.status !== 200 || listed.orgs.length !== ORGS) {
    throw new Error(`GET /api/orgs answered ${first.status} with ${listed.orgs?.length} orgs, expected ${ORGS}`);
  }
  const bytes = JSON.stringify(listed).length;

  const samples: number[] = [];
  for (let i = 0; i < 20 + SEQUENTIAL; i++) {
    const started = performance.now();
    const res = await fetch(`${api.url}/api/orgs`, { headers });
    await res.arrayBuffer();
    if (i >= 20) samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);

  process.stdout.write(`  load: ${CONNECTIONS} connections for ${SECONDS} s…\n`);
  const load = await autocannon({ url: `${api.url}/api/orgs`, connections: CONNECTIONS, duration: SECONDS, headers });
  const failed = load.non2xx + load.errors + load.timeouts;
  const p95 = percentile(samples, 95);
  const rps = load.requests.average;
  writeResult({
    name: 'list-orgs',
    description: `GET /api/orgs for a user in ${ORGS} organizations (${Math.round(bytes / 1024)} KB of JSON)`,
    figures: [
      { label: 'one client, p50', value: percentile(samples, 50), unit: 'ms' },
      { label: 'one client, p95', value: p95, unit: 'ms', target: `<= ${TARGET_P95_MS} ms`, ok: p95 <= TARGET_P95_MS },
      {
        label: `${CONNECTIONS} connections, throughput`,
        value: rps,
        unit: 'req/s',
        target: `>= ${TARGET_RPS} req/s`,
        ok: rps >= TARGET_RPS && failed === 0,
      },
      { label: `${CONNECTIONS} connections, p50`, value: load.latency.p50, unit: 'ms' },
      { label: `${CONNECTIONS} connections, p99`, value: load.latency.p99, unit: 'ms' },
      { label: 'failed requests under load', value: failed, unit: 'requests', ok: failed === 0 },
    ],
    details: {
      orgs: ORGS,
      connections: CONNECTIONS,
      seconds: SECONDS,
      responseBytes: bytes,
      total: load.requests.total,
    },
  });
} finally {
  await api.stop();
  await tdb.drop();
}
