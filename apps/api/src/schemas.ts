import { checkSlug, MODULES, ORG_ROLES, PLATFORM_ROLES, STATEMENTS, TIERS } from '@tenantry/core';
import { type MemberRow, ORG_STATUSES, type OrgRow, type Role, type UserRow } from '@tenantry/db';
import { z } from 'zod';

// Input limits: every string is bounded, so overlong input answers 400, never 500.

/** An org id (UUID) or slug, as it appears in paths and headers. */
export const orgRefInput = z.string().trim().min(1).max(100).describe('Organization id (UUID) or slug');
export const userIdInput = z.uuid().describe('User id (UUID)');
export const nameInput = z.string().trim().min(1).max(100);
export const descriptionInput = z.string().trim().max(500);
export const emailInput = z.string().trim().toLowerCase().max(254).pipe(z.email());
export const passwordInput = z.string().min(8).max(200);
export const roleInput = z.enum(ORG_ROLES);
export const slugInput = z
  .string()
  .trim()
  .max(48)
  .superRefine((value, ctx) => {
    const check = checkSlug(value);
    if (!check.ok) ctx.addIssue({ code: 'custom', message: check.reason });
  });
export const logoUrlInput = z.url({ protocol: /^https?$/ }).max(2048);

// Outputs: plain JSON (timestamps as ISO strings), identical over tRPC and REST.

export const userOutput = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  platformRole: z.enum(PLATFORM_ROLES),
});
export type UserOutput = z.infer<typeof userOutput>;

export const orgSummaryOutput = z.object({ id: z.string(), slug: z.string(), name: z.string() });

export const orgDetailOutput = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  logoUrl: z.string().nullable(),
  billingEmail: z.string().nullable(),
  tier: z.enum(TIERS),
  status: z.enum(ORG_STATUSES),
  isDefault: z.boolean(),
  isAdminTenancy: z.boolean(),
  createdAt: z.string(),
  createdById: z.string().nullable(),
  role: roleInput,
});
export type OrgDetailOutput = z.infer<typeof orgDetailOutput>;

const permissionNames = Object.entries(STATEMENTS).flatMap(([resource, actions]) =>
  actions.map((action) => `${resource}.${action}`),
) as [string, ...string[]];

export const currentOrgOutput = orgDetailOutput.extend({
  permissions: z.array(z.enum(permissionNames)),
  modules: z.array(z.enum(MODULES)),
});

export const orgListItemOutput = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  role: roleInput,
  isShadow: z.boolean(),
  isDefault: z.boolean(),
});

export const membershipOutput = z.object({
  orgId: z.string(),
  slug: z.string(),
  name: z.string(),
  role: roleInput,
  isShadow: z.boolean(),
  isDefault: z.boolean(),
});

export const memberOutput = z.object({
  userId: z.string(),
  email: z.string(),
  name: z.string(),
  role: roleInput,
  joinedAt: z.string(),
});
export type MemberOutput = z.infer<typeof memberOutput>;

export const okOutput = z.object({ ok: z.literal(true) });

export function toUserOutput(user: UserRow): UserOutput {
  return { id: user.id, email: user.email, name: user.name, platformRole: user.platformRole };
}

export function toOrgDetail(org: OrgRow, role: Role, defaultOrgId: string): OrgDetailOutput {
  return {
    id: org.id,
    slug: org.slug,
    name: org.name,
    description: org.description,
    logoUrl: org.logoUrl,
    billingEmail: org.billingEmail,
    tier: org.tier,
    status: org.status,
    isDefault: org.id === defaultOrgId,
    isAdminTenancy: org.isAdminTenancy,
    createdAt: org.createdAt.toISOString(),
    createdById: org.createdById,
    role,
  };
}

export function toMemberOutput(member: MemberRow): MemberOutput {
  return {
    userId: member.userId,
    email: member.email,
    name: member.name,
    role: member.role,
    joinedAt: member.createdAt.toISOString(),
  };
}
