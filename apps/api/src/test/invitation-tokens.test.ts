import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newInvitationToken, newInvitationTokens, parseInvitationToken, tokenMatches } from '../invitation-tokens.js';

describe('invitation tokens', () => {
  it('mint a batch of distinct 256-bit secrets, each naming its own invitation and stored only as a hash', () => {
    const orgId = randomUUID();
    const ids = Array.from({ length: 100 }, () => randomUUID());
    const tokens = newInvitationTokens(orgId, ids);
    expect(tokens).toHaveLength(100);
    const secrets = new Set<string>();
    tokens.forEach(({ token, hash }, i) => {
      const [, secret] = token.split('.');
      expect(Buffer.from(secret!, 'base64url')).toHaveLength(32);
      secrets.add(secret!);
      expect(hash).toBe(createHash('sha256').update(secret!).digest('hex'));
      expect(token).not.toContain(hash);
      const parsed = parseInvitationToken(token);
      expect(parsed).toEqual({ orgId, invitationId: ids[i], hash });
      expect(tokenMatches(hash, parsed!.hash)).toBe(true);
    });
    expect(secrets.size).toBe(100);
    expect(newInvitationTokens(orgId, [])).toEqual([]);
  });

  it('mint a single token the same way, never twice the same', () => {
    const orgId = randomUUID();
    const id = randomUUID();
    const a = newInvitationToken(orgId, id);
    const b = newInvitationToken(orgId, id);
    expect(a.token).not.toBe(b.token);
    expect(parseInvitationToken(a.token)).toEqual({ orgId, invitationId: id, hash: a.hash });
    expect(tokenMatches(a.hash, parseInvitationToken(b.token)!.hash)).toBe(false);
    expect(tokenMatches(null, a.hash)).toBe(false);
  });

  it('refuse what is not shaped like a token', () => {
    const { token } = newInvitationToken(randomUUID(), randomUUID());
    for (const bad of [
      '',
      'x',
      `${token}.extra`,
      token.slice(0, -1),
      `${token.split('.')[0]}.${'!'.repeat(43)}`,
      `AAAA.${token.split('.')[1]}`,
    ]) {
      expect(parseInvitationToken(bad)).toBeNull();
    }
  });
});
