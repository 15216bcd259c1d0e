import { randomBytes } from 'node:crypto';
import { findLiveApiTokenByHash, touchApiToken, type UserRow } from '@tenantry/db';
import type { Context } from './context.js';
import { hashToken } from './context.js';

/** Prefix of API tokens (`Authorization: Bearer tnt_…`). */
export const API_TOKEN_PREFIX = 'tnt_';
/** Prefix of agent tokens (`Authorization: Bearer tna_…`), accepted only by the agent report. */
export const AGENT_TOKEN_PREFIX = 'tna_';

/** A new API token: the prefix and 256 random bits, base64url. Only its hash is stored. */
export function newApiToken(): { token: string; hash: string } {
  const token = `${API_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashToken(token) };
}

/** Whether a bearer token is shaped like an API token (cheap check before any lookup). */
export function looksLikeApiToken(token: string): boolean {
  return token.length === API_TOKEN_PREFIX.length + 43 && token.startsWith(API_TOKEN_PREFIX);
}

/** The token and its user for a bearer API token, or null if unknown, revoked or expired. */
export async function authenticateApiToken(
  ctx: Pick<Context, 'db' | 'log'>,
  bearer: string,
): Promise<{ user: UserRow; token: { id: string; name: string } } | null> {
  if (!looksLikeApiToken(bearer)) return null;
  const hit = await ctx.db.platform({}, async (em) => {
    const found = await findLiveApiTokenByHash(em, hashToken(bearer));
    if (found) await touchApiToken(em, found.token.id);
    return found;
  });
  if (!hit) return null;
  return { user: hit.user, token: { id: hit.token.id, name: hit.token.name } };
}
