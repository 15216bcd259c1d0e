/**
 * Registers an agent in an organization, reports two resources with the agent's own token,
 * and reads them back.
 *
 *   TENANTRY_TOKEN=tnt_… TENANTRY_ORG=acme pnpm exec tsx packages/sdk/examples/register-agent.ts pve-agent
 *
 * Needs: the `agents` module enabled for the organization, a token with the admin or owner
 * role there, and a free agent slot (free plan: 1 agent). The agent token is shown only once:
 * store it where the agent runs.
 */
import { createClient, isTenantryError, reportResources } from '../src/index.js';
import { exampleEnv, fail } from './env.js';

const { url, token, org } = exampleEnv();
const name = process.argv[2] ?? 'example-agent';
const client = createClient({ url, token, org: org ?? null });

try {
  const agent = await client.agents.register.mutate({ name });
  console.log(`registered agent ${agent.id}`);
  await reportResources(
    { url, token: agent.token },
    {
      resources: [
        { type: 'host', name: 'pve-1', status: 'online', cpu: 0.42, memory: 0.61, disk: 0.3 },
        { type: 'vm', name: 'web-01', status: 'online', cpu: 0.12, memory: 0.33, disk: 0.5 },
      ],
    },
  );
  console.log('reported 2 resources');
  const listed = await client.resources.list.query({});
  for (const resource of listed.resources) console.log(`${resource.type}\t${resource.name}\t${resource.status}`);
} catch (error) {
  if (isTenantryError(error, 'FEATURE_DISABLED'))
    fail(`The agents module is off for this organization: ${error.message}`);
  if (isTenantryError(error, 'LIMIT_REACHED')) fail(`No agent slot left: ${error.message}`);
  if (isTenantryError(error)) fail(`${error.code} (${error.status}): ${error.message}`);
  throw error;
}
