/**
 * The data of the resources-list benchmark: a PostgreSQL database of its own, migrated with the
 * product's migrations (opened through `@tenantry/db`), holding `orgs` organizations of
 * `perOrg` resources each, one agent per org, and one MSP user who owns every org. Seeded
 * straight into the tables as the superuser with set-based SQL, and kept between runs: a
 * database that already holds exactly these counts is reused as it is.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { APP_ROLE, createDb } from '@tenantry/db';
import cliProgress from 'cli-progress';
import pg from 'pg';

/** The superuser the seed and the ceiling connect as (trust auth on this machine). */
export const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface SeedOptions {
  database: string;
  orgs: number;
  perOrg: number;
  /** Drop and seed again even when the counts match. */
  fresh: boolean;
}

/** What a seeded database holds, and how the servers reach it. */
export interface SeededData {
  /** The superuser on the benchmark database (seed, ceiling). */
  ownerUrl: string;
  /** The LOGIN app role on the benchmark database (the product). */
  appUrl: string;
  userId: string;
  /** The orgs that hold resources, in slug order; the token is bound to all of them. */
  orgIds: string[];
  /** An org the user owns but the token is not bound to (the product must refuse it). */
  outsideOrgId: string;
  /** A fresh `tnt_…` API token of the user, bound to every org of `orgIds` as viewer. */
  token: string;
  /** Whether this run seeded (false: an earlier run's data was reused). */
  seeded: boolean;
  seedSeconds: number;
}

const USER_EMAIL = 'msp-operator@bench.example.com';
const ORG_SLUG_PREFIX = 'bench-org-';
const OUTSIDE_SLUG = 'bench-outside';
const TOKEN_NAME = 'resources dashboard';
/** Orgs per INSERT of resources: 50 × 1,000 rows per statement. */
const ORGS_PER_CHUNK = 50;

function urlFor(database: string, user?: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  if (user) url.username = user;
  return url.toString();
}

/** Same shape and hash as the product's `newApiToken` (apps/api/src/api-tokens.ts). */
function newApiToken(): { token: string; hash: string } {
  const token = `tnt_${randomBytes(32).toString('base64url')}`;
  return { token, hash: createHash('sha256').update(token).digest('hex') };
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The app role logs in directly here, as in the product's tests (`@tenantry/db/testing`). */
async function ensureAppLoginRole(admin: pg.Client): Promise<void> {
  try {
    await admin.query(`CREATE ROLE ${APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS`);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== '42710' && code !== '23505') throw error;
  }
  const { rows } = await admin.query<{ rolcanlogin: boolean }>('select rolcanlogin from pg_roles where rolname = $1', [
    APP_ROLE,
  ]);
  if (!rows[0]?.rolcanlogin) await admin.query(`ALTER ROLE ${APP_ROLE} LOGIN`);
}

/** Whether the database holds exactly the benchmark's data (any failure: no). */
async function holdsSeed(ownerUrl: string, opts: SeedOptions): Promise<boolean> {
  try {
    return await withClient(ownerUrl, async (client) => {
      const { rows } = await client.query<{ orgs: number; agents: number; resources: number; members: number }>(
        `select
           (select count(*)::int from organizations where slug like $1) as orgs,
           (select count(*)::int from agents) as agents,
           (select count(*)::int from resources) as resources,
           (select count(*)::int from memberships m join users u on u.id = m.user_id where u.email = $2) as members`,
        [`${ORG_SLUG_PREFIX}%`, USER_EMAIL],
      );
      const r = rows[0];
      return (
        r !== undefined &&
        r.orgs === opts.orgs &&
        r.agents === opts.orgs &&
        r.resources === opts.orgs * opts.perOrg &&
        r.members === opts.orgs + 1
      );
    });
  } catch {
    return false;
  }
}

const say = (line: string) => process.stdout.write(`${line}\n`);

