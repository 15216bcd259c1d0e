/**
 * Lists the organizations the token reaches, then reads each one's detail by switching the
 * organization per client (`withOrg`).
 *
 *   TENANTRY_URL=https://tenantry.example.com TENANTRY_TOKEN=tnt_… pnpm exec tsx packages/sdk/examples/list-orgs.ts
 *
 * Needs: nothing beyond an API token. With multi-tenant mode off the server answers 501 for the
 * list; the example then shows the token's active organization only.
 */
import { createClient, isTenantryError } from '../src/index.js';
import { exampleEnv, fail } from './env.js';

const { url, token } = exampleEnv();
const client = createClient({ url, token });

try {
  const { orgs } = await client.orgs.list.query();
  for (const org of orgs) {
    // Every call of this client carries X-Org-Id: <slug>.
    const detail = await client.withOrg(org.slug).org.current.query();
    console.log(`${org.slug}\t${org.name}\t${org.role}\t${detail.tier}\t${detail.modules.join(',')}`);
  }
} catch (error) {
  if (isTenantryError(error, 'MULTI_TENANT_DISABLED')) {
    const current = await client.org.current.query();
    console.log(`${current.slug}\t${current.name}\t${current.role}\t(multi-tenant mode is off)`);
  } else if (isTenantryError(error)) {
    fail(`${error.code} (${error.status}): ${error.message}`);
  } else {
    throw error;
  }
}
