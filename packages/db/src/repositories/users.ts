import { randomUUID } from 'node:crypto';
import type { EntityManager } from '../db.js';
import type { UserRow } from '../types.js';
import { mapUser, userColumns } from './rows.js';

// Taken only while the users table is empty, so that exactly one of several concurrent
// first sign-ups becomes superadmin.
const FIRST_USER_LOCK_KEY = 7_261_002;

/** Emails are compared and stored trimmed and lowercased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** The user with this email (case-insensitive), or null. */
export async function findUserByEmail(em: EntityManager, email: string): Promise<UserRow | null> {
  const [row] = await em.execute(`select ${userColumns()} from users where email = ?`, [normalizeEmail(email)]);
  return row ? mapUser(row) : null;
}

/** The user with this id, or null. */
export async function findUserById(em: EntityManager, id: string): Promise<UserRow | null> {
  const [row] = await em.execute(`select ${userColumns()} from users where id = ?`, [id]);
  return row ? mapUser(row) : null;
}

/** Number of users of the install. */
export async function countUsers(em: EntityManager): Promise<number> {
  const [row] = await em.execute<{ n: number }[]>('select count(*)::int as n from users');
  return row?.n ?? 0;
}

/** Fields of a new user. */
export interface CreateUserInput {
  email: string;
  name: string;
  passwordHash: string;
  defaultOrgId?: string | null;
}

/**
 * Inserts a user. The first user of an install becomes `superadmin`, race-free: while the
 * table is empty, inserts serialise on a transaction-scoped advisory lock and re-check.
 * A taken email raises a unique violation (`isUniqueViolation(err, 'users_email_unique')`).
 */
export async function createUser(em: EntityManager, input: CreateUserInput): Promise<UserRow> {
  const run = async (tx: EntityManager): Promise<UserRow> => {
    const [state] = await tx.execute<{ any: boolean }[]>('select exists (select 1 from users) as "any"');
    if (!state?.any) {
      // A new statement after the lock sees every user committed before it was granted.
      await tx.execute('select pg_advisory_xact_lock(?)', [FIRST_USER_LOCK_KEY]);
    }
    const [row] = await tx.execute(
      `insert into users (id, email, name, password_hash, platform_role, default_org_id)
       select ?, ?, ?, ?, case when exists (select 1 from users) then 'user' else 'superadmin' end, ?
       returning ${userColumns()}`,
      [randomUUID(), normalizeEmail(input.email), input.name, input.passwordHash, input.defaultOrgId ?? null],
    );
    if (!row) throw new Error('insert into users returned no row');
    return mapUser(row);
  };
  return em.isInTransaction() ? run(em) : em.transactional(run);
}

/** Sets the org a user lands in after signing in (null: fall back to `default`). */
export async function setUserDefaultOrg(em: EntityManager, userId: string, orgId: string | null): Promise<void> {
  await em.execute('update users set default_org_id = ?, updated_at = now() where id = ?', [orgId, userId]);
}
