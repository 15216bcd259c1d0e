/** `pnpm tenantry <command>`: the operator's CLI (SPEC §11). */
import { type Command, CommandError, EXIT, UsageError } from './lib/cli-kit.js';

// Commands load lazily: `license` must not pay for opening the database layer.
const COMMANDS: Record<string, () => Promise<Command>> = {
  'license keygen': async () => (await import('./commands/license.js')).keygen,
  'license issue': async () => (await import('./commands/license.js')).issue,
  'license verify': async () => (await import('./commands/license.js')).verify,
  'db migrate': async () => (await import('./commands/db.js')).migrate,
  'admin create': async () => (await import('./commands/admin.js')).create,
  'seed demo': async () => (await import('./commands/seed.js')).demo,
  'agent simulate': async () => (await import('./commands/agent.js')).simulate,
  invite: async () => (await import('./commands/invite.js')).invite,
};

const SUMMARIES: Record<string, string> = {
  'license keygen': 'create an Ed25519 key pair for issuing your own licenses',
  'license issue': 'sign a license key with your private key',
  'license verify': 'check a license key and show what it grants',
  'db migrate': 'run pending database migrations',
  'admin create': 'create a superadmin, or promote an existing user',
  'seed demo': 'add demonstration users and organizations',
  'agent simulate': 'run a simulated agent that reports resources to an organization',
  invite: 'invite the addresses in a file to an organization, 100 per request',
};

function usage(): string {
  const width = Math.max(...Object.keys(SUMMARIES).map((name) => name.length));
  return [
    'Usage: pnpm tenantry <command> [options]',
    '',
    'Commands:',
    ...Object.entries(SUMMARIES).map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`),
    '',
    'Run `pnpm tenantry <command> --help` for the options of one command.',
    'Configuration comes from the same environment variables as the server (see README).',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [group, name] = argv;
  if (group === undefined || group === '--help' || group === '-h' || group === 'help') {
    process.stdout.write(`${usage()}\n`);
    return group === undefined ? EXIT.usage : EXIT.ok;
  }
  // A command is one word (`invite`) or a group and a name (`license issue`).
  const single = Object.hasOwn(COMMANDS, group);
  const key = single ? group : `${group} ${name ?? ''}`.trim();
  const rest = argv.slice(single ? 1 : 2);
  const load = COMMANDS[key];
  if (!load) {
    const inGroup = Object.keys(COMMANDS).filter((command) => command.startsWith(`${group} `));
    const hint = inGroup.length > 0 ? `\`${group}\` has: ${inGroup.join(', ')}.` : usage();
    process.stderr.write(`Unknown command: ${key}. ${hint}\n`);
    return EXIT.usage;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.help}\n`);
    return EXIT.ok;
  }
  try {
    return (await command.run(rest)) ?? EXIT.ok;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\nRun \`pnpm tenantry ${command.name} --help\` for usage.\n`);
      return EXIT.usage;
    }
    if (error instanceof CommandError) {
      process.stderr.write(`${error.message}\n`);
      return EXIT.failed;
    }
    throw error;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`tenantry: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(EXIT.failed);
  },
);
