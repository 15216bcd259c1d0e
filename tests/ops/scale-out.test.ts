import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { appRouter } from '@tenantry/api';
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

/** How a client of one API process follows what a client of the other changes. */
interface LiveScenario {
  name: string;
  follow(subscriber: TenantryClient, onEvent: (event: unknown) => void): () => void;
  /** Makes a change through `writer`; the subscriber's events then contain the returned marker. */
  change(writer: TenantryClient, ctx: { url: string; token: string; orgId: string }): Promise<string>;
}

/** Until a live subscription exists: the other process's reads see the change at once. */
const orgRenamedScenario: LiveScenario = {
  name: 'org renamed, followed by reading it',
  follow(subscriber, onEvent) {
    const timer = setInterval(() => {
      subscriber.org.current.query().then(
        (org) => onEvent(org.name),
        () => {},
      );
    }, 100);
    return () => clearInterval(timer);
  },
  async change(writer, { orgId }) {
    const name = `Renamed ${randomUUID().slice(0, 8)}`;
    await writer.orgs.update.mutate({ orgId, name });
    return name;
  },
};

/** With `resources.live`: an agent reports through one process, the stream of the other shows it. */
const resourceReportedScenario: LiveScenario = {
  name: 'resource reported, followed live over resources.live',
  follow(subscriber, onEvent) {
    const sub = getUntypedClient(subscriber).subscription('resources.live', undefined, { onData: onEvent });
    return () => sub.unsubscribe();
  },
  async change(_writer, { url, token, orgId }) {
    const agent = await rest(url, 'POST', '/api/agents', {
      token,
      headers: { 'x-org-id': orgId },
      body: { name: 'scale' },
    });
    if (agent.status >= 300) throw new Error(`agent registration: ${agent.status} ${JSON.stringify(agent.body)}`);
    const name = `host-${randomUUID().slice(0, 8)}`;
    await reportResources({ url, token: agent.body.token }, { resources: [{ type: 'host', name, status: 'online' }] });
    return name;
  },
};

const LIVE: LiveScenario = Object.hasOwn(appRouter._def.procedures, 'resources.live')
  ? resourceReportedScenario
  : orgRenamedScenario;

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

  it(`deliver a change made through one API process to a follower on the other (${LIVE.name})`, async () => {
    // Signed up and set up through the proxy, which spreads the requests over both processes.
    const owner = await signUpOver(proxyUrl, 'Scale Owner');
    const org = await rest(proxyUrl, 'POST', '/api/orgs', { cookie: owner.cookie, body: { name: 'Scaled Org' } });
    expect(org.status).toBe(201);
    const { token } = await createTokenOver(proxyUrl, owner, { orgIds: [org.body.id] });
    for (const name of ['api-1', 'api-2']) {
      expect(logLines(name).filter((l) => l.msg === 'request completed').length).toBeGreaterThan(1);
    }

    const [writerUrl, subscriberUrl] = apiUrls as [string, string];
    const writer = createClient({ url: writerUrl, token, org: org.body.id });
    const subscriber = createClient({ url: subscriberUrl, token, org: org.body.id });
    const events: unknown[] = [];
    const stop = LIVE.follow(subscriber, (event) => events.push(event));
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const marker = await LIVE.change(writer, { url: writerUrl, token, orgId: org.body.id });
      await expect.poll(() => JSON.stringify(events).includes(marker), { timeout: 15_000, interval: 100 }).toBe(true);
    } finally {
      stop();
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
