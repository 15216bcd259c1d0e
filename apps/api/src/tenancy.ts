import {
  decideGate,
  type GateDecision,
  type OrgSource,
  parseOrgRef,
  pickActiveOrg,
  refersToDefaultOrg,
  tokenRole,
} from '@tenantry/core';
import {
  type EntityManager,
  findApiTokenBinding,
  findMembership,
  findOrgById,
  findOrgBySlug,
  listApiTokenOrgIds,
  type MembershipRow,
  type OrgRow,
  type SessionRow,
  setSessionActiveOrg,
  type UserRow,
} from '@tenantry/db';
import type { Context } from './context.js';
import type { Actor } from './trpc.js';

/** A refusal of the gate (core's `decideGate`). */
export type Denied = Extract<GateDecision, { allow: false }>;

/** The outcome of resolving one org reference for the caller. */
export type Access =
  | { ok: true; org: OrgRow; membership: MembershipRow; source: OrgSource }
  | { ok: false; decision: Denied; org: OrgRow | null; source: OrgSource; raw: string };

/** The signed-in part of a context. */
export type CallerCtx = Pick<Context, 'db' | 'env' | 'log'> & {
  user: UserRow;
  session: SessionRow | null;
  actor: Actor;
};

/**
 * The caller's standing in an org: the user's membership, and for an API token its binding,
 * which caps the role (core's `tokenRole`). Null when the caller may not act there; a token
 * reaches only the orgs it is bound to, the default org included.
 */
async function standingIn(ctx: CallerCtx, em: EntityManager, orgId: string): Promise<MembershipRow | null> {
  const membership = await findMembership(em, orgId, ctx.user.id);
  if (!membership || ctx.actor.kind !== 'token') return membership;
  const binding = await findApiTokenBinding(em, orgId, ctx.actor.tokenId);
  return binding ? { ...membership, role: tokenRole(membership.role, binding.role) } : null;
}

/** Logs a refused org access as a warning: org, user (bound to `ctx.log` when signed in) and reason (SPEC §5). */
export function logDenied(
  ctx: CallerCtx,
  info: { raw: string | null; orgId: string | null; source: OrgSource | 'collection'; decision: Denied },
): void {
  ctx.log.warn(
    {
      event: 'org_access_denied',
      orgRef: info.raw?.slice(0, 100) ?? null,
      orgId: info.orgId,
      source: info.source,
      reason: info.decision.reason,
      status: info.decision.status,
    },
    'organization access denied',
  );
}

/**
 * Resolves one org reference (id or slug) and applies the gate, in an open platform unit whose
 * `app.user_id` is the caller (RLS lets a user read their own memberships). Unknown orgs are
 * refused like orgs the caller is not a member of, so existence is not revealed.
 */
export async function checkAccess(
  ctx: CallerCtx,
  em: EntityManager,
  raw: string,
  source: OrgSource,
  licensed: boolean,
): Promise<Access> {
  const ref = parseOrgRef(raw);
  let org: OrgRow | null = null;
  if (ref.kind === 'id') org = await findOrgById(em, ref.id);
  else if (ref.kind === 'slug') org = await findOrgBySlug(em, ref.slug);
  const membership = org ? await standingIn(ctx, em, org.id) : null;
  const decision = decideGate({
    malformed: ref.kind === 'malformed',
    targetsDefaultOrg: org ? org.id === ctx.db.defaultOrgId : refersToDefaultOrg(ref, ctx.db.defaultOrgId),
    multiTenantEnabled: ctx.env.MULTI_TENANT_ENABLED,
    licensed,
    authorized: membership !== null,
  });
  if (decision.allow && org && membership) return { ok: true, org, membership, source };
  const denied: Denied = decision.allow
    ? { allow: false, status: 403, code: 'ORG_ACCESS_DENIED', reason: 'not_authorized' }
    : decision;
  return { ok: false, decision: denied, org, source, raw };
}

/**
 * The request's active org: `X-Org-Id` → session → user's default → `default` (core's
 * `pickActiveOrg`). A stored choice that no longer passes the gate is skipped, and the
 * session's pointer cleared, so a browser is never stuck on an org it lost; an explicit
 * header, or the `default` fallback, reports its refusal.
 */
export async function resolveActiveOrg(
  ctx: CallerCtx,
  em: EntityManager,
  orgHeader: string | null,
  licensed: boolean,
): Promise<Access> {
  const candidates = {
    header: orgHeader,
    sessionOrgId: ctx.session?.activeOrgId ?? null,
    userDefaultOrgId: ctx.user.defaultOrgId,
    multiTenantEnabled: ctx.env.MULTI_TENANT_ENABLED,
  };
  for (;;) {
    const picked = pickActiveOrg(candidates);
    const access = await checkAccess(ctx, em, picked.raw, picked.source, licensed);
    if (access.ok) return access;
    if (picked.source === 'session' && ctx.session) {
      ctx.log.info(
        { orgId: picked.raw, reason: access.decision.reason },
        'stored active org unavailable, falling back',
      );
      await setSessionActiveOrg(em, ctx.session.id, null);
      ctx.session.activeOrgId = null;
      candidates.sessionOrgId = null;
      continue;
    }
    if (picked.source === 'user_default') {
      candidates.userDefaultOrgId = null;
      continue;
    }
    return access;
  }
}

/** Whether `headerRaw` names `org` (by id or slug), or the same unknown reference as `pathRaw`. */
export function headerNamesSameOrg(headerRaw: string, org: OrgRow | null, pathRaw: string): boolean {
  const ref = parseOrgRef(headerRaw);
  if (org) return (ref.kind === 'id' && ref.id === org.id) || (ref.kind === 'slug' && ref.slug === org.slug);
  return headerRaw.trim().toLowerCase() === pathRaw.trim().toLowerCase();
}

/**
 * The orgs among the user's that the caller reaches: all of them for a session, only the
 * bound ones for an API token (a token bound to B does not even list the user's other orgs).
 */
export async function reachableOrgs<T extends { id: string }>(
  em: EntityManager,
  ctx: Pick<CallerCtx, 'actor'>,
  orgs: T[],
): Promise<T[]> {
  if (ctx.actor.kind !== 'token') return orgs;
  const bound = new Set(await listApiTokenOrgIds(em, ctx.actor.tokenId));
  return orgs.filter((o) => bound.has(o.id));
}
