import { LOGO_TYPES } from '@tenantry/core';
import { TRPCError } from '@trpc/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OpenAPIObject } from 'trpc-to-openapi';
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

/** Documents `GET /orgs/{orgId}/logo` (a file, not JSON) in the OpenAPI document. */
export function describeLogoRead(doc: OpenAPIObject): OpenAPIObject {
  const error = {
    description: 'Refused: `{ code, message }` with a stable code',
    content: {
      'application/json': {
        schema: {
          type: 'object' as const,
          properties: { code: { type: 'string' as const }, message: { type: 'string' as const } },
          required: ['code', 'message'],
        },
      },
    },
  };
  const image = { schema: { type: 'string' as const, contentMediaType: 'application/octet-stream' } };
  const path = doc.paths?.['/orgs/{orgId}/logo'] ?? {};
  doc.paths = {
    ...doc.paths,
    '/orgs/{orgId}/logo': {
      ...path,
      get: {
        operationId: 'logo-get',
        summary: "The organization's logo",
        description: 'The stored logo as an image, for `<img src>`. Any member of the organization may read it.',
        tags: ['orgs'],
        security: [{ sessionCookie: [] }, { bearerToken: [] }],
        parameters: [
          {
            name: 'orgId',
            in: 'path',
            required: true,
            description: 'Organization id (UUID) or slug',
            schema: { type: 'string', minLength: 1, maxLength: 100 },
          },
        ],
        responses: {
          '200': {
            description: 'The logo',
            content: Object.fromEntries(LOGO_TYPES.map((type) => [type, image])),
          },
          '400': error,
          '401': error,
          '403': error,
          '404': error,
          '429': error,
        },
      },
    },
  };
  return doc;
}
