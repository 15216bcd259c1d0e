/**
 * The examples' configuration, from the environment:
 *   TENANTRY_URL    the server (default http://localhost:3000)
 *   TENANTRY_TOKEN  an API token (`tnt_…`, from Settings or POST /api/tokens)
 *   TENANTRY_ORG    the organization to act in (id or slug; default: the token's first)
 */
export interface ExampleEnv {
  url: string;
  token: string;
  org: string | undefined;
}

export function exampleEnv(source: Record<string, string | undefined> = process.env): ExampleEnv {
  const url = source.TENANTRY_URL || 'http://localhost:3000';
  try {
    new URL(url);
  } catch {
    fail(`TENANTRY_URL must be a URL such as https://tenantry.example.com (got ${JSON.stringify(url)})`);
  }
  const token = source.TENANTRY_TOKEN;
  if (!token) fail('Set TENANTRY_TOKEN to an API token (create one in Settings, or with POST /api/tokens).');
  return { url, token, org: source.TENANTRY_ORG || undefined };
}

/** Prints the message and exits with status 1. */
export function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
