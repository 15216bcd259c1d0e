import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  BUILT_IN_LICENSE_PUBLIC_KEY,
  generateLicenseKeyPair,
  isDomainError,
  issueLicense,
  type License,
  MODULES,
  PLATFORM_FEATURES,
  parseDuration,
  TIERS,
  type Tier,
  verifyLicense,
} from '../../packages/core/src/index.js';
import { loadCliEnv } from '../lib/cli-env.js';
import { type Command, CommandError, info, out, parse, readStdin, UsageError } from '../lib/cli-kit.js';

const KNOWN_FEATURES: readonly string[] = [...PLATFORM_FEATURES, ...MODULES];
/** Licensable features: everything that is not a community module. */
const DEFAULT_FEATURES = ['multi_tenant', 'sharing'];

export const keygen: Command = {
  name: 'license keygen',
  help: `Usage: pnpm tenantry license keygen [--out DIR] [--force]

Creates an Ed25519 key pair for self-issued licenses:
  DIR/license-private.pem  signs licenses (mode 0600; keep it secret, keep it off the server)
  DIR/license-public.pem   verifies them: give it to Tenantry as LICENSE_PUBLIC_KEY

Options:
  --out DIR   where to write the two files (default: the current directory)
  --force     overwrite existing key files
  -h, --help  show this help`,
  async run(argv) {
    const { values } = parse(argv, { out: { type: 'string' }, force: { type: 'boolean' } });
    const dir = resolve(values.out ?? '.');
    const privatePath = join(dir, 'license-private.pem');
    const publicPath = join(dir, 'license-public.pem');
    for (const path of [privatePath, publicPath]) {
      if (existsSync(path) && !values.force) {
        throw new CommandError(
          `${path} already exists. Licenses signed with the old key stop verifying if you replace it; pass --force to overwrite.`,
        );
      }
    }
    mkdirSync(dir, { recursive: true });
    const { publicKeyPem, privateKeyPem } = await generateLicenseKeyPair();
    writeFileSync(privatePath, privateKeyPem, { mode: 0o600 });
    chmodSync(privatePath, 0o600);
    writeFileSync(publicPath, publicKeyPem, { mode: 0o644 });
    out(`Wrote ${privatePath} (private, mode 0600) and ${publicPath}.`);
    out('');
    out(publicKeyPem.trimEnd());
    out('');
    out('Tell Tenantry to trust licenses signed with this key (restart it afterwards):');
    out(`  export LICENSE_PUBLIC_KEY="$(cat ${publicPath})"`);
    out('Then issue a license:');
    out(`  pnpm -s tenantry license issue --private-key ${privatePath} --licensee "Your company"`);
    return 0;
  },
};

export const issue: Command = {
  name: 'license issue',
  help: `Usage: pnpm tenantry license issue --private-key FILE --licensee NAME [options]

Signs a license (a JWT, alg EdDSA) and prints the key on stdout; a summary goes to stderr,
so KEY=$(pnpm -s tenantry license issue ...) captures the key alone.

Options:
  --private-key FILE   PEM (PKCS#8) Ed25519 private key from \`license keygen\`   (required)
  --licensee NAME      who the license is for                                    (required)
  --tier TIER          ${TIERS.join(' | ')} (default: enterprise)
  --features LIST      comma-separated: ${KNOWN_FEATURES.join(', ')}
                       (default: ${DEFAULT_FEATURES.join(',')}; community modules need no license)
  --max-tenants N      most organizations the install may have (default: unlimited)
  --expires WHEN       a duration from now (365d, 52w, 1y, 12h) or a date (2027-12-31, valid
                       through that day, UTC) (default: 365d)
  -h, --help           show this help

Example:
  pnpm -s tenantry license issue --private-key license-private.pem --licensee "Acme MSP" \\
    --features multi_tenant,sharing --max-tenants 50 --expires 2027-12-31`,
  async run(argv) {
    const { values } = parse(argv, {
      'private-key': { type: 'string' },
      licensee: { type: 'string' },
      tier: { type: 'string', default: 'enterprise' },
      features: { type: 'string' },
      'max-tenants': { type: 'string' },
      expires: { type: 'string', default: '365d' },
    });
    if (!values['private-key']) throw new UsageError('--private-key FILE is required.');
    if (!values.licensee?.trim()) throw new UsageError('--licensee NAME is required.');
    if (!(TIERS as readonly string[]).includes(values.tier)) {
      throw new UsageError(`--tier must be one of ${TIERS.join(', ')}, got ${JSON.stringify(values.tier)}.`);
    }
    const features = parseFeatures(values.features);
    const maxTenants = parseMaxTenants(values['max-tenants']);
    const expiresAt = parseExpiry(values.expires, new Date());
    const privateKeyPem = readKeyFile(values['private-key'], 'private');
    let key: string;
    try {
      key = await issueLicense(
        { licensee: values.licensee.trim(), tier: values.tier as Tier, features, maxTenants, expiresAt },
        privateKeyPem,
      );
    } catch (error) {
      throw new CommandError(
        `${values['private-key']} is not an Ed25519 private key in PEM (PKCS#8) form (${(error as Error).message}). Create one with \`pnpm tenantry license keygen\`.`,
      );
    }
    out(key);
    info(
      `Issued to ${values.licensee.trim()}: tier ${values.tier}, features ${features.join(', ') || '(none)'}, ` +
        `max tenants ${maxTenants ?? 'unlimited'}, expires ${expiresAt.toISOString()}.`,
    );
    info('Activate it in Settings → Plans & Activation, with POST /api/admin/license, or as LICENSE_KEY.');
    return 0;
  },
};

