/**
 * Org switch round trip, as the web app does it over HTTP: `POST /trpc/orgs.switch`, then the
 * one batched refetch of what it drops on a switch (`system.config`, `auth.me`, `org.current`),
 * then the member count the landing page shows. One API process on PostgreSQL and Redis.
 *
 *   pnpm exec tsx bench/org-switch.bench.ts [--rounds 300] [--orgs 20]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { generateLicenseKeyPair, issueLicense } from '@tenantry/core';
import { createOrg, findUserByEmail, updateOrg } from '@tenantry/db';
import { createTestDatabase } from '@tenantry/db/testing';
import cliProgress from 'cli-progress';
import { percentile, startApiProcess } from './lib/api-process.js';
import { writeResult } from './lib/results.js';

const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '300' }, orgs: { type: 'string', default: '20' } },
});
const ROUNDS = Number(args.rounds);
const ORGS = Number(args.orgs);
const WARMUP = 30;
const TARGET_P95_MS = 150;

const keys = await generateLicenseKeyPair();
const license = await issueLicense(
  { licensee: 'Bench', tier: 'enterprise', features: ['multi_tenant'], expiresAt: new Date(Date.now() + 86_400_000) },
  keys.privateKeyPem,
);
const tdb = await createTestDatabase({ kind: 'postgresql', poolMax: 2 });
const api = await startApiProcess({
  DATABASE_URL: tdb.appUrl!,
  DATABASE_MIGRATION_URL: tdb.ownerUrl!,
  MULTI_TENANT_ENABLED: 'true',
  LICENSE_PUBLIC_KEY: keys.publicKeyPem,
  LICENSE_KEY: license,
  QUEUE_PREFIX: `bench-switch-${randomUUID()}`,
});

try {
  const email = `switcher-${randomUUID().slice(0, 8)}@example.com`;
  const signup = await fetch(`${api.url}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct horse battery staple', name: 'Switcher' }),
  });
  if (signup.status !== 201) throw new Error(`signup: ${signup.status} ${await signup.text()}`);
  const cookie = (signup.headers.get('set-cookie') ?? '').split(';')[0]!;

  // The user owns ORGS organizations (enterprise tier: the rounds stay within the rate budget).
  const bar = new cliProgress.SingleBar(
    { format: '  seeding organizations [{bar}] {value}/{total}', noTTYOutput: true, notTTYSchedule: 1000 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(ORGS, 0);
  const orgIds: string[] = [];
  const user = (await tdb.db.platform({}, (em) => findUserByEmail(em, email)))!;
  for (let i = 0; i < ORGS; i++) {
    const id = await tdb.db.platform({ userId: user.id }, async (em) => {
      const org = await createOrg(em, {
        slug: `switch-${i}`,
        name: `Switch ${i}`,
        createdById: user.id,
        ownerId: user.id,
      });
      await updateOrg(em, org.id, { tier: 'enterprise' });
      return org.id;
    });
    orgIds.push(id);
    bar.increment();
  }
  bar.stop();

  const headers = { cookie, origin: api.url, 'content-type': 'application/json' };
  const refetch = `${api.url}/trpc/system.config,auth.me,org.current?batch=1&input=${encodeURIComponent('{}')}`;
  async function roundTrip(orgId: string): Promise<{ switchMs: number; totalMs: number }> {
    const started = performance.now();
    const switched = await fetch(`${api.url}/trpc/orgs.switch?batch=1`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ 0: { orgId } }),
    });
    await switched.arrayBuffer();
    if (switched.status !== 200) throw new Error(`switch: ${switched.status}`);
    const switchMs = performance.now() - started;
    const batch = await fetch(refetch, { headers: { cookie } });
    const answers = (await batch.json()) as { result?: { data: { id?: string } } }[];
    if (batch.status !== 200 || answers[2]?.result?.data.id !== orgId) throw new Error(`refetch: ${batch.status}`);
    const members = await fetch(
      `${api.url}/trpc/members.list?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: { orgId } }))}`,
      { headers: { cookie } },
    );
    await members.arrayBuffer();
    if (members.status !== 200) throw new Error(`members: ${members.status}`);
    return { switchMs, totalMs: performance.now() - started };
  }

  for (let i = 0; i < WARMUP; i++) await roundTrip(orgIds[i % ORGS]!);
  const totals: number[] = [];
  const switches: number[] = [];
  const measure = new cliProgress.SingleBar(
    { format: '  switching [{bar}] {value}/{total}', noTTYOutput: true, notTTYSchedule: 1000 },
    cliProgress.Presets.shades_classic,
  );
  measure.start(ROUNDS, 0);
  const started = performance.now();
  for (let i = 0; i < ROUNDS; i++) {
    const { switchMs, totalMs } = await roundTrip(orgIds[(i * 7) % ORGS]!);
    switches.push(switchMs);
    totals.push(totalMs);
    measure.increment();
  }
  const seconds = (performance.now() - started) / 1000;
  measure.stop();
  totals.sort((a, b) => a - b);
  switches.sort((a, b) => a - b);
  const p95 = percentile(totals, 95);
  writeResult({
    name: 'org-switch',
    description: `org switch round trip over HTTP (switch + batched refetch + members), ${ROUNDS} rounds over ${ORGS} orgs, one client`,
    figures: [
      { label: 'round trip p50', value: percentile(totals, 50), unit: 'ms' },
      { label: 'round trip p95', value: p95, unit: 'ms', target: `<= ${TARGET_P95_MS} ms`, ok: p95 <= TARGET_P95_MS },
      { label: 'round trip p99', value: percentile(totals, 99), unit: 'ms' },
      { label: 'switch request alone p50', value: percentile(switches, 50), unit: 'ms' },
      { label: 'round trips per second (one client)', value: ROUNDS / seconds, unit: 'switches/s' },
    ],
    details: { rounds: ROUNDS, orgs: ORGS, warmup: WARMUP, requestsPerRound: 3 },
  });
} finally {
  await api.stop();
  await tdb.drop();
}
