import { readFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import {
  chunked,
  INVITATION_CHUNK_SIZE,
  type InvitationListEntry,
  ORG_ROLES,
  type OrgRole,
  parseInvitationList,
} from '../../packages/core/src/index.js';
import { type Command, CommandError, info, out, parse, readStdin, UsageError } from '../lib/cli-kit.js';
import { callServer, type RestAnswer, refusalText, serverBase } from '../lib/rest.js';

// `pnpm tenantry invite`: invites everyone in a file through the API's bulk invitation
// endpoint (POST /api/orgs/{org}/invitations/bulk) with an API token, 100 addresses per
// request, as the web app's Bulk invite does. The file is read as the web app reads a pasted
// list (core's parseInvitationList).

/** How often a request that was rate limited (429) is tried again, after its Retry-After. */
const RATE_LIMIT_RETRIES = 5;

interface Totals {
  created: number;
  resent: number;
  skipped: string[];
}

/** Sends one chunk; a 429 waits for its Retry-After and tries again. */
async function sendChunk(base: string, token: string, org: string, chunk: InvitationListEntry[]): Promise<RestAnswer> {
  for (let attempt = 0; ; attempt++) {
    const res = await callServer(`${base}/api/orgs/${encodeURIComponent(org)}/invitations/bulk`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ invitations: chunk.map(({ email, role }) => ({ email, role })) }),
    });
    if (res.status !== 429 || attempt >= RATE_LIMIT_RETRIES) return res;
    const seconds = Number(res.headers.get('retry-after')) || 1;
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  }
}

async function readList(file: string): Promise<string> {
  if (file === '-') return readStdin();
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new CommandError(`Cannot read ${file}: ${(error as Error).message}`);
  }
}

const plural = (n: number, one: string, many: string) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

export const invite: Command = {
  name: 'invite',
  help: `Usage: pnpm tenantry invite --org <slug> --file <emails.txt> [--role viewer] [options]

Invites everyone in a file to an organization, by email, as Settings → Organization →
Access → Bulk invite does: addresses one per line, or separated by commas or semicolons,
optionally \`email,role\` (a CSV with an email,role header works; # starts a comment).
Members are skipped, addresses with a pending invitation get it again (a new mail, the old
link dies), the others are invited. The addresses go 100 per request, with a progress bar,
then a summary is printed.

Each request is all or nothing: if one is refused (the member limit, a role you cannot
grant), the requests before it stand and nothing after it is sent.

Options:
      --org <slug>       the organization, by slug or id (required)
      --file <path>      the list of addresses; - reads stdin (required)
      --role <role>      the role of addresses without one: ${ORG_ROLES.join(', ')} (default viewer)
      --token tnt_…      an API token with the admin or owner role in the organization,
                         from Settings → API tokens (TENANTRY_TOKEN)
      --url <url>        the server (default PUBLIC_URL, or http://localhost:3000)
      --skip-invalid     invite the valid addresses even if some entries are not addresses
      --dry-run          read the file and print who would be invited; send nothing
  -h, --help             show this help

Example:
  pnpm tenantry invite --org acme --file team.txt --role editor --token tnt_…`,
  async run(argv) {
    const { values } = parse(argv, {
      org: { type: 'string' },
      file: { type: 'string' },
      role: { type: 'string', default: 'viewer' },
      token: { type: 'string' },
      url: { type: 'string' },
      'skip-invalid': { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
    });
    const org = values.org?.trim();
    if (!org) throw new UsageError('--org is required: the slug of the organization to invite to.');
    if (!values.file) throw new UsageError('--file is required: a file with the addresses to invite (- for stdin).');
    const role = values.role.trim().toLowerCase();
    if (!(ORG_ROLES as readonly string[]).includes(role)) {
      throw new UsageError(`--role must be one of ${ORG_ROLES.join(', ')}.`);
    }

    const list = parseInvitationList(await readList(values.file), { defaultRole: role as OrgRole });
    for (const entry of list.invalid) info(`line ${entry.line}: ${entry.text} — ${entry.reason}`);
    if (list.invalid.length > 0 && !values['skip-invalid']) {
      throw new CommandError(
        `${plural(list.invalid.length, 'entry is', 'entries are')} not an address to invite (listed above): fix the file, or pass --skip-invalid to invite the others.`,
      );
    }
    const { entries } = list;
    if (entries.length === 0) throw new CommandError(`${values.file} holds no address to invite.`);
    const repeats = list.duplicates > 0 ? ` (${plural(list.duplicates, 'repeat', 'repeats')} left out)` : '';
    info(`read ${plural(entries.length, 'address', 'addresses')} from ${values.file}${repeats}`);
    if (values['dry-run']) {
      for (const entry of entries) out(`${entry.email},${entry.role}`);
      return undefined;
    }

    const token = values.token ?? process.env.TENANTRY_TOKEN;
    if (!token) {
      throw new CommandError(
        'Give an API token: --token tnt_… (or TENANTRY_TOKEN), made in Settings → API tokens by an admin or owner of the organization.',
      );
    }
    const base = serverBase(values.url);
    const bar = new cliProgress.SingleBar(
      {
        format: 'inviting [{bar}] {value}/{total}',
        stream: process.stderr,
        hideCursor: true,
        noTTYOutput: true,
        notTTYSchedule: 2000,
      },
      cliProgress.Presets.shades_classic,
    );
    const totals: Totals = { created: 0, resent: 0, skipped: [] };
    let sent = 0;
    let refusal: string | null = null;
    bar.start(entries.length, 0);
    for (const chunk of chunked(entries, INVITATION_CHUNK_SIZE)) {
      const res = await sendChunk(base, token, org, chunk);
      if (res.status !== 200) {
        refusal = refusalText(res);
        break;
      }
      const results = res.body.results as { outcome: string; email: string }[];
      totals.created += Number(res.body.created);
      totals.resent += Number(res.body.resent);
      totals.skipped.push(...results.filter((r) => r.outcome === 'skipped').map((r) => r.email));
      sent += chunk.length;
      bar.update(sent);
    }
    bar.stop();

    out(
      `invited ${sent.toLocaleString('en-US')} of ${entries.length.toLocaleString('en-US')}: ${totals.created} created, ${totals.resent} resent, ${totals.skipped.length} skipped (already members)`,
    );
    if (totals.skipped.length > 0) out(`skipped: ${totals.skipped.join(', ')}`);
    if (refusal) {
      const next = entries[sent];
      throw new CommandError(
        `Refused at line ${next?.line ?? '?'} of ${values.file} (${refusal}). The addresses before it were invited; nothing after it was sent.`,
      );
    }
    return undefined;
  },
};
