import { randomUUID } from 'node:crypto';
import type { Db } from '@tenantry/db';
import type { ReportedResource } from '../alerts/evaluate.js';

/**
 * Agents and resources for alert tests, written through SQL in the org's scope (as the
 * agent report does), until the report endpoint and these tests meet.
 */
export interface SeededResource extends ReportedResource {
  orgId: string;
  agentId: string;
}

/** An agent of the org with the given resources (all `online`, 10% usage). */
export async function seedResources(
  db: Db,
  orgId: string,
  resources: { name: string; type?: 'host' | 'vm' | 'container' | 'storage' }[],
): Promise<{ agentId: string; resources: SeededResource[] }> {
  const agentId = randomUUID();
  const seeded = await db.tenant({ orgId }, async (em) => {
    await em.execute(`insert into agents (org_id, id, name, token_hash) values (?, ?, ?, 'not-a-token')`, [
      orgId,
      agentId,
      `agent-${agentId.slice(0, 8)}`,
    ]);
    const out: SeededResource[] = [];
    for (const r of resources) {
      const id = randomUUID();
      const type = r.type ?? 'host';
      await em.execute(
        `insert into resources (org_id, id, agent_id, type, name, status, cpu, memory, disk)
         values (?, ?, ?, ?, ?, 'online', 0.1, 0.1, 0.1)`,
        [orgId, id, agentId, type, r.name],
      );
      out.push({ orgId, agentId, id, type, name: r.name, status: 'online', cpu: 0.1, memory: 0.1, disk: 0.1 });
    }
    return out;
  });
  return { agentId, resources: seeded };
}

/** Shares a resource of `fromOrg` with `toOrg` (both sides of the share, each in its org's scope). */
export async function shareResource(
  db: Db,
  fromOrg: string,
  toOrg: string,
  resource: { id: string; type: string },
): Promise<string> {
  const shareId = randomUUID();
  await db.tenant({ orgId: fromOrg }, (em) =>
    em.execute(
      `insert into shares (org_id, id, target_org_id, resource_org_id, resource_id, resource_type, role)
       values (?, ?, ?, ?, ?, ?, 'editor')`,
      [fromOrg, shareId, toOrg, fromOrg, resource.id, resource.type],
    ),
  );
  await db.tenant({ orgId: toOrg }, (em) =>
    em.execute(
      `insert into incoming_shares (org_id, share_id, granting_org_id, resource_org_id, resource_id, resource_type, role)
       values (?, ?, ?, ?, ?, ?, 'editor')`,
      [toOrg, shareId, fromOrg, fromOrg, resource.id, resource.type],
    ),
  );
  return shareId;
}

/** A report of the resource with new metrics. */
export function report(resource: ReportedResource, metrics: Partial<ReportedResource>): ReportedResource {
  return { ...resource, ...metrics };
}
