import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createTestDatabase, type TestDatabase } from '@tenantry/db/testing';
import { createClient, reportResources, type TenantryClient } from '@tenantry/sdk';
import {
  INVITATION_EMAIL_QUEUE,
  invitationEmailJobId,
  jobOutcomesKey,
  openInvitationEmailQueue,
} from '@tenantry/worker';
import { getUntypedClient } from '@trpc/client';
import { Redis } from 'ioredis';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenOver, rest, signUpOver, testLicense } from '../api/server.js';
import { baseEnv, run, type Spawned } from './helpers.js';

/**
 * `pnpm scale-out` for real: two API and two worker processes on one PostgreSQL and one Redis,
 * behind the round-robin proxy. A change made through one API process reaches a subscriber of
 * the other, and jobs are shared by the workers with none run twice.
 */

const REDIS_URL = 'redis://127.0.0.1:6379';
const prefix = `test-scale-${randomUUID()}`;
const JOBS = 40;

let tdb: TestDatabase;
let smtp: SMTPServer;
let scaleOut: Spawned;
let proxyUrl: string;
let apiUrls: string[];
const recipients: string[] = [];

/** Follows an org's resources live (`resources.live`) through one API process. */
function follow(client: TenantryClient, onEvent: (event: unknown) => void): () => void {
  const sub = getUntypedClient(client).subscription('resources.live', undefined, { onData: onEvent });
  return () => sub.unsubscribe();
}

