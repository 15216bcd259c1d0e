import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createApp, loadApiEnv } from '@tenantry/api';
import { generateLicenseKeyPair, issueLicense } from '@tenantry/core';
import { listAuditEvents } from '@tenantry/db';
import { createTestDatabase, type TestDatabase } from '@tenantry/db/testing';
import { openInvitationEmailQueue } from '@tenantry/worker';
import { Redis } from 'ioredis';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The worker as its own process (`tsx apps/worker/src/main.ts` on PostgreSQL) is killed with
// SIGKILL in the middle of a batch of invitation mails and started again. Every invitation
// must end up with exactly one delivered mail for its token: what a mailbox shows, which
// folds copies with the same Message-ID into one message.

const ROOT = path.resolve(import.meta.dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const REDIS_URL = 'redis://127.0.0.1:6379';
const PUBLIC_URL = 'https://tenantry.example.com';
const prefix = `e2e-crash-${randomUUID()}`;
const ORGS = 3;
const PER_ORG = 20;
const TOTAL = ORGS * PER_ORG;

interface Received {
  messageId: string;
  to: string;
  token: string;
}

let tdb: TestDatabase;
let app: ReturnType<typeof createApp>;
let smtp: SMTPServer;
let smtpPort = 0;
let redis: Redis;
const received: Received[] = [];
const workers: ChildProcess[] = [];

function startWorkerProcess(): { child: ChildProcess; output: () => string } {
  const child = spawn(TSX, ['apps/worker/src/main.ts'], {
    cwd: ROOT,
    detached: true,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      DATABASE_URL: tdb.appUrl!,
      DATABASE_MIGRATION_URL: tdb.ownerUrl!,
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workers.push(child);
  let out = '';
  child.stdout?.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    out += chunk;
  });
  return { child, output: () => out };
}

async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  }
}

async function req(method: string, url: string, opts: { cookie?: string; body?: unknown } = {}) {
  const res = await app.inject({
    method: method as 'GET',
    url,
    headers: {
      ...(opts.cookie ? { cookie: opts.cookie } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(opts.body !== undefined ? { payload: JSON.stringify(opts.body) } : {}),
  });
  const set = res.headers['set-cookie'];
  const cookies = Array.isArray(set) ? set : set ? [set] : [];
  return {
    status: res.statusCode,
    body: res.body ? JSON.parse(res.body) : undefined,
    cookie: cookies.find((c) => c.startsWith('tenantry_session='))?.split(';')[0],
  };
}

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          // A slow server: the worker is always mid-batch when it dies.
          setTimeout(() => {
            const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
            received.push({
              messageId: mail.messageId ?? '',
              to: to?.value[0]?.address ?? '',
              token: mail.text?.match(/\/invite\/(\S+)/)?.[1] ?? '',
            });
            callback();
          }, 40);
        })
        .catch(callback);
    },
  });
  // A worker killed mid-mail resets its connections: expected here, not a failure.
  smtp.on('error', () => {});
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpPort = (smtp.server.address() as AddressInfo).port;

  tdb = await createTestDatabase({ kind: 'postgresql', poolMax: 4 });
  const keys = await generateLicenseKeyPair();
  const license = await issueLicense(
    { licensee: 'Crash', tier: 'enterprise', features: ['multi_tenant'], expiresAt: new Date(Date.now() + 86_400_000) },
    keys.privateKeyPem,
  );
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  app = createApp({
    env: loadApiEnv({
      LOG_LEVEL: 'silent',
      PUBLIC_URL,
      WEB_DIST: '/nonexistent',
      MULTI_TENANT_ENABLED: 'true',
      LICENSE_PUBLIC_KEY: keys.publicKeyPem,
      LICENSE_KEY: license,
    }),
    db: tdb.db,
    redis,
    queuePrefix: prefix,
  });
  await app.ready();
});

afterAll(async () => {
  for (const child of workers) killGroup(child, 'SIGKILL');
  await app?.close();
  for (const name of ['invitation-email', 'invitation-expiry', 'invitation-expiry-sweep']) {
    const queue = openInvitationEmailQueue(REDIS_URL, { name, prefix });
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
  redis?.disconnect();
  await tdb?.drop();
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
});

describe('when the worker process is killed mid-batch and started again', () => {
  it('delivers exactly one mail per invitation token, and records every one as sent once', async () => {
    const signup = await req('POST', '/api/auth/signup', {
      body: { email: `owner-${randomUUID()}@example.com`, password: 'correct horse battery', name: 'Olivia Owner' },
    });
    const cookie = signup.cookie!;
    const invitations: { id: string; orgId: string; email: string }[] = [];
    for (let o = 0; o < ORGS; o += 1) {
      const org = await req('POST', '/api/orgs', { cookie, body: { name: `Crash Org ${o}` } });
      expect(org.status).toBe(201);
      await tdb.db.platform({}, (em) =>
        em.execute(`update organizations set max_members = 1000 where id = ?`, [org.body.id]),
      );
      for (let i = 0; i < PER_ORG; i += 1) {
        const email = `invitee-${o}-${i}@example.com`;
        const inv = await req('POST', `/api/orgs/${org.body.id}/invitations`, {
          cookie,
          body: { email, role: 'viewer' },
        });
        expect(inv.status).toBe(201);
        invitations.push({ id: inv.body.id, orgId: org.body.id, email });
      }
    }

    const first = startWorkerProcess();
    await waitFor('a third of the mails', () => received.length >= TOTAL / 3, 60_000);
    killGroup(first.child, 'SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    const atKill = received.length;
    expect(atKill).toBeLessThan(TOTAL);

    const second = startWorkerProcess();
    const states = async () => {
      const counts = new Map<string, number>();
      for (const inv of invitations) {
        const [row] = await tdb.db.tenant({ orgId: inv.orgId }, (em) =>
          em.execute<{ state: string }[]>(
            'select delivery_state as state from invitations where org_id = ? and id = ?',
            [inv.orgId, inv.id],
          ),
        );
        counts.set(row!.state, (counts.get(row!.state) ?? 0) + 1);
      }
      return counts;
    };
    await waitFor('every invitation sent', async () => (await states()).get('sent') === TOTAL, 90_000).catch(
      (error: Error) => {
        throw new Error(`${error.message}\n${second.output().slice(-3000)}`);
      },
    );
    killGroup(second.child, 'SIGTERM');

    for (const inv of invitations) {
      const mine = received.filter((m) => m.to === inv.email);
      const messageIds = new Set(mine.map((m) => m.messageId));
      const tokens = new Set(mine.map((m) => m.token));
      expect({ email: inv.email, messageIds: [...messageIds], tokens: tokens.size }).toEqual({
        email: inv.email,
        messageIds: [`<invite-${inv.id}-1@tenantry.example.com>`],
        tokens: 1,
      });
      // The one token mailed is the invitation's live one.
      const page = await req('GET', `/api/invitations/${[...tokens][0]}`);
      expect(page.body).toMatchObject({ email: inv.email, status: 'pending' });
    }
    // Copies sent twice are the few that were in flight when the worker died.
    expect(received.length - TOTAL).toBeLessThanOrEqual(10);

    for (let o = 0; o < ORGS; o += 1) {
      const orgId = invitations[o * PER_ORG]!.orgId;
      const sent = await tdb.db.tenant({ orgId }, (em) =>
        listAuditEvents(em, orgId, { action: 'invitation.sent', limit: 1000 }),
      );
      expect(sent.events).toHaveLength(PER_ORG);
      expect(new Set(sent.events.map((e) => e.targetId)).size).toBe(PER_ORG);
    }
  }, 180_000);
});
