import { randomUUID } from 'node:crypto';
import { agentOnline, checkAgentLimit, DomainError, effectiveLimits } from '@tenantry/core';
import {
  AgentNameTakenError,
  type AgentRow,
  countAgents,
  createAgent,
  deleteShares,
  findAgent,
  forgetAlertsOfResources,
  listAgents,
  removeAgent,
} from '@tenantry/db';
import { z } from 'zod';
import { newAgentToken } from '../agent-report.js';
import { adminSharesByTarget, publishFanout, removeFanout, removeResharesThrough } from '../resource-events.js';
import { okOutput } from '../schemas.js';
import { requireModule, requirePermission, router, tenantProcedure } from '../trpc.js';

// Agents of the active org (SPEC §8): module `agents`; every role reads, admins and owners
// register and remove. An agent's token is shown once, at registration.

const agentsProcedure = tenantProcedure.use(requireModule('agents'));

export const agentOutput = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
  lastSeenAt: z.string().nullable(),
  lastIp: z.string().nullable(),
  version: z.string().nullable(),
  /** Reported within AGENT_OFFLINE_AFTER. */
  online: z.boolean(),
  resources: z.number(),
});

function toAgentOutput(a: AgentRow, offlineAfterMs: number, now = new Date()) {
  return {
    id: a.id,
    name: a.name,
    createdAt: a.createdAt.toISOString(),
    lastSeenAt: a.lastSeenAt?.toISOString() ?? null,
    lastIp: a.lastIp,
    version: a.version,
    online: agentOnline(a.lastSeenAt, now, offlineAfterMs),
    resources: a.resources,
  };
}

export const agentsRouter = router({
  list: agentsProcedure
    .use(requirePermission('agents.read'))
    .meta({ openapi: { method: 'GET', path: '/agents', tags: ['agents'], summary: 'List agents' } })
    .input(z.void())
    .output(z.object({ agents: z.array(agentOutput) }))
    .query(async ({ ctx }) => ({
      agents: (await listAgents(ctx.em, ctx.org.id)).map((a) => toAgentOutput(a, ctx.env.AGENT_OFFLINE_AFTER)),
    })),

  /** Registers an agent; answers its token once (`tna_…`, for `POST /api/agent/report`). */
  register: agentsProcedure
    .use(requirePermission('agents.register'))
    .meta({
      openapi: {
        method: 'POST',
        path: '/agents',
        tags: ['agents'],
        summary: 'Register an agent',
        description:
          'Answers 201 with the agent token, shown only here: the agent sends it as `Authorization: Bearer tna_…` to POST /api/agent/report.',
      },
      audit: false,
    })
    .input(z.strictObject({ name: z.string().trim().min(1).max(100) }))
    .output(z.object({ id: z.string(), name: z.string(), token: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const limit = effectiveLimits(ctx.org.tier, { maxAgents: ctx.org.maxAgents }).maxAgents;
      checkAgentLimit({ agents: await countAgents(ctx.em, ctx.org.id), limit });
      const id = randomUUID();
      const { token, hash } = newAgentToken(ctx.org.id, id);
      let agent: AgentRow;
      try {
        agent = await createAgent(ctx.em, {
          orgId: ctx.org.id,
          id,
          name: input.name,
          tokenHash: hash,
          createdById: ctx.user.id,
        });
      } catch (error) {
        if (error instanceof AgentNameTakenError) throw new DomainError('AGENT_NAME_TAKEN');
        throw error;
      }
      await ctx.audit({
        action: 'agent.registered',
        targetType: 'agent',
        targetId: agent.id,
        details: { name: agent.name },
      });
      return { id: agent.id, name: agent.name, token };
    }),

  /**
   * Removes an agent and its resources; their shares go too (and re-shares made through
   * them), their firing alerts resolve (`resource_removed`), and open pages are told.
   */
  remove: agentsProcedure
    .use(requirePermission('agents.remove'))
    .meta({
      openapi: { method: 'DELETE', path: '/agents/{agentId}', tags: ['agents'], summary: 'Remove an agent' },
      audit: false,
    })
    .input(z.strictObject({ agentId: z.uuid() }))
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      const agent = await findAgent(ctx.em, ctx.org.id, input.agentId);
      if (!agent) throw new DomainError('AGENT_NOT_FOUND');
      const { resourceIds } = await removeAgent(ctx.em, ctx.org.id, agent.id);
      const shares = await deleteShares(ctx.em, ctx.org.id, { resourceIds });
      const reshares = await removeResharesThrough(ctx.em, adminSharesByTarget(shares));
      await forgetAlertsOfResources(ctx.em, ctx.org.id, resourceIds);
      await ctx.audit({
        action: 'agent.removed',
        targetType: 'agent',
        targetId: agent.id,
        details: { name: agent.name, resources: resourceIds.length, shares: shares.length },
      });
      const orgId = ctx.org.id;
      ctx.afterCommit(async () => {
        const removals = [
          ...resourceIds.map((resourceId) => ({ orgId, resourceId })),
          ...shares.map((s) => ({ orgId: s.targetOrgId, resourceId: s.resourceId })),
          ...reshares.map((s) => ({ orgId: s.targetOrgId, resourceId: s.resourceId })),
        ];
        await publishFanout(ctx.live, ctx.log, removeFanout(orgId, removals));
      });
      return { ok: true as const };
    }),
});
