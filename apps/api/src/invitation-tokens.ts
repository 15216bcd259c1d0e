import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

// An invitation token is `<base64url(orgId + invitationId, 32 bytes)>.<base64url(32 random bytes)>`:
// the first half says where to look (so the lookup runs in the invitation's org scope), the
// second is the 256-bit secret, stored only as its sha256.

const UUID_HEX = /^[0-9a-f]{32}$/;

/** 256 bits of secret per token. */
const SECRET_BYTES = 32;

/** A new token for the invitation, and the hash of its secret (the only part stored). */
export function newInvitationToken(orgId: string, invitationId: string): { token: string; hash: string } {
  return newInvitationTokens(orgId, [invitationId])[0]!;
}

/**
 * New tokens for invitations of one org, in the order given: one read of the CSPRNG for the
 * whole batch (32 bytes each), as a bulk invitation mints a hundred at once.
 */
export function newInvitationTokens(
  orgId: string,
  invitationIds: readonly string[],
): { token: string; hash: string }[] {
  const random = randomBytes(SECRET_BYTES * invitationIds.length);
  const org = orgId.replace(/-/g, '');
  return invitationIds.map((invitationId, i) => {
    const ids = Buffer.from(`${org}${invitationId.replace(/-/g, '')}`, 'hex');
    const secret = random.subarray(i * SECRET_BYTES, (i + 1) * SECRET_BYTES).toString('base64url');
    return { token: `${ids.toString('base64url')}.${secret}`, hash: hashSecret(secret) };
  });
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function uuidOf(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** What a token names: its org, its invitation, and the hash of its secret. */
export interface ParsedInvitationToken {
  orgId: string;
  invitationId: string;
  hash: string;
}

/** Splits a token into its ids and the hash of its secret; null if it is not shaped like one. */
export function parseInvitationToken(token: string): ParsedInvitationToken | null {
  const [ids, secret, extra] = token.split('.');
  if (!ids || !secret || extra !== undefined || !/^[\w-]+$/.test(ids) || !/^[\w-]{43}$/.test(secret)) return null;
  const hex = Buffer.from(ids, 'base64url').toString('hex');
  if (hex.length !== 64) return null;
  const org = hex.slice(0, 32);
  const inv = hex.slice(32);
  if (!UUID_HEX.test(org) || !UUID_HEX.test(inv)) return null;
  return { orgId: uuidOf(org), invitationId: uuidOf(inv), hash: hashSecret(secret) };
}

/** Constant-time comparison of the presented secret's hash with the stored one. */
export function tokenMatches(stored: string | null, presented: string): boolean {
  if (!stored) return false;
  const a = Buffer.from(stored, 'hex');
  const b = Buffer.from(presented, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
