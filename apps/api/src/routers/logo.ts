import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { DomainError, LOGO_MAX_BYTES, LOGO_TYPES, orgFilesPath, sniffLogoType } from '@tenantry/core';
import { updateOrg } from '@tenantry/db';
import { z } from 'zod';
import { okOutput, orgRefInput } from '../schemas.js';
import { orgProcedure, requirePermission, router } from '../trpc.js';

// An org's logo: its first stored file, kept under DATA_DIR/files/<orgId>/ like every file of
// the org, so deleting the org sweeps it with the rest. Served at GET /api/orgs/{orgId}/logo.

const LOGO_FILE = 'logo';
/** base64 of LOGO_MAX_BYTES, rounded up. */
const MAX_BASE64 = Math.ceil(LOGO_MAX_BYTES / 3) * 4;

export const logoRouter = router({
  /** Stores the org's logo (PNG, JPEG, GIF or WebP, at most 256 KB, base64 in `data`). */
  put: orgProcedure
    .use(requirePermission('org.update'))
    .meta({
      openapi: { method: 'PUT', path: '/orgs/{orgId}/logo', tags: ['orgs'], summary: "Upload the organization's logo" },
      audit: 'org.logo_changed',
    })
    .input(
      z.strictObject({
        orgId: orgRefInput,
        contentType: z.enum(LOGO_TYPES),
        data: z
          .string()
          .min(1)
          .max(MAX_BASE64)
          .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'expected base64'),
      }),
    )
    .output(z.object({ logoUrl: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const bytes = Buffer.from(input.data, 'base64');
      if (bytes.length > LOGO_MAX_BYTES || sniffLogoType(bytes) !== input.contentType) {
        throw new DomainError(
          'LOGO_INVALID',
          `The logo must be a PNG, JPEG, GIF or WebP image of at most 256 KB, and its bytes must be the ${input.contentType} it claims to be.`,
        );
      }
      const path = orgFilesPath(ctx.env.DATA_DIR, ctx.org.id, LOGO_FILE);
      await mkdir(orgFilesPath(ctx.env.DATA_DIR, ctx.org.id), { recursive: true });
      // Written aside and renamed: a reader never sees half a file.
      const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
      await writeFile(temp, bytes);
      await rename(temp, path);
      const logoUrl = `/api/orgs/${ctx.org.id}/logo?v=${Date.now()}`;
      await updateOrg(ctx.em, ctx.org.id, { logoUrl });
      return { logoUrl };
    }),

  /** Removes the org's stored logo. */
  remove: orgProcedure
    .use(requirePermission('org.update'))
    .meta({
      openapi: {
        method: 'DELETE',
        path: '/orgs/{orgId}/logo',
        tags: ['orgs'],
        summary: "Remove the organization's logo",
      },
      audit: 'org.logo_removed',
    })
    .input(z.strictObject({ orgId: orgRefInput }))
    .output(okOutput)
    .mutation(async ({ ctx }) => {
      await rm(orgFilesPath(ctx.env.DATA_DIR, ctx.org.id, LOGO_FILE), { force: true });
      await updateOrg(ctx.em, ctx.org.id, { logoUrl: null });
      return { ok: true as const };
    }),

  /** The stored logo's bytes (the image route serves them; not a REST path of its own). */
  get: orgProcedure
    .input(z.strictObject({ orgId: orgRefInput }))
    .output(z.object({ contentType: z.enum(LOGO_TYPES), bytes: z.instanceof(Buffer) }))
    .query(async ({ ctx }) => {
      let bytes: Buffer;
      try {
        bytes = await readFile(orgFilesPath(ctx.env.DATA_DIR, ctx.org.id, LOGO_FILE));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new DomainError('NOT_FOUND', 'This organization has no stored logo.');
        }
        throw error;
      }
      const contentType = sniffLogoType(bytes);
      if (!contentType) throw new DomainError('NOT_FOUND', 'This organization has no stored logo.');
      return { contentType, bytes };
    }),
});
