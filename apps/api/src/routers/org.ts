import { permissionsOf, visibleModules } from '@tenantry/core';
import { z } from 'zod';
import { currentOrgOutput, toOrgDetail } from '../schemas.js';
import { router, tenantProcedure } from '../trpc.js';

export const orgRouter = router({
  /**
   * The request's active org, the caller's role and permissions there, and its enabled
   * modules (none while the org is suspended or being deleted: the web app hides them all).
   */
  current: tenantProcedure
    .meta({
      openapi: { method: 'GET', path: '/org', tags: ['org'], summary: 'The active organization' },
      allowInactiveOrg: true,
    })
    .input(z.void())
    .output(currentOrgOutput)
    .query(async ({ ctx }) => {
      const role = ctx.membership.role;
      return {
        ...toOrgDetail(ctx.org, role, ctx.db.defaultOrgId),
        permissions: permissionsOf(role),
        modules: visibleModules(ctx.org.status, await ctx.license.features(ctx.em), ctx.org.featureOverrides),
      };
    }),
});
