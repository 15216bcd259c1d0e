import {
  addMembership,
  createDb,
  createOrg,
  createUser,
  findMembership,
  findOrgBySlug,
  findUserByEmail,
  type Role,
  setUserDefaultOrg,
  type Tier,
} from '../../packages/db/src/index.js';
import { loadCliEnv } from '../lib/cli-env.js';
import { type Command, CommandError, out, parse } from '../lib/cli-kit.js';
import { hashPassword } from '../lib/passwords.js';

const DEMO_PASSWORD = 'tenantry-demo';

const USERS = [
  { email: 'alice@example.com', name: 'Alice Anders' },
  { email: 'bob@example.com', name: 'Bob Brenner' },
  { email: 'carol@example.com', name: 'Carol Chen' },
  { email: 'dave@example.com', name: 'Dave Dorsey' },
] as const;

type DemoEmail = (typeof USERS)[number]['email'];

const ORGS: readonly {
  slug: string;
  name: string;
  description: string;
  tier: Tier;
  owner: DemoEmail;
  members: readonly [DemoEmail, Role][];
}[] = [
  {
    slug: 'acme',
    name: 'Acme Corp',
    description: 'Managed customer: two datacenters and a branch office',
    tier: 'pro',
    owner: 'alice@example.com',
    members: [
      ['bob@example.com', 'admin'],
      ['dave@example.com', 'viewer'],
    ],
  },
  {
    slug: 'globex',
    name: 'Globex Datacenters',
    description: 'Managed customer: colocation racks',
    tier: 'enterprise',
    owner: 'alice@example.com',
    members: [['carol@example.com', 'editor']],
  },
  {
    slug: 'initech-lab',
    name: 'Initech Lab',
    description: 'A homelab environment',
    tier: 'free',
    owner: 'carol@example.com',
    members: [['bob@example.com', 'viewer']],
  },
];

export const demo: Command = {
  name: 'seed demo',
  help: `Usage: pnpm tenantry seed demo

Fills the database with demonstration data: ${USERS.length} users and ${ORGS.length} organizations with
members in every role, all with the password "${DEMO_PASSWORD}". Run it again at will: what
exists already is left alone. On a fresh install the first demo user (alice@example.com)
becomes the platform superadmin, like the first account that signs up.

The organizations are visible with MULTI_TENANT_ENABLED=true and a license with multi_tenant
(see README). Agents and resources are not seeded yet.

Uses DATABASE_URL / DATABASE_MIGRATION_URL, or the embedded database under DATA_DIR (stop
\`pnpm start\` first: the embedded database has one user at a time).

Options:
  -h, --help  show this help`,
  async run(argv) {
    parse(argv, {});
    const env = loadCliEnv();
    let db: Awaited<ReturnType<typeof createDb>>;
    try {
      db = await createDb({
        databaseUrl: env.DATABASE_URL,
        migrationUrl: env.DATABASE_MIGRATION_URL,
        dataDir: env.DATA_DIR,
      });
    } catch (error) {
      throw new CommandError(`Cannot open the database: ${(error as Error).message}`);
    }
    const steps = USERS.length + ORGS.reduce((n, org) => n + 1 + org.members.length, 0);
    let step = 0;
    const progress = (what: string, outcome: string) =>
      out(`[${String(++step).padStart(2)}/${steps}] ${what}: ${outcome}`);
    try {
      const passwordHash = await hashPassword(DEMO_PASSWORD);
      const ids = new Map<string, string>();
      for (const user of USERS) {
        const existing = await db.platform({}, (em) => findUserByEmail(em, user.email));
        if (existing) {
          ids.set(user.email, existing.id);
          progress(`user ${user.email}`, 'exists');
          continue;
        }
        // Like sign-up: the first account of an install is superadmin and owner of the default org.
        const created = await db.tenant({ orgId: db.defaultOrgId }, async (em) => {
          const row = await createUser(em, { ...user, passwordHash });
          if (row.platformRole === 'superadmin') {
            await addMembership(em, { orgId: db.defaultOrgId, userId: row.id, role: 'owner', addedById: row.id });
            await setUserDefaultOrg(em, row.id, db.defaultOrgId);
          }
          return row;
        });
        ids.set(user.email, created.id);
        progress(`user ${user.email}`, created.platformRole === 'superadmin' ? 'created (superadmin)' : 'created');
      }
      const idOf = (email: DemoEmail) => ids.get(email) as string;

      for (const org of ORGS) {
        const ownerId = idOf(org.owner);
        let orgId = (await db.platform({}, (em) => findOrgBySlug(em, org.slug)))?.id;
        if (orgId) {
          progress(`organization ${org.slug}`, 'exists');
        } else {
          const created = await db.platform({}, (em) =>
            createOrg(em, {
              slug: org.slug,
              name: org.name,
              description: org.description,
              tier: org.tier,
              createdById: ownerId,
              ownerId,
            }),
          );
          orgId = created.id;
          progress(`organization ${org.slug}`, `created, owner ${org.owner}`);
        }
        const scope = { orgId, userId: ownerId };
        for (const [email, role] of org.members) {
          const userId = idOf(email);
          const added = await db.tenant(scope, async (em) => {
            if (await findMembership(em, scope.orgId, userId)) return false;
            await addMembership(em, { orgId: scope.orgId, userId, role, addedById: ownerId });
            return true;
          });
          progress(`  ${email} in ${org.slug}`, added ? `added as ${role}` : 'already a member');
        }
      }
      for (const user of USERS) {
        const landing = ORGS.find(
          (org) => org.owner === user.email || org.members.some(([email]) => email === user.email),
        );
        const target = landing && (await db.platform({}, (em) => findOrgBySlug(em, landing.slug)));
        const current = await db.platform({}, (em) => findUserByEmail(em, user.email));
        if (target && current && current.defaultOrgId === null) {
          await db.platform({}, (em) => setUserDefaultOrg(em, current.id, target.id));
        }
      }
    } finally {
      await db.close();
    }
    out('');
    out(`Demo data is in place. Sign in as any of ${USERS.map((u) => u.email).join(', ')}`);
    out(`with the password "${DEMO_PASSWORD}". The organizations show with MULTI_TENANT_ENABLED=true and a license.`);
    return 0;
  },
};
