import { resolve } from 'node:path';
import { emailInput, nameInput, passwordInput } from '../../apps/api/src/schemas.js';
import { redactUrl } from '../../apps/worker/src/env.js';
import {
  addMembership,
  countOwners,
  createDb,
  createUser,
  findMembership,
  findUserByEmail,
  setUserDefaultOrg,
  User,
} from '../../packages/db/src/index.js';
import { loadCliEnv } from '../lib/cli-env.js';
import { type Command, CommandError, info, out, parse, promptHidden, readStdin, UsageError } from '../lib/cli-kit.js';
import { hashPassword } from '../lib/passwords.js';

export const create: Command = {
  name: 'admin create',
  help: `Usage: pnpm tenantry admin create --email EMAIL --name NAME [--password PASSWORD]

Creates a platform superadmin who can sign in with EMAIL and PASSWORD and joins the default
organization (as owner if it has none, else as admin). If a user with EMAIL exists, it is
promoted to superadmin instead; its password and memberships are left as they are.

The password (8 to 200 characters) comes from --password, else from the first line of
stdin when it is piped (echo "$PW" | pnpm tenantry admin create ...), else from a prompt.
Prefer stdin or the prompt: a --password shows up in the shell history and process list.

Uses the database of DATABASE_URL / DATABASE_MIGRATION_URL, or the embedded one under
DATA_DIR (stop \`pnpm start\` first: the embedded database has one user at a time).

Options:
  --email EMAIL        the account's email                     (required)
  --name NAME          the person's name                       (required)
  --password PASSWORD  see above
  -h, --help           show this help`,
  async run(argv) {
    const { values } = parse(argv, {
      email: { type: 'string' },
      name: { type: 'string' },
      password: { type: 'string' },
    });
    if (!values.email) throw new UsageError('--email EMAIL is required.');
    if (!values.name) throw new UsageError('--name NAME is required.');
    const email = check(emailInput, values.email, '--email', 'is not a valid email address');
    const name = check(nameInput, values.name, '--name', 'must be 1 to 100 characters');
    const env = loadCliEnv();

    const db = await openDb(env);
    try {
      const existing = await db.platform({}, (em) => findUserByEmail(em, email));
      if (existing) {
        if (existing.platformRole === 'superadmin') {
          out(`${email} is already a superadmin; nothing changed.`);
          return 0;
        }
        await db.platform({}, (em) => em.nativeUpdate(User, { id: existing.id }, { platformRole: 'superadmin' }));
        out(`Promoted ${email} to superadmin (password and memberships unchanged).`);
        if (values.password !== undefined) info('The --password given was not used: the user already has one.');
        return 0;
      }

      const password = check(
        passwordInput,
        await readPassword(values.password),
        'The password',
        'must be 8 to 200 characters',
      );
      const passwordHash = await hashPassword(password);
      const orgId = db.defaultOrgId;
      const role = await db.tenant({ orgId }, async (em) => {
        const user = await createUser(em, { email, name, passwordHash, defaultOrgId: orgId });
        if (user.platformRole !== 'superadmin') {
          await em.nativeUpdate(User, { id: user.id }, { platformRole: 'superadmin' });
        }
        if (await findMembership(em, orgId, user.id)) return null;
        const memberRole = (await countOwners(em, orgId)) === 0 ? 'owner' : 'admin';
        await addMembership(em, { orgId, userId: user.id, role: memberRole, addedById: null });
        await setUserDefaultOrg(em, user.id, orgId);
        return memberRole;
      });
      out(`Created superadmin ${email}${role ? `, ${role} of the default organization` : ''}.`);
      return 0;
    } finally {
      await db.close();
    }
  },
};

async function openDb(env: ReturnType<typeof loadCliEnv>) {
  try {
    return await createDb({
      databaseUrl: env.DATABASE_URL,
      migrationUrl: env.DATABASE_MIGRATION_URL,
      dataDir: env.DATA_DIR,
    });
  } catch (error) {
    const where = env.DATABASE_URL
      ? `PostgreSQL at ${redactUrl(env.DATABASE_URL)}`
      : `the embedded database in ${resolve(env.DATA_DIR, 'pglite')} (is \`pnpm start\` running? stop it first)`;
    throw new CommandError(`Cannot open ${where}: ${(error as Error).message}`);
  }
}

async function readPassword(flag: string | undefined): Promise<string> {
  if (flag !== undefined) return flag;
  if (!process.stdin.isTTY) return (await readStdin()).split(/\r?\n/)[0] ?? '';
  const first = await promptHidden('Password for the new superadmin: ');
  const second = await promptHidden('Again: ');
  if (first !== second) throw new CommandError('The two passwords differ; nothing was created.');
  return first;
}

/** A zod schema from the API, typed structurally: the repository root cannot resolve zod itself. */
interface Schema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false };
}

function check<T>(schema: Schema<T>, value: string, what: string, problem: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new UsageError(`${what} ${problem}.`);
  return parsed.data;
}
