import { randomUUID } from 'node:crypto';
import type { EntityManager } from '../db.js';
import type { SessionRow, UserRow } from '../types.js';
import { mapSession, mapUser, SESSION_COLUMNS, userColumns } from './rows.js';

/** Fields of a new session. `tokenHash` is the sha256 hex of the cookie token. */
export interface CreateSessionInput {
  tokenHash: string;
  userId: string;
  expiresAt: Date;
  activeOrgId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
}

/** Inserts a session. */
export async function createSession(em: EntityManager, input: CreateSessionInput): Promise<SessionRow> {
  const [row] = await em.execute(
    `insert into sessions (id, token_hash, user_id, active_org_id, expires_at, ip, user_agent)
     values (?, ?, ?, ?, ?, ?, ?) returning ${SESSION_COLUMNS}`,
    [
      randomUUID(),
      input.tokenHash,
      input.userId,
      input.activeOrgId ?? null,
      input.expiresAt,
      input.ip ?? null,
      input.userAgent ?? null,
    ],
  );
  if (!row) throw new Error('insert into sessions returned no row');
  return mapSession(row);
}

/** A live session with its user. */
export interface SessionWithUser {
  session: SessionRow;
  user: UserRow;
}

/** The unexpired session with this token hash, joined with its user, or null. */
export async function findSessionByTokenHash(em: EntityManager, tokenHash: string): Promise<SessionWithUser | null> {
  const [row] = await em.execute(
    `select ${SESSION_COLUMNS}, ${userColumns('u', 'user.')}
     from sessions join users u on u.id = sessions.user_id
     where sessions.token_hash = ? and sessions.expires_at > now()`,
    [tokenHash],
  );
  return row ? { session: mapSession(row), user: mapUser(row, 'user.') } : null;
}

/** Marks a session as seen now and, if given, moves its expiry (sliding sessions). */
export async function touchSession(em: EntityManager, sessionId: string, expiresAt?: Date): Promise<void> {
  await em.execute('update sessions set last_seen_at = now(), expires_at = coalesce(?, expires_at) where id = ?', [
    expiresAt ?? null,
    sessionId,
  ]);
}

/** Records the org a browser session switched to (null: none). */
export async function setSessionActiveOrg(em: EntityManager, sessionId: string, orgId: string | null): Promise<void> {
  await em.execute('update sessions set active_org_id = ? where id = ?', [orgId, sessionId]);
}

/** Ends a session (sign out). */
export async function deleteSession(em: EntityManager, sessionId: string): Promise<void> {
  await em.execute('delete from sessions where id = ?', [sessionId]);
}

/** Ends every session of a user. Returns how many ended. */
export async function deleteSessionsOfUser(em: EntityManager, userId: string): Promise<number> {
  const rows = await em.execute('delete from sessions where user_id = ? returning id', [userId]);
  return rows.length;
}

/** Removes expired sessions. Returns how many. */
export async function deleteExpiredSessions(em: EntityManager): Promise<number> {
  const rows = await em.execute('delete from sessions where expires_at <= now() returning id');
  return rows.length;
}
