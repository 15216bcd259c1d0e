import type { EntityManager } from '../db.js';
import type { MemberRow, MembershipRow, Role } from '../types.js';
import { MEMBERSHIP_COLUMNS, mapMember, mapMembership } from './rows.js';

// Every function takes the org id and filters by it (the ORM wall) and runs inside
// db.tenant({ orgId }) so that RLS agrees (the database wall).

/** The user's membership in the org, or null. */
export async function findMembership(em: EntityManager, orgId: string, userId: string): Promise<MembershipRow | null> {
  const [row] = await em.execute(
    `select ${MEMBERSHIP_COLUMNS} from memberships m where m.org_id = ? and m.user_id = ?`,
    [orgId, userId],
  );
  return row ? mapMembership(row) : null;
}

/** Visible members of the org (shadow memberships excluded), with email and name, oldest first. */
export async function listMembers(em: EntityManager, orgId: string): Promise<MemberRow[]> {
  const rows = await em.execute(
    `select ${MEMBERSHIP_COLUMNS}, u.email, u.name
     from memberships m join users u on u.id = m.user_id
     where m.org_id = ? and not m.is_shadow order by m.created_at, u.email`,
    [orgId],
  );
  return rows.map(mapMember);
}

/** Members counted against the member limit (shadow memberships excluded). */
export async function countActiveMembers(em: EntityManager, orgId: string): Promise<number> {
  const [row] = await em.execute<{ n: number }[]>(
    'select count(*)::int as n from memberships where org_id = ? and not is_shadow',
    [orgId],
  );
  return row?.n ?? 0;
}

/** Owners of the org (an org keeps at least one). */
export async function countOwners(em: EntityManager, orgId: string): Promise<number> {
  const [row] = await em.execute<{ n: number }[]>(
    `select count(*)::int as n from memberships where org_id = ? and role = 'owner' and not is_shadow`,
    [orgId],
  );
  return row?.n ?? 0;
}

/** Fields of a new membership. */
export interface AddMembershipInput {
  orgId: string;
  userId: string;
  role: Role;
  isShadow?: boolean;
  addedById?: string | null;
}

/** Adds a member. An existing membership raises a unique violation (`memberships_pkey`). */
export async function addMembership(em: EntityManager, input: AddMembershipInput): Promise<MembershipRow> {
  const [row] = await em.execute(
    `insert into memberships as m (org_id, user_id, role, is_shadow, added_by_id)
     values (?, ?, ?, ?, ?) returning ${MEMBERSHIP_COLUMNS}`,
    [input.orgId, input.userId, input.role, input.isShadow ?? false, input.addedById ?? null],
  );
  if (!row) throw new Error('insert into memberships returned no row');
  return mapMembership(row);
}

/** Changes a member's role (shadow memberships stay shadow). Returns null if not a member. */
export async function updateMembershipRole(
  em: EntityManager,
  orgId: string,
  userId: string,
  role: Role,
): Promise<MembershipRow | null> {
  const [row] = await em.execute(
    `update memberships m set role = ? where m.org_id = ? and m.user_id = ?
     returning ${MEMBERSHIP_COLUMNS}`,
    [role, orgId, userId],
  );
  return row ? mapMembership(row) : null;
}

/** Removes a member. Returns whether a membership was removed. */
export async function removeMembership(em: EntityManager, orgId: string, userId: string): Promise<boolean> {
  const rows = await em.execute('delete from memberships where org_id = ? and user_id = ? returning user_id', [
    orgId,
    userId,
  ]);
  return rows.length > 0;
}
