/**
 * Follows the organization's resources live (Server-Sent Events; works in Node and browsers)
 * and prints each update, until Ctrl-C or, with a count, after that many updates.
 *
 *   TENANTRY_TOKEN=tnt_… TENANTRY_ORG=acme pnpm exec tsx packages/sdk/examples/follow-live.ts [count]
 *
 * Needs: the `agents` module (resources come from agents) and a token with any role in the
 * organization. A suspended organization ends the stream with ORG_SUSPENDED.
 */
import { createClient, TenantryError } from '../src/index.js';
import { exampleEnv, fail } from './env.js';

const { url, token, org } = exampleEnv();
const count = process.argv[2] ? Number(process.argv[2]) : Number.POSITIVE_INFINITY;
if (!(count > 0)) fail('Usage: follow-live.ts [count of updates to wait for]');

const client = createClient({ url, token, org: org ?? null });
let seen = 0;
const subscription = client.resources.live.subscribe(undefined, {
  onStarted: () => console.log('following live updates'),
  onData: (event) => {
    seen += 1;
    console.log(JSON.stringify(event));
    if (seen >= count) {
      subscription.unsubscribe();
      process.exit(0);
    }
  },
  onError: (cause) => {
    const error = TenantryError.fromUnknown(cause);
    fail(`${error.code} (${error.status}): ${error.message}`);
  },
});
process.once('SIGINT', () => {
  subscription.unsubscribe();
  process.exit(0);
});
