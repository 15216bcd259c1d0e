import { type ParseArgsConfig, parseArgs } from 'node:util';

/** Exit codes of `pnpm tenantry`. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A wrong invocation: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The command ran and refused or failed, with a message for the user: exit code 1. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}

/** One `pnpm tenantry <group> <name>` command. */
export interface Command {
  /** e.g. `license issue` */
  name: string;
  /** Full `--help` text (usage, options, examples). */
  help: string;
  run(argv: string[]): Promise<number | undefined>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** `util.parseArgs` with strict checking, `--help` on every command, and usage errors as UsageError. */
export function parse<O extends Options>(argv: string[], options: O, { positionals = 0 } = {}) {
  try {
    const parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: positionals > 0,
      strict: true,
    });
    if (parsed.positionals.length > positionals) {
      throw new UsageError(`Unexpected argument: ${parsed.positionals[positionals]}`);
    }
    return parsed;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError((error as Error).message);
  }
}

/** Writes a line to stdout. */
export const out = (line = '') => process.stdout.write(`${line}\n`);
/** Writes a line to stderr: progress and explanations, so stdout stays machine-readable. */
export const info = (line = '') => process.stderr.write(`${line}\n`);

/** Reads all of stdin (for piped keys and passwords). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Prompts on the terminal without echoing what is typed. */
export function promptHidden(question: string): Promise<string> {
  const { stdin, stderr } = process;
  return new Promise((resolve, reject) => {
    let value = '';
    stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (error?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') return done();
        if (char === '\u0003') return done(new CommandError('Cancelled.'));
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    stdin.on('data', onData);
  });
}
