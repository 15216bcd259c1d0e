import { TIERS } from '@tenantry/core';
import { appendAuditEvent } from '@tenantry/db';
import { z } from 'zod';
import type { LicenseState } from '../license.js';
import { platformProcedure, router } from '../trpc.js';
import { deletionsAdminRouter, tenantsAdminRouter } from './tenants.js';

const licenseOutput = z.object({
  status: z.enum(['none', 'valid', 'expired', 'invalid']),
  license: z
    .object({
      licensee: z.string(),
      tier: z.enum(TIERS),
      features: z.array(z.string()),
      maxTenants: z.number().nullable(),
      expiresAt: z.string(),
      source: z.enum(['activated', 'env']),
    })
    .nullable(),
  message: z.string().optional(),
});

function toLicenseOutput(state: LicenseState): z.infer<typeof licenseOutput> {
  return {
    status: state.status,
    license: state.license
      ? {
          licensee: state.license.licensee,
          tier: state.license.tier,
          features: state.license.features,
          maxTenants: state.license.maxTenants,
          expiresAt: state.license.expiresAt.toISOString(),
          source: state.license.source,
        }
      : null,
    ...(state.message ? { message: state.message } : {}),
  };
}

const licenseProcedure = platformProcedure('license.manage');

export const adminRouter = router({
  tenants: tenantsAdminRouter,
  deletions: deletionsAdminRouter,
  license: router({
    /** The platform's effective license. */
    get: licenseProcedure
      .meta({ openapi: { method: 'GET', path: '/admin/license', tags: ['admin'], summary: 'The platform license' } })
      .input(z.void())
      .output(licenseOutput)
      .query(async ({ ctx }) => toLicenseOutput(await ctx.license.state())),

    /** Verifies and activates a license key; it takes effect at once, without a restart. */
    activate: licenseProcedure
      .meta({ openapi: { method: 'POST', path: '/admin/license', tags: ['admin'], summary: 'Activate a license key' } })
      .input(z.strictObject({ key: z.string().trim().min(1).max(10_000) }))
      .output(licenseOutput)
      .mutation(async ({ ctx, input }) => {
        // A platform change: recorded in the default org's log (the install's own), in the
        // transaction that stores the key.
        const state = await ctx.db.tenant({ orgId: ctx.db.defaultOrgId, userId: ctx.user.id }, async (em) => {
          const activated = await ctx.license.activate(input.key, ctx.user.id, em);
          await appendAuditEvent(em, ctx.db.defaultOrgId, {
            actorType: 'user',
            actorId: ctx.user.id,
            actorLabel: ctx.user.email,
            ip: ctx.ip,
            action: 'license.activated',
            targetType: 'license',
            details: {
              licensee: activated.license?.licensee ?? null,
              tier: activated.license?.tier ?? null,
              features: activated.license?.features ?? [],
              expiresAt: activated.license?.expiresAt.toISOString() ?? null,
            },
          });
          return activated;
        });
        ctx.log.info(
          { event: 'license_activated', userId: ctx.user.id, licensee: state.license?.licensee },
          'license activated',
        );
        return toLicenseOutput(state);
      }),
  }),
});