export const verify: Command = {
  name: 'license verify',
  help: `Usage: pnpm tenantry license verify [KEY | -] [--public-key FILE]

Verifies a license key offline and prints its licensee, tier, features, tenant limit and
expiry. Exit code 0 when valid, 1 when expired, altered or malformed.

Arguments:
  KEY                 the license key; "-" reads it from stdin; default: $LICENSE_KEY
Options:
  --public-key FILE   PEM (SPKI) public key to verify with
                      (default: $LICENSE_PUBLIC_KEY, else the built-in Tenantry key)
  -h, --help          show this help`,
  async run(argv) {
    const { values, positionals } = parse(argv, { 'public-key': { type: 'string' } }, { positionals: 1 });
    let key = positionals[0];
    if (key === '-') key = (await readStdin()).trim();
    const env = loadCliEnv();
    key ||= env.LICENSE_KEY;
    if (!key) throw new UsageError('Give the license key as an argument, on stdin with "-", or in LICENSE_KEY.');
    let publicKeyPem: string;
    let keySource: string;
    if (values['public-key']) {
      publicKeyPem = readKeyFile(values['public-key'], 'public');
      keySource = values['public-key'];
    } else if (env.LICENSE_PUBLIC_KEY) {
      publicKeyPem = env.LICENSE_PUBLIC_KEY;
      keySource = 'LICENSE_PUBLIC_KEY';
    } else {
      publicKeyPem = BUILT_IN_LICENSE_PUBLIC_KEY;
      keySource = 'the built-in Tenantry key';
    }
    let license: License;
    try {
      license = await verifyLicense(key, publicKeyPem);
    } catch (error) {
      if (isDomainError(error)) {
        const hint =
          error.code === 'LICENSE_INVALID' && keySource.startsWith('the built-in')
            ? '\nIt was checked with the built-in Tenantry key; for a self-issued license pass --public-key FILE or set LICENSE_PUBLIC_KEY.'
            : '';
        throw new CommandError(`${error.code}: ${error.message}${hint}`);
      }
      throw error;
    }
    out(`Valid license (verified with ${keySource})`);
    out(`  licensee:    ${license.licensee}`);
    out(`  tier:        ${license.tier}`);
    out(`  features:    ${license.features.join(', ') || '(none)'}`);
    out(`  max tenants: ${license.maxTenants ?? 'unlimited'}`);
    out(`  expires:     ${license.expiresAt.toISOString()}`);
    return 0;
  },
};

function parseFeatures(value: string | undefined): string[] {
  if (value === undefined) return DEFAULT_FEATURES;
  const features = [
    ...new Set(
      value
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean),
    ),
  ];
  const unknown = features.filter((f) => !KNOWN_FEATURES.includes(f));
  if (unknown.length > 0) {
    throw new UsageError(`Unknown feature(s): ${unknown.join(', ')}. Known: ${KNOWN_FEATURES.join(', ')}.`);
  }
  return features;
}

function parseMaxTenants(value: string | undefined): number | null {
  if (value === undefined || value === 'unlimited') return null;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`--max-tenants must be a whole number of 1 or more, got ${JSON.stringify(value)}.`);
  }
  return n;
}

/** `365d`, `52w`, `1y`, `12h` from now, or a date (valid through that day, UTC) or an ISO timestamp. */
export function parseExpiry(value: string, now: Date): Date {
  const trimmed = value.trim();
  let at: Date | null = null;
  const years = /^(\d+)y$/i.exec(trimmed);
  if (years) {
    at = new Date(now.getTime() + Number(years[1]) * 365 * 86_400_000);
  } else if (/^\d{4}-\d{2}-\d{2}$/.test(trimmed)) {
    const day = new Date(`${trimmed}T23:59:59Z`);
    if (!Number.isNaN(day.getTime()) && day.toISOString().startsWith(trimmed)) at = day;
  } else if (/^\d{4}-\d{2}-\d{2}T/.test(trimmed)) {
    const instant = new Date(trimmed);
    if (!Number.isNaN(instant.getTime())) at = instant;
  } else if (/^\d+(\.\d+)?\s*[a-z]+$/i.test(trimmed)) {
    const ms = parseDuration(trimmed);
    if (ms !== null) at = new Date(now.getTime() + ms);
  }
  if (!at) {
    throw new UsageError(
      `--expires takes a duration (365d, 52w, 1y) or a date (2027-12-31), got ${JSON.stringify(value)}.`,
    );
  }
  if (at <= now) throw new UsageError(`--expires ${value} is in the past.`);
  return at;
}

function readKeyFile(path: string, kind: 'private' | 'public'): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new CommandError(
      `Cannot read the ${kind} key file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
    );
  }
}
