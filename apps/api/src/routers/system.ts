import { z } from 'zod';
import { publicProcedure, router } from '../trpc.js';
import { VERSION } from '../version.js';

export const systemRouter = router({
  /** What the web app needs before sign-in: gating, sign-up mode, version. */
  config: publicProcedure
    .meta({
      openapi: { method: 'GET', path: '/config', tags: ['system'], summary: 'Server configuration', protect: false },
    })
    .input(z.void())
    .output(
      z.object({
        multiTenantEnabled: z.boolean(),
        licensed: z.boolean(),
        signupMode: z.enum(['open', 'invite']),
        orgCreation: z.enum(['any', 'superadmin']),
        /** Mails go to the development inbox (`/dev/inbox`) instead of SMTP. */
        devInbox: z.boolean(),
        version: z.string(),
      }),
    )
    .query(async ({ ctx }) => ({
      multiTenantEnabled: ctx.env.MULTI_TENANT_ENABLED,
      licensed: await ctx.license.isLicensed(),
      signupMode: ctx.env.SIGNUP_MODE,
      orgCreation: ctx.env.ORG_CREATION,
      devInbox: ctx.devInbox !== null,
      version: VERSION,
    })),
});
