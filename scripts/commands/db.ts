import { resolve } from 'node:path';
import { redactUrl } from '../../apps/worker/src/env.js';
import { createDb } from '../../packages/db/src/index.js';
import { migrationsList } from '../../packages/db/src/migrations/index.js';
import { loadCliEnv } from '../lib/cli-env.js';
import { type Command, CommandError, info, out, parse } from '../lib/cli-kit.js';

export const migrate: Command = {
  name: 'db migrate',
  help: `Usage: pnpm tenantry db migrate

Runs pending database migrations, then checks that the app connection works as the
unprivileged role tenantry_app. Safe to run again: migrations that ran are skipped.

Connections (environment):
  DATABASE_MIGRATION_URL  PostgreSQL URL of the role that owns the tables (runs the migrations)
  DATABASE_URL            PostgreSQL URL of the app connection (default for the one above)
  DATA_DIR                with DATABASE_URL unset: the embedded database in DATA_DIR/pglite
                          (stop \`pnpm start\` first: the embedded database has one user at a time)

Options:
  -h, --help  show this help`,
  async run(argv) {
    parse(argv, {});
    const env = loadCliEnv();
    const where = env.DATABASE_URL
      ? `PostgreSQL at ${redactUrl(env.DATABASE_MIGRATION_URL ?? env.DATABASE_URL)}`
      : `embedded PGlite in ${resolve(env.DATA_DIR, 'pglite')}`;
    info(`Migrating ${where} …`);
    const started = Date.now();
    let db: Awaited<ReturnType<typeof createDb>>;
    try {
      // Opening migrates (idempotent, under an advisory lock) and verifies the app role.
      db = await createDb({
        databaseUrl: env.DATABASE_URL,
        migrationUrl: env.DATABASE_MIGRATION_URL,
        dataDir: env.DATA_DIR,
      });
    } catch (error) {
      throw new CommandError(`Migration failed on ${where}: ${(error as Error).message}`);
    }
    await db.close();
    out(`Database is up to date (${((Date.now() - started) / 1000).toFixed(1)} s): ${where}`);
    for (const migration of migrationsList) out(`  ${migration.name}`);
    return 0;
  },
};
