/**
 * Invites someone to an organization by email; the server's worker mails them the link.
 *
 *   TENANTRY_TOKEN=tnt_… TENANTRY_ORG=acme pnpm exec tsx packages/sdk/examples/invite-member.ts ana@example.com editor
 *
 * Needs: a token with the admin or owner role in the organization. Errors arrive with their
 * stable code, e.g. LIMIT_REACHED when the plan's member limit is used up.
 */
import { createClient, isTenantryError } from '../src/index.js';
import { exampleEnv, fail } from './env.js';

const ROLES = ['owner', 'admin', 'editor', 'viewer'] as const;
type Role = (typeof ROLES)[number];

const { url, token, org } = exampleEnv();
const [email, role = 'viewer'] = process.argv.slice(2);
if (!email || !ROLES.includes(role as Role)) fail('Usage: invite-member.ts <email> [owner|admin|editor|viewer]');

const client = createClient({ url, token });
const orgId = org ?? (await client.org.current.query()).id;

try {
  const invitation = await client.invitations.create.mutate({ orgId, email, role: role as Role });
  console.log(
    `invited ${invitation.email} as ${invitation.role}: invitation ${invitation.id}, expires ${invitation.expiresAt}`,
  );
  const { invitations } = await client.invitations.list.query({ orgId });
  console.log(`${invitations.filter((i) => i.status === 'pending').length} pending invitation(s)`);
} catch (error) {
  if (isTenantryError(error, 'LIMIT_REACHED')) fail(`The organization is full: ${error.message}`);
  if (isTenantryError(error, 'VALIDATION_FAILED')) {
    fail(`Invalid input: ${error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  if (isTenantryError(error)) fail(`${error.code} (${error.status}): ${error.message}`);
  throw error;
}
