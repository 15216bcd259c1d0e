import { TRPCError } from '@trpc/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from './context.js';
import { describeError } from './errors.js';
import { createCaller } from './root.js';

/**
 * `GET /api/orgs/{orgId}/logo`: the org's logo as an image, for `<img src>`. It goes through
 * the same procedure (gate, membership, org status) as every org path; errors answer the
 * usual `{code, message}`.
 */
export function registerLogoRoute(
  app: FastifyInstance,
  createContext: (opts: { req: FastifyRequest; res: FastifyReply }) => Context,
): void {
  app.get<{ Params: { orgId: string } }>('/api/orgs/:orgId/logo', async (req, reply) => {
    try {
      const logo = await createCaller(createContext({ req, res: reply })).logo.get({ orgId: req.params.orgId });
      return reply
        .header('content-type', logo.contentType)
        .header('cache-control', 'private, max-age=300')
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "default-src 'none'")
        .send(logo.bytes);
    } catch (error) {
      if (!(error instanceof TRPCError)) throw error;
      const described = describeError(error);
      return reply.code(described.status).send({ code: described.code, message: described.message });
    }
  });
}
