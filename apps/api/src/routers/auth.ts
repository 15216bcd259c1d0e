import { hash, verify } from '@node-rs/argon2';
import { DomainError } from '@tenantry/core';
import {
  addMembership,
  appendAuditEvent,
  countUsers,
  createSession,
  createUser,
  deleteSession,
  findSessionByTokenHash,
  findUserByEmail,
  listOrgSummariesOfUser,
  listOrgsOfUser,
  setUserDefaultOrg,
  type UserRow,
} from '@tenantry/db';
import { z } from 'zod';
import { type Context, hashToken, newSessionToken } from '../context.js';
import {
  beginInvitationAttempt,
  findAcceptableInvitation,
  invitationTokenInput,
  joinThroughInvitation,
} from '../invitation-acceptance.js';
import {
  emailInput,
  membershipOutput,
  nameInput,
  okOutput,
  orgSummaryOutput,
  passwordInput,
  toUserOutput,
  userOutput,
} from '../schemas.js';
import { reachableOrgs, resolveActiveOrg } from '../tenancy.js';
import { authedProcedure, publicProcedure, router } from '../trpc.js';

// Compared against when the email is unknown, so a wrong email costs as long as a wrong password.
let dummyHash: Promise<string> | null = null;
function timingEqualiser(): Promise<string> {
  dummyHash ??= hash('tenantry-timing-equaliser');
  return dummyHash;
}

const userResponse = z.object({ user: userOutput });

/** Starts a session for `user` in an open unit of work and sets the cookie. */
async function startSession(
  ctx: Context,
  em: Parameters<typeof createSession>[0],
  user: UserRow,
  activeOrgId: string | null = null,
) {
  const token = newSessionToken();
  const expiresAt = new Date(Date.now() + ctx.env.SESSION_TTL);
  await createSession(em, {
    tokenHash: hashToken(token),
    userId: user.id,
    activeOrgId,
    expiresAt,
    ip: ctx.ip,
    userAgent: ctx.userAgent?.slice(0, 500) ?? null,
  });
  return { token, expiresAt };
}

const joinedOrgOutput = z.object({ orgId: z.string(), slug: z.string(), name: z.string(), role: z.string() });

/**
 * Sign-up from an invitation link: the invitation must be pending and sent to this email; the
 * account, its membership, the accepted invitation and the session (active in the invited org)
 * commit together, or none of them does. Rate-limited like accepting.
 */
async function signUpFromInvitation(
  ctx: Context,
  input: { email: string; password: string; name: string; invitationToken: string },
) {
  const target = await beginInvitationAttempt(ctx, input.invitationToken);
  const passwordHash = await hash(input.password);
  const { user, session, joined } = await ctx.db.tenant({ orgId: target.org.id }, async (em) => {
    // Says what is wrong with the invitation before anything else (expired, another email…).
    await findAcceptableInvitation(em, target, input.email);
    if (await findUserByEmail(em, input.email)) throw new DomainError('EMAIL_TAKEN');
    const created = await createUser(em, { email: input.email, name: input.name, passwordHash });
    const result = await joinThroughInvitation(em, target, created, ctx.ip);
    created.defaultOrgId ??= target.org.id;
    return { user: created, joined: result, session: await startSession(ctx, em, created, target.org.id) };
  });
  ctx.cookies.set(session.token, session.expiresAt);
  ctx.log.info(
    { event: 'signup', userId: user.id, platformRole: user.platformRole, orgId: joined.orgId },
    'user signed up from an invitation',
  );
  return { user: toUserOutput(user), joined };
}

