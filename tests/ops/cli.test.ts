import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApp, loadApiEnv } from '@tenantry/api';
import { issueLicense } from '@tenantry/core';
import { createDb } from '@tenantry/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, createEmptyDatabase, type EmptyDatabase, freePort, runToEnd } from './helpers.js';

const tenantry = (args: string[], env: Record<string, string | undefined> = {}, input?: string) =>
  runToEnd(['scripts/cli.ts', ...args], baseEnv(env), { input });

describe('pnpm tenantry', () => {
  it('lists its commands', async () => {
    const result = await tenantry(['--help']);
    expect(result.code).toBe(0);
    for (const command of [
      'license keygen',
      'license issue',
      'license verify',
      'db migrate',
      'admin create',
      'seed demo',
      'agent simulate',
    ]) {
      expect(result.stdout).toContain(command);
    }
  });

  it('refuses an unknown command with exit code 2', async () => {
    const result = await tenantry(['license', 'forge']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Unknown command: license forge');
    expect(result.stderr).toContain('license issue');
  });
});

describe('license keys', () => {
  let dir: string;
  let privateKey: string;
  let publicKey: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tenantry-license-'));
    privateKey = path.join(dir, 'license-private.pem');
    publicKey = path.join(dir, 'license-public.pem');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keygen writes a private key only its owner can read and prints the public key', async () => {
    const result = await tenantry(['license', 'keygen', '--out', dir]);
    expect(result.code).toBe(0);
    expect(statSync(privateKey).mode & 0o777).toBe(0o600);
    expect(readFileSync(privateKey, 'utf8')).toContain('BEGIN PRIVATE KEY');
    const pem = readFileSync(publicKey, 'utf8');
    expect(pem).toContain('BEGIN PUBLIC KEY');
    expect(result.stdout).toContain(pem.trim());
    expect(result.stdout).toContain('LICENSE_PUBLIC_KEY');
  });

  it('keygen does not overwrite an existing key without --force', async () => {
    const before = readFileSync(privateKey, 'utf8');
    const result = await tenantry(['license', 'keygen', '--out', dir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('already exists');
    expect(readFileSync(privateKey, 'utf8')).toBe(before);
  });

  it('issue → verify round-trips licensee, tier, features, tenant limit and expiry', async () => {
    const issued = await tenantry([
      'license',
      'issue',
      '--private-key',
      privateKey,
      '--licensee',
      'Acme MSP',
      '--tier',
      'pro',
      '--features',
      'multi_tenant,sharing',
      '--max-tenants',
      '25',
      '--expires',
      '2099-12-31',
    ]);
    expect(issued.code).toBe(0);
    const key = issued.stdout.trim();
    expect(key).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(issued.stderr).toContain('Issued to Acme MSP');

    const verified = await tenantry(['license', 'verify', key, '--public-key', publicKey]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain('Valid license');
    expect(verified.stdout).toMatch(/licensee: +Acme MSP/);
    expect(verified.stdout).toMatch(/tier: +pro/);
    expect(verified.stdout).toMatch(/features: +multi_tenant, sharing/);
    expect(verified.stdout).toMatch(/max tenants: +25/);
    expect(verified.stdout).toMatch(/expires: +2099-12-31T23:59:59/);
  });

  it('verify reads the key from stdin and the public key from LICENSE_PUBLIC_KEY', async () => {
    const issued = await tenantry(['license', 'issue', '--private-key', privateKey, '--licensee', 'Homelab']);
    expect(issued.code).toBe(0);
    const verified = await tenantry(
      ['license', 'verify', '-'],
      { LICENSE_PUBLIC_KEY: readFileSync(publicKey, 'utf8') },
      issued.stdout,
    );
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain('verified with LICENSE_PUBLIC_KEY');
    expect(verified.stdout).toMatch(/tier: +enterprise/);
    expect(verified.stdout).toMatch(/max tenants: +unlimited/);
  });

  it('refuses a tampered key with a clear message and exit code 1', async () => {
    const issued = await tenantry(['license', 'issue', '--private-key', privateKey, '--licensee', 'Acme MSP']);
    const [header, payload, signature] = issued.stdout.trim().split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const forged = Buffer.from(JSON.stringify({ ...claims, maxTenants: 100_000 })).toString('base64url');
    const result = await tenantry(['license', 'verify', `${header}.${forged}.${signature}`, '--public-key', publicKey]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('LICENSE_INVALID');
    expect(result.stderr).toContain('signature does not verify');
    expect(result.stdout).toBe('');
  });

  it('refuses a key signed by another private key', async () => {
    const other = mkdtempSync(path.join(tmpdir(), 'tenantry-license-other-'));
    try {
      expect((await tenantry(['license', 'keygen', '--out', other])).code).toBe(0);
      const issued = await tenantry([
        'license',
        'issue',
        '--private-key',
        path.join(other, 'license-private.pem'),
        '--licensee',
        'Mallory',
      ]);
      const result = await tenantry(['license', 'verify', issued.stdout.trim(), '--public-key', publicKey]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('LICENSE_INVALID');
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('refuses an expired key and says when it expired', async () => {
    const key = await issueLicense(
      {
        licensee: 'Acme MSP',
        tier: 'enterprise',
        features: ['multi_tenant'],
        expiresAt: new Date('2024-01-31T00:00:00Z'),
      },
      readFileSync(privateKey, 'utf8'),
    );
    const result = await tenantry(['license', 'verify', key, '--public-key', publicKey]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('LICENSE_EXPIRED');
    expect(result.stderr).toContain('expired on 2024-01-31');
  });

  it('refuses a malformed key', async () => {
    const result = await tenantry(['license', 'verify', 'not-a-license', '--public-key', publicKey]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('LICENSE_INVALID');
  });

  it('answers wrong options with usage help and exit code 2', async () => {
    const missing = await tenantry(['license', 'issue', '--private-key', privateKey]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--licensee NAME is required');
    expect(missing.stderr).toContain('pnpm tenantry license issue --help');

    const feature = await tenantry([
      'license',
      'issue',
      '--private-key',
      privateKey,
      '--licensee',
      'A',
      '--features',
      'teleport',
    ]);
    expect(feature.code).toBe(2);
    expect(feature.stderr).toContain('Unknown feature(s): teleport');

    const past = await tenantry([
      'license',
      'issue',
      '--private-key',
      privateKey,
      '--licensee',
      'A',
      '--expires',
      '2001-01-01',
    ]);
    expect(past.code).toBe(2);
    expect(past.stderr).toContain('in the past');

    const flag = await tenantry(['license', 'verify', '--colour']);
    expect(flag.code).toBe(2);

    const help = await tenantry(['license', 'issue', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: pnpm tenantry license issue');
  });
});

describe('db migrate', () => {
  let database: EmptyDatabase;

  beforeAll(async () => {
    database = await createEmptyDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('migrates a fresh PostgreSQL database as the owner, and is idempotent', async () => {
    const env = { DATABASE_URL: database.appUrl, DATABASE_MIGRATION_URL: database.ownerUrl };
    const first = await tenantry(['db', 'migrate'], env);
    expect(first.stderr).toContain(`Migrating PostgreSQL at`);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('0001-initial');

    const tables = await database.query<{ name: string }>(
      `select tablename as name from pg_tables where schemaname = 'public' order by 1`,
    );
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['users', 'organizations', 'memberships']));
    const orgs = await database.query<{ slug: string }>('select slug from organizations');
    expect(orgs).toEqual([{ slug: 'default' }]);

    const again = await tenantry(['db', 'migrate'], env);
    expect(again.code).toBe(0);
    expect(await database.query('select slug from organizations')).toHaveLength(1);
  });

  it('admin create makes a superadmin who can sign in through the API, and promotes an existing user', async () => {
    const env = { DATABASE_URL: database.appUrl, DATABASE_MIGRATION_URL: database.ownerUrl };
    const created = await tenantry(
      ['admin', 'create', '--email', 'Root@Example.com', '--name', 'Root'],
      env,
      'correct horse battery\n',
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('Created superadmin root@example.com, owner of the default organization.');

    const apiEnv = loadApiEnv({ ...env, LOG_LEVEL: 'silent' });
    const db = await createDb({ databaseUrl: database.appUrl, migrationUrl: database.ownerUrl, dataDir: '' });
    const app = createApp({ env: apiEnv, db });
    try {
      const login = await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { email: 'root@example.com', password: 'correct horse battery' },
      });
      expect(login.statusCode).toBe(200);
      expect(login.json().user).toMatchObject({ email: 'root@example.com', platformRole: 'superadmin' });

      const signup = await app.inject({
        method: 'POST',
        url: '/api/auth/signup',
        payload: { email: 'ops@example.com', password: 'another password', name: 'Ops' },
      });
      expect(signup.statusCode).toBe(201);
      expect(signup.json().user.platformRole).toBe('user');
    } finally {
      await app.close();
      await db.close();
    }

    const promoted = await tenantry(['admin', 'create', '--email', 'ops@example.com', '--name', 'Ops'], env);
    expect(promoted.code).toBe(0);
    expect(promoted.stdout).toContain('Promoted ops@example.com to superadmin');
    const roles = await database.query<{ email: string; platform_role: string }>(
      'select email, platform_role from users order by email',
    );
    expect(roles).toEqual([
      { email: 'ops@example.com', platform_role: 'superadmin' },
      { email: 'root@example.com', platform_role: 'superadmin' },
    ]);

    const again = await tenantry(['admin', 'create', '--email', 'ops@example.com', '--name', 'Ops'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already a superadmin');

    const short = await tenantry(['admin', 'create', '--email', 'new@example.com', '--name', 'New'], env, 'short\n');
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('The password must be 8 to 200 characters');
  });

  it('seed demo adds users and organizations with members, and leaves them alone the second time', async () => {
    const env = { DATABASE_URL: database.appUrl, DATABASE_MIGRATION_URL: database.ownerUrl };
    const seeded = await tenantry(['seed', 'demo'], env);
    expect(seeded.code).toBe(0);
    expect(seeded.stdout).toMatch(/\[ 1\/\d+\] user alice@example.com: created\n/);
    expect(seeded.stdout).toContain('organization acme: created, owner alice@example.com');
    const members = await database.query<{ slug: string; email: string; role: string }>(
      `select o.slug, u.email, m.role from memberships m join organizations o on o.id = m.org_id
       join users u on u.id = m.user_id where o.slug <> 'default' order by 1, 2`,
    );
    expect(members).toEqual([
      { slug: 'acme', email: 'alice@example.com', role: 'owner' },
      { slug: 'acme', email: 'bob@example.com', role: 'admin' },
      { slug: 'acme', email: 'dave@example.com', role: 'viewer' },
      { slug: 'globex', email: 'alice@example.com', role: 'owner' },
      { slug: 'globex', email: 'carol@example.com', role: 'editor' },
      { slug: 'initech-lab', email: 'bob@example.com', role: 'viewer' },
      { slug: 'initech-lab', email: 'carol@example.com', role: 'owner' },
    ]);

    expect(seeded.stdout).toContain('agent demo-agent in acme: created with 7 resources');
    const resources = await database.query<{ slug: string; n: string }>(
      `select o.slug, count(*)::text as n from resources r join organizations o on o.id = r.org_id group by 1 order by 1`,
    );
    expect(resources).toEqual([
      { slug: 'acme', n: '7' },
      { slug: 'globex', n: '4' },
      { slug: 'initech-lab', n: '3' },
    ]);

    const again = await tenantry(['seed', 'demo'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('organization acme: exists');
    expect(again.stdout).toContain('agent demo-agent in acme: exists');
    expect(await database.query('select 1 from organizations')).toHaveLength(4);
  });

  it('fails with exit code 1 and names the database it could not reach', async () => {
    const url = `postgres://postgres@127.0.0.1:${await freePort()}/nowhere`;
    const result = await tenantry(['db', 'migrate'], { DATABASE_URL: url });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Migration failed on PostgreSQL at ${url}`);
  });
});