/** Registers an agent of the org through `url` and reports a new host with it; answers the host's name. */
async function reportThrough(url: string, token: string, orgId: string): Promise<string> {
  const agent = await rest(url, 'POST', '/api/agents', {
    token,
    headers: { 'x-org-id': orgId },
    body: { name: `scale-${randomUUID().slice(0, 6)}` },
  });
  if (agent.status >= 300) throw new Error(`agent registration: ${agent.status} ${JSON.stringify(agent.body)}`);
  const name = `host-${randomUUID().slice(0, 8)}`;
  await reportResources({ url, token: agent.body.token }, { resources: [{ type: 'host', name, status: 'online' }] });
  return name;
}

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then(async (mail) => {
          const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
          recipients.push(to?.value[0]?.address ?? '');
          // Each mail takes a while, so that one worker alone cannot drain the queue.
          await new Promise((resolve) => setTimeout(resolve, 40));
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  tdb = await createTestDatabase({ kind: 'postgresql', poolMax: 1 });
  const license = await testLicense();
  scaleOut = run(
    ['scripts/scale-out.ts'],
    baseEnv({
      DATABASE_URL: tdb.appUrl!,
      DATABASE_MIGRATION_URL: tdb.ownerUrl!,
      REDIS_URL,
      SMTP_URL: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`,
      QUEUE_PREFIX: prefix,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      MULTI_TENANT_ENABLED: 'true',
      LICENSE_PUBLIC_KEY: license.publicKeyPem,
      LICENSE_KEY: license.key,
    }),
  );
  const ready = await scaleOut.waitForOutput(/Tenantry scale-out is running at (\S+)/, 150_000);
  proxyUrl = ready[1]!;
  apiUrls = [...scaleOut.stdout().matchAll(/^ {2}api-\d+: +(http:\/\/\S+)/gm)].map((m) => m[1]!);
}, 180_000);

afterAll(async () => {
  await scaleOut?.terminate();
  const queue = openInvitationEmailQueue(REDIS_URL, { prefix });
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
  const redis = new Redis(REDIS_URL);
  await redis.del(jobOutcomesKey(prefix, INVITATION_EMAIL_QUEUE));
  redis.disconnect();
  await tdb?.drop();
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
});

function logLines(name: string): Record<string, unknown>[] {
  return scaleOut
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith(`[${name}] {`))
    .map((line) => JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>);
}

describe('two API and two worker processes behind the proxy', () => {
  it('prints where the proxy and each process listen', () => {
    expect(proxyUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(apiUrls).toHaveLength(2);
    expect(new Set(apiUrls).size).toBe(2);
    expect(scaleOut.stdout()).toMatch(/worker-1: +\(pid \d+\)/);
    expect(scaleOut.stdout()).toMatch(/worker-2: +\(pid \d+\)/);
  });

  it('deliver a resource reported through one API process to a live follower on the other', async () => {
    // Signed up and set up through the proxy, which spreads the requests over both processes.
    const owner = await signUpOver(proxyUrl, 'Scale Owner');
    const org = await rest(proxyUrl, 'POST', '/api/orgs', { cookie: owner.cookie, body: { name: 'Scaled Org' } });
    expect(org.status).toBe(201);
    const { token } = await createTokenOver(proxyUrl, owner, { orgIds: [org.body.id] });
    for (const name of ['api-1', 'api-2']) {
      expect(logLines(name).filter((l) => l.msg === 'request completed').length).toBeGreaterThan(1);
    }

    const [writerUrl, subscriberUrl] = apiUrls as [string, string];
    const subscriber = createClient({ url: subscriberUrl, token, org: org.body.id });
    const events: unknown[] = [];
    const stop = follow(subscriber, (event) => events.push(event));
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const marker = await reportThrough(writerUrl, token, org.body.id);
      await expect.poll(() => JSON.stringify(events).includes(marker), { timeout: 15_000, interval: 100 }).toBe(true);
    } finally {
      stop();
    }
  });

  it("keep each org's live events to that org's followers, across the processes", async () => {
    const owner = await signUpOver(proxyUrl, 'Scale Two');
    const orgs: string[] = [];
    for (const name of ['Live A', 'Live B']) {
      const res = await rest(proxyUrl, 'POST', '/api/orgs', { cookie: owner.cookie, body: { name } });
      expect(res.status).toBe(201);
      orgs.push(res.body.id);
    }
    const [a, b] = orgs as [string, string];
    const [api1, api2] = apiUrls as [string, string];
    // One token reaches both orgs: only the org each stream was opened for may reach it.
    const { token } = await createTokenOver(proxyUrl, owner, { orgIds: [a, b] });
    const seenA: { kind: string; resource?: { orgId: string; name: string } }[] = [];
    const seenB: typeof seenA = [];
    const stopA = follow(createClient({ url: api2, token, org: a }), (e) => seenA.push(e as (typeof seenA)[number]));
    const stopB = follow(createClient({ url: api1, token, org: b }), (e) => seenB.push(e as (typeof seenB)[number]));
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const hostA = await reportThrough(api1, token, a);
      const hostB = await reportThrough(api2, token, b);
      await expect.poll(() => seenA.some((e) => e.resource?.name === hostA), { timeout: 15_000 }).toBe(true);
      await expect.poll(() => seenB.some((e) => e.resource?.name === hostB), { timeout: 15_000 }).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(seenA.every((e) => e.resource?.orgId === a)).toBe(true);
      expect(seenB.every((e) => e.resource?.orgId === b)).toBe(true);
      expect(JSON.stringify(seenA)).not.toContain(hostB);
      expect(JSON.stringify(seenB)).not.toContain(hostA);
    } finally {
      stopA();
      stopB();
    }
  });

  it('share the jobs of a queue between both workers, running each exactly once', async () => {
    const queue = openInvitationEmailQueue(REDIS_URL, { prefix });
    const jobIds: string[] = [];
    try {
      for (let i = 0; i < JOBS; i++) {
        const invitationId = randomUUID();
        const email = `scale-${i}-${invitationId.slice(0, 6)}@example.com`;
        const jobId = invitationEmailJobId(invitationId, 1);
        jobIds.push(jobId);
        await queue.add(
          'send',
          {
            orgId: randomUUID(),
            invitationId,
            sendCount: 1,
            token: 'not-a-real-token',
            email,
            orgName: 'Scaled Org',
            inviterName: 'Scale Owner',
            role: 'viewer',
            link: `${proxyUrl}/invite/not-a-real-token`,
          },
          { jobId },
        );
      }
    } finally {
      await queue.close();
    }
    await expect.poll(() => recipients.length, { timeout: 60_000, interval: 200 }).toBe(JOBS);

    const ranBy = (name: string) =>
      logLines(name)
        .filter((l) => l.msg === 'invitation mail sent' && l.queue === INVITATION_EMAIL_QUEUE)
        .map((l) => String(l.jobId));
    await expect.poll(() => ranBy('worker-1').length + ranBy('worker-2').length, { timeout: 10_000 }).toBe(JOBS);
    const first = ranBy('worker-1');
    const second = ranBy('worker-2');
    expect(first.length, 'worker-1 ran some jobs').toBeGreaterThan(0);
    expect(second.length, 'worker-2 ran some jobs').toBeGreaterThan(0);
    expect([...first, ...second].sort()).toEqual([...jobIds].sort());
    expect(new Set(recipients).size).toBe(JOBS);
  });
});