/** Organizations, the user and their memberships, and one agent per org. */
async function seedTenants(owner: pg.Client, opts: SeedOptions): Promise<void> {
  // No password: this user acts only through the API token made below.
  await owner.query(`insert into users (email, name, password_hash) values ($1, 'Morgan MSP', '!no-password')`, [
    USER_EMAIL,
  ]);
  await owner.query(
    `insert into organizations (slug, name, tier, created_by_id)
     select $1 || lpad(g::text, 4, '0'),
            (array['Northwind','Contoso','Fabrikam','Globex','Initech','Umbrella','Hooli','Wayne','Tyrell','Soylent'])[1 + g % 10]
              || ' ' || (array['Logistics','Health','Retail','Energy','Labs','Finance','Media','Foods'])[1 + (g / 10) % 8]
              || ' ' || g,
            'pro', (select id from users where email = $3)
     from generate_series(1, $2::int) g`,
    [ORG_SLUG_PREFIX, opts.orgs, USER_EMAIL],
  );
  await owner.query(
    `insert into organizations (slug, name, tier, created_by_id)
     values ($1, 'Outside Holdings', 'pro', (select id from users where email = $2))`,
    [OUTSIDE_SLUG, USER_EMAIL],
  );
  await owner.query(
    `insert into memberships (org_id, user_id, role, added_by_id)
     select o.id, u.id, 'owner', u.id from organizations o cross join users u
     where u.email = $1 and (o.slug like $2 or o.slug = $3)`,
    [USER_EMAIL, `${ORG_SLUG_PREFIX}%`, OUTSIDE_SLUG],
  );
  // A SHA-256 like the product stores, of a token nobody holds: agents do not report here.
  await owner.query(
    `insert into agents (org_id, id, name, token_hash, created_by_id, last_seen_at, last_ip, version)
     select o.id, gen_random_uuid(), 'collector-01', encode(sha256(gen_random_uuid()::text::bytea), 'hex'),
            o.created_by_id, now() - random() * interval '1 minute', '10.0.' || (n % 250) || '.' || (1 + n / 250), '1.4.2'
     from (select id, created_by_id, row_number() over (order by slug) as n from organizations where slug like $1) o`,
    [`${ORG_SLUG_PREFIX}%`],
  );
}

/**
 * `perOrg` resources for each agent of the given orgs: one in ten a host, four a VM, four a
 * container, one storage; statuses and metrics as agents report them (none while stopped).
 */
async function seedResources(owner: pg.Client, orgIds: string[], perOrg: number): Promise<void> {
  await owner.query(
    `with r as (
       select a.org_id, a.id as agent_id, g,
              case when g % 10 = 0 then 'host' when g % 10 < 5 then 'vm' when g % 10 < 9 then 'container' else 'storage' end
                as type,
              (array['web','db','cache','queue','api','worker','backup','mon','mail','proxy'])[1 + (g / 10) % 10] as role,
              random() as p, random() as u1, random() as u2, random() as u3, random() as age
       from agents a cross join generate_series(1, $2::int) g
       where a.org_id = any($1::uuid[])
     ), s as (
       select r.*,
              case type
                when 'host' then case when p < 0.9 then 'online' when p < 0.97 then 'degraded' else 'offline' end
                when 'vm' then case when p < 0.8 then 'running' when p < 0.95 then 'stopped' else 'paused' end
                when 'container' then case when p < 0.85 then 'running' when p < 0.98 then 'stopped' else 'unknown' end
                else case when p < 0.95 then 'online' else 'degraded' end
              end as status
       from r
     )
     insert into resources (org_id, id, agent_id, type, name, status, cpu, memory, disk, notes, tags,
                            created_at, updated_at, reported_at)
     select org_id, gen_random_uuid(), agent_id, type,
            case type when 'host' then 'pve' when 'vm' then 'vm' when 'container' then 'ct' else 'pool' end
              || '-' || role || '-' || lpad(g::text, 4, '0'),
            status,
            case when status in ('stopped', 'offline', 'unknown') then null else round((u1 * u1)::numeric, 3) end,
            case when status in ('stopped', 'offline', 'unknown') then null else round((0.2 + 0.7 * u2)::numeric, 3) end,
            case when type = 'container' then null else round((0.1 + 0.85 * u3)::numeric, 3) end,
            case when g % 37 = 0 then 'Maintenance window Sundays 02:00–04:00 UTC; page the on-call before restarting.' end,
            array[(array['prod','staging','dev'])[1 + g % 3], (array['eu-west','us-east','ap-south'])[1 + (g / 3) % 3]],
            now() - interval '90 days' + age * interval '60 days', now() - age * interval '5 minutes',
            now() - age * interval '5 minutes'
     from s`,
    [orgIds, perOrg],
  );
}