export const authRouter = router({
  /**
   * Creates an account and signs it in. The first user of an install becomes superadmin and
   * owner of the default org; later users join orgs when added or invited. With the token of
   * a pending invitation to the same email, the new account joins its org with the invited
   * role at once and lands there, even when sign-up is by invitation only.
   */
  signup: publicProcedure
    .meta({ openapi: { method: 'POST', path: '/auth/signup', tags: ['auth'], summary: 'Sign up', protect: false } })
    .input(
      z.strictObject({
        email: emailInput,
        password: passwordInput,
        name: nameInput,
        invitationToken: invitationTokenInput.optional(),
      }),
    )
    .output(userResponse.extend({ joined: joinedOrgOutput.nullable() }))
    .mutation(async ({ ctx, input }) => {
      if (input.invitationToken) return signUpFromInvitation(ctx, { ...input, invitationToken: input.invitationToken });
      const passwordHash = await hash(input.password);
      const defaultOrgId = ctx.db.defaultOrgId;
      // In the default org's scope, so the first user's owner membership passes RLS.
      const { user, session } = await ctx.db.tenant({ orgId: defaultOrgId }, async (em) => {
        // The first account of an install is always allowed, or nobody could ever sign in.
        if (ctx.env.SIGNUP_MODE === 'invite' && (await countUsers(em)) > 0) throw new DomainError('SIGNUP_CLOSED');
        if (await findUserByEmail(em, input.email)) throw new DomainError('EMAIL_TAKEN');
        const created = await createUser(em, { email: input.email, name: input.name, passwordHash });
        // createUser makes exactly one user superadmin: the first of the install.
        if (created.platformRole === 'superadmin') {
          await addMembership(em, { orgId: defaultOrgId, userId: created.id, role: 'owner', addedById: created.id });
          await setUserDefaultOrg(em, created.id, defaultOrgId);
          created.defaultOrgId = defaultOrgId;
          await appendAuditEvent(em, defaultOrgId, {
            actorType: 'user',
            actorId: created.id,
            actorLabel: created.email,
            action: 'user.signed_up',
            targetType: 'user',
            targetId: created.id,
            ip: ctx.ip,
            details: { role: 'owner', platformRole: created.platformRole },
          });
        }
        return { user: created, session: await startSession(ctx, em, created) };
      });
      ctx.cookies.set(session.token, session.expiresAt);
      ctx.log.info({ event: 'signup', userId: user.id, platformRole: user.platformRole }, 'user signed up');
      return { user: toUserOutput(user), joined: null };
    }),

  /** Signs in with email and password; a previous session of this browser ends. */
  login: publicProcedure
    .meta({ openapi: { method: 'POST', path: '/auth/login', tags: ['auth'], summary: 'Sign in', protect: false } })
    .input(z.strictObject({ email: emailInput, password: z.string().min(1).max(200) }))
    .output(userResponse)
    .mutation(async ({ ctx, input }) => {
      const user = await ctx.db.platform({}, (em) => findUserByEmail(em, input.email));
      const ok = await verify(user?.passwordHash ?? (await timingEqualiser()), input.password).catch(() => false);
      if (!user || !ok) {
        ctx.log.warn({ event: 'login_failed', userId: user?.id ?? null }, 'sign-in refused');
        throw new DomainError('INVALID_CREDENTIALS');
      }
      const previous = ctx.sessionToken;
      const session = await ctx.db.platform({ userId: user.id }, async (em) => {
        if (previous) {
          const old = await findSessionByTokenHash(em, hashToken(previous));
          if (old) await deleteSession(em, old.session.id);
        }
        return startSession(ctx, em, user);
      });
      ctx.cookies.set(session.token, session.expiresAt);
      return { user: toUserOutput(user) };
    }),

  /** Ends the current session. */
  logout: authedProcedure
    .meta({ openapi: { method: 'POST', path: '/auth/logout', tags: ['auth'], summary: 'Sign out' } })
    .input(z.void())
    .output(okOutput)
    .mutation(async ({ ctx }) => {
      const session = ctx.session;
      if (session) await ctx.db.platform({ userId: ctx.user.id }, (em) => deleteSession(em, session.id));
      ctx.cookies.clear();
      return { ok: true as const };
    }),

  /** The signed-in user, the org this request would act in (null if none is reachable) and every membership. */
  me: authedProcedure
    .meta({ openapi: { method: 'GET', path: '/auth/me', tags: ['auth'], summary: 'Current user' } })
    .input(z.void())
    .output(
      z.object({
        user: userOutput,
        activeOrg: orgSummaryOutput.nullable(),
        memberships: z.array(membershipOutput),
      }),
    )
    .query(async ({ ctx }) => {
      return ctx.db.platform({ userId: ctx.user.id }, async (em) => {
        const licensed = ctx.env.MULTI_TENANT_ENABLED ? await ctx.license.isLicensed(em) : false;
        const access = await resolveActiveOrg(ctx, em, ctx.orgHeader, licensed);
        const orgs = await reachableOrgs(em, ctx, await listOrgSummariesOfUser(em, ctx.user.id));
        return {
          user: toUserOutput(ctx.user),
          activeOrg: access.ok ? { id: access.org.id, slug: access.org.slug, name: access.org.name } : null,
          memberships: orgs.map((o) => ({
            orgId: o.id,
            slug: o.slug,
            name: o.name,
            role: o.role,
            isShadow: o.isShadow,
            isDefault: o.id === ctx.db.defaultOrgId,
          })),
        };
      });
    }),
});
