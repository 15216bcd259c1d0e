import { findSessionByTokenHash, type SessionRow, touchSession, type UserRow } from '@tenantry/db';
import { type Context, hashToken } from './context.js';

/** How often a session's expiry slides forward (at most one write per hour per session). */
const SESSION_TOUCH_INTERVAL_MS = 60 * 60 * 1000;

/** The signed-in user and session for the request's session cookie, or null. */
export async function authenticateSession(ctx: Context): Promise<{ user: UserRow; session: SessionRow } | null> {
  const token = ctx.sessionToken;
  if (!token || token.length > 200) return null;
  return ctx.db.platform({}, async (em) => {
    const hit = await findSessionByTokenHash(em, hashToken(token));
    if (!hit) return null;
    const now = Date.now();
    if (now - hit.session.lastSeenAt.getTime() > SESSION_TOUCH_INTERVAL_MS) {
      const expiresAt = new Date(now + ctx.env.SESSION_TTL);
      await touchSession(em, hit.session.id, expiresAt);
      hit.session.expiresAt = expiresAt;
      ctx.cookies.set(token, expiresAt);
    }
    return hit;
  });
}
