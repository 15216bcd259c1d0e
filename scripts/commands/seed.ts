import { randomUUID } from 'node:crypto';
import { newAgentToken } from '../../apps/api/src/agent-report.js';
import {
  addMembership,
  createAgent,
  createDb,
  createOrg,
  createUser,
  findMembership,
  findOrgBySlug,
  findUserByEmail,
  listAgents,
  type ReportedResourceInput,
  type Role,
  setUserDefaultOrg,
  type Tier,
  upsertReportedResources,
} from '../../packages/db/src/index.js';
import { loadCliEnv } from '../lib/cli-env.js';
import { type Command, CommandError, out, parse } from '../lib/cli-kit.js';
import { hashPassword } from '../lib/passwords.js';

const DEMO_PASSWORD = 'tenantry-demo';

/** Each demo org's agent and what it reports (the simulator moves them: `pnpm tenantry agent simulate`). */
const FLEETS: Record<string, ReportedResourceInput[]> = {
  acme: [
    { type: 'host', name: 'pve-fra-1', status: 'online', cpu: 0.42, memory: 0.61, disk: 0.3 },
    { type: 'host', name: 'pve-fra-2', status: 'online', cpu: 0.35, memory: 0.55, disk: 0.41 },
    { type: 'vm', name: 'web-01', status: 'running', cpu: 0.12, memory: 0.33, disk: 0.5 },
    { type: 'vm', name: 'web-02', status: 'running', cpu: 0.18, memory: 0.36, disk: 0.49 },
    { type: 'vm', name: 'db-01', status: 'running', cpu: 0.64, memory: 0.82, disk: 0.71 },
    { type: 'container', name: 'redis-cache', status: 'running', cpu: 0.05, memory: 0.21, disk: 0.02 },
    { type: 'storage', name: 'ceph-pool', status: 'online', disk: 0.67 },
  ],
  globex: [
    { type: 'host', name: 'rack-a-01', status: 'online', cpu: 0.22, memory: 0.4, disk: 0.2 },
    { type: 'host', name: 'rack-a-02', status: 'degraded', cpu: 0.91, memory: 0.88, disk: 0.35 },
    { type: 'vm', name: 'colo-gw', status: 'running', cpu: 0.3, memory: 0.25, disk: 0.1 },
    { type: 'storage', name: 'nas-01', status: 'online', disk: 0.93 },
  ],
  'initech-lab': [
    { type: 'host', name: 'homelab', status: 'online', cpu: 0.15, memory: 0.45, disk: 0.6 },
    { type: 'container', name: 'pihole', status: 'running', cpu: 0.01, memory: 0.05, disk: 0.01 },
    { type: 'vm', name: 'test-vm', status: 'stopped' },
  ],
};

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
(see README). Each organization gets an agent, demo-agent, with a few hosts, VMs, containers
and storage; \`pnpm tenantry agent simulate --org acme\` makes a dashboard move.

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
    const steps = USERS.length + ORGS.reduce((n, org) => n + 2 + org.members.length, 0);
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
        const fleet = FLEETS[org.slug] ?? [];
        const seeded = await db.tenant(scope, async (em) => {
          if ((await listAgents(em, scope.orgId)).some((a) => a.name === 'demo-agent')) return false;
          const agentId = randomUUID();
          // The token is not kept: the simulator registers an agent of its own.
          const { hash } = newAgentToken(scope.orgId, agentId);
          await createAgent(em, {
            orgId: scope.orgId,
            id: agentId,
            name: 'demo-agent',
            tokenHash: hash,
            createdById: ownerId,
          });
          await upsertReportedResources(em, scope.orgId, agentId, fleet);
          return true;
        });
        progress(`  agent demo-agent in ${org.slug}`, seeded ? `created with ${fleet.length} resources` : 'exists');
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