/** A fresh API token of the user, bound as viewer to every benchmark org (earlier runs' removed). */
async function issueToken(owner: pg.Client, userId: string, orgIds: string[]): Promise<string> {
  const { token, hash } = newApiToken();
  const id = randomUUID();
  await owner.query('begin');
  try {
    await owner.query('delete from api_tokens where user_id = $1', [userId]);
    await owner.query('insert into api_tokens (id, user_id, name, token_hash) values ($1, $2, $3, $4)', [
      id,
      userId,
      TOKEN_NAME,
      hash,
    ]);
    await owner.query(
      `insert into api_token_orgs (org_id, token_id, user_id, role)
       select o, $2, $3, 'viewer' from unnest($1::uuid[]) o`,
      [orgIds, id, userId],
    );
    await owner.query('commit');
  } catch (error) {
    await owner.query('rollback');
    throw error;
  }
  return token;
}

/**
 * Makes sure `opts.database` holds the benchmark's data (reusing it when the counts match,
 * otherwise dropping and seeding it with a progress bar), then issues this run's API token.
 */
export async function prepareResourcesData(opts: SeedOptions): Promise<SeededData> {
  const ownerUrl = urlFor(opts.database);
  const appUrl = urlFor(opts.database, APP_ROLE);
  const started = performance.now();
  const exists = await withClient(ADMIN_URL, async (admin) => {
    await ensureAppLoginRole(admin);
    const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [opts.database]);
    return (rowCount ?? 0) > 0;
  });
  const reuse = exists && !opts.fresh && (await holdsSeed(ownerUrl, opts));
  if (!reuse) {
    await withClient(ADMIN_URL, async (admin) => {
      await admin.query(`DROP DATABASE IF EXISTS ${opts.database} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${opts.database}`);
    });
  }
  // Opening it through the product's own Db runs any pending migration (as the superuser).
  const db = await createDb({ databaseUrl: appUrl, migrationUrl: ownerUrl, dataDir: '', poolMax: 1 });
  await db.close();

  return withClient(ownerUrl, async (owner) => {
    if (!reuse) {
      const total = opts.orgs * opts.perOrg;
      say(`  seeding ${opts.database}: ${opts.orgs} orgs × ${opts.perOrg} resources`);
      await seedTenants(owner, opts);
      const { rows } = await owner.query<{ id: string }>(
        'select id from organizations where slug like $1 order by slug',
        [`${ORG_SLUG_PREFIX}%`],
      );
      const bar = new cliProgress.SingleBar(
        {
          format: '  seeding resources [{bar}] {value}/{total} rows ({eta}s left)',
          noTTYOutput: true,
          notTTYSchedule: 3000,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0);
      for (let i = 0; i < rows.length; i += ORGS_PER_CHUNK) {
        const chunk = rows.slice(i, i + ORGS_PER_CHUNK).map((r) => r.id);
        await seedResources(owner, chunk, opts.perOrg);
        bar.increment(chunk.length * opts.perOrg);
      }
      bar.stop();
      // The state a long-running install is in: statistics fresh, visibility map set.
      say('  vacuum analyze…');
      await owner.query('vacuum analyze');
    }
    const { rows: users } = await owner.query<{ id: string }>('select id from users where email = $1', [USER_EMAIL]);
    const userId = users[0]!.id;
    const { rows: orgs } = await owner.query<{ id: string; slug: string }>(
      'select id, slug from organizations where slug like $1 or slug = $2 order by slug',
      [`${ORG_SLUG_PREFIX}%`, OUTSIDE_SLUG],
    );
    const orgIds = orgs.filter((o) => o.slug !== OUTSIDE_SLUG).map((o) => o.id);
    const outsideOrgId = orgs.find((o) => o.slug === OUTSIDE_SLUG)!.id;
    const token = await issueToken(owner, userId, orgIds);
    return {
      ownerUrl,
      appUrl,
      userId,
      orgIds,
      outsideOrgId,
      token,
      seeded: !reuse,
      seedSeconds: (performance.now() - started) / 1000,
    };
  });
}

/** Drops the benchmark database. */
export async function dropResourcesDatabase(database: string): Promise<void> {
  await withClient(ADMIN_URL, (admin) => admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
}
