import type { EntityManager } from '../db.js';
import type { ApiTokenBindingRow, ApiTokenRow, MembershipRow, OrgRow, Role, UserRow } from '../types.js';
import { mapUser, userColumns } from './rows.js';
import { inOrgScope } from './scope.js';

// api_tokens is global (owned by a user, like sessions); api_token_orgs is a tenant table whose
// rows a user may also read (and delete) for themselves in any org, through `app.user_id`.

const TOKEN_COLUMNS = `t.id, t.user_id as "userId", t.name, t.token_hash as "tokenHash",
  t.created_at as "createdAt", t.expires_at as "expiresAt", t.last_used_at as "lastUsedAt",
  t.revoked_at as "revokedAt"`;

type Raw = Record<string, unknown>;
const date = (v: unknown) => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(v as string));

function mapToken(r: Raw): ApiTokenRow {
  return {
    id: r.id as string,
    userId: r.userId as string,
    name: r.name as string,
    tokenHash: r.tokenHash as string,
    createdAt: date(r.createdAt)!,
    expiresAt: date(r.expiresAt),
    lastUsedAt: date(r.lastUsedAt),
    revokedAt: date(r.revokedAt),
  };
}

function mapBinding(r: Raw): ApiTokenBindingRow {
  return {
    orgId: r.orgId as string,
    tokenId: r.tokenId as string,
    userId: r.userId as string,
    role: r.role as Role,
    createdAt: date(r.createdAt)!,
  };
}

/** Fields of a new token and the orgs it reaches. */
export interface CreateApiTokenInput {
  id: string;
  userId: string;
  name: string;
  tokenHash: string;
  expiresAt?: Date | null;
  bindings: { orgId: string; role: Role }[];
}

/**
 * Inserts a token and its bindings, each written in its org's scope so RLS checks it like any
 * tenant write. Runs inside the caller's transaction (the caller's org scope is restored).
 */
export async function createApiToken(em: EntityManager, input: CreateApiTokenInput): Promise<ApiTokenRow> {
  const run = async (tx: EntityManager): Promise<ApiTokenRow> => {
    const [row] = await tx.execute(
      `insert into api_tokens as t (id, user_id, name, token_hash, expires_at) values (?, ?, ?, ?, ?)
       returning ${TOKEN_COLUMNS}`,
      [input.id, input.userId, input.name, input.tokenHash, input.expiresAt ?? null],
    );
    if (!row) throw new Error('insert into api_tokens returned no row');
    for (const binding of input.bindings) {
      await inOrgScope(tx, binding.orgId, () =>
        tx.execute('insert into api_token_orgs (org_id, token_id, user_id, role) values (?, ?, ?, ?)', [
          binding.orgId,
          input.id,
          input.userId,
          binding.role,
        ]),
      );
    }
    return mapToken(row);
  };
  return em.isInTransaction() ? run(em) : em.transactional(run);
}

/** A live token (not revoked, not expired) with its user, by the hash of its secret. */
export async function findLiveApiTokenByHash(
  em: EntityManager,
  tokenHash: string,
): Promise<{ token: ApiTokenRow; user: UserRow } | null> {
  const [row] = await em.execute(
    `select ${TOKEN_COLUMNS}, ${userColumns('u', 'user.')}
     from api_tokens t join users u on u.id = t.user_id
     where t.token_hash = ? and t.revoked_at is null and (t.expires_at is null or t.expires_at > now())`,
    [tokenHash],
  );
  return row ? { token: mapToken(row), user: mapUser(row, 'user.') } : null;
}

/**
 * The token's binding to the org, or null. Readable in the org's scope, or in any scope whose
 * `app.user_id` is the token's owner.
 */
export async function findApiTokenBinding(
  em: EntityManager,
  orgId: string,
  tokenId: string,
): Promise<ApiTokenBindingRow | null> {
  const [row] = await em.execute(
    `select org_id as "orgId", token_id as "tokenId", user_id as "userId", role, created_at as "createdAt"
     from api_token_orgs where org_id = ? and token_id = ?`,
    [orgId, tokenId],
  );
  return row ? mapBinding(row) : null;
}

/** A token of the user with the orgs it reaches (slug and name for display). */
export interface ApiTokenListRow extends ApiTokenRow {
  orgs: { orgId: string; slug: string; name: string; role: Role }[];
}

/** The user's tokens, newest first, each with its bindings. Run with `app.user_id` = the user. */
export async function listApiTokensOfUser(em: EntityManager, userId: string): Promise<ApiTokenListRow[]> {
  const tokens = (
    await em.execute(`select ${TOKEN_COLUMNS} from api_tokens t where t.user_id = ? order by t.created_at desc`, [
      userId,
    ])
  ).map(mapToken);
  if (tokens.length === 0) return [];
  const bindings = await em.execute<{ tokenId: string; orgId: string; slug: string; name: string; role: Role }[]>(
    `select b.token_id as "tokenId", b.org_id as "orgId", o.slug, o.name, b.role
     from api_token_orgs b join organizations o on o.id = b.org_id
     where b.user_id = ? order by o.name, o.slug`,
    [userId],
  );
  return tokens.map((t) => ({
    ...t,
    orgs: bindings
      .filter((b) => b.tokenId === t.id)
      .map((b) => ({ orgId: b.orgId, slug: b.slug, name: b.name, role: b.role })),
  }));
}

/** Revokes the user's token (it stops working at once). False if the user has no such live token. */
export async function revokeApiToken(em: EntityManager, userId: string, tokenId: string): Promise<boolean> {
  const rows = await em.execute(
    'update api_tokens set revoked_at = now() where id = ? and user_id = ? and revoked_at is null returning id',
    [tokenId, userId],
  );
  return rows.length > 0;
}

/** Records a use of the token, at most once per `everyMs` (default a minute). */
export async function touchApiToken(em: EntityManager, tokenId: string, everyMs = 60_000): Promise<void> {
  await em.execute(
    `update api_tokens set last_used_at = now()
     where id = ? and (last_used_at is null or last_used_at < now() - (? * interval '1 millisecond'))`,
    [tokenId, everyMs],
  );
}

/**
 * The orgs a token is bound to. Readable in any scope whose `app.user_id` is the token's owner
 * (a bound token lists only these among its owner's orgs).
 */
export async function listApiTokenOrgIds(em: EntityManager, tokenId: string): Promise<string[]> {
  const rows = await em.execute<{ orgId: string }[]>(
    'select org_id as "orgId" from api_token_orgs where token_id = ? order by org_id',
    [tokenId],
  );
  return rows.map((r) => r.orgId);
}

/** What the access checks of a token's request need of its org. */
export type TokenAccessOrg = Pick<OrgRow, 'id' | 'status' | 'tier' | 'maxRequestsPerMinute' | 'featureOverrides'>;

/** What one statement tells about a bearer API token in one org (see `tokenAccessStatement`). */
export interface TokenAccessRow {
  tokenId: string;
  userId: string;
  lastUsedAt: Date | null;
  /** Null when no org has that id. */
  org: TokenAccessOrg | null;
  /** The owner's role there, or null when they are not a member. */
  memberRole: MembershipRow['role'] | null;
  /** The token's binding role there, or null when it is not bound to the org. */
  bindingRole: MembershipRow['role'] | null;
}

const LIVE_TOKEN = 't.token_hash = ? and t.revoked_at is null and (t.expires_at is null or t.expires_at > now())';

/**
 * One statement answering, for a live token (by hash) and an org id, the token, what the
 * checks need of the org, the owner's role there and the token's binding — no row when the
 * token is unknown, revoked or expired. Runs in the org's scope (memberships and bindings are
 * tenant rows).
 */
export function tokenAccessStatement(tokenHash: string, orgId: string): { sql: string; params: unknown[] } {
  return {
    // It also records, for the rest of the transaction, whether the token stands in the org
    // (`app.caller_ok`): a statement after it can refuse to return rows otherwise.
    sql: `select set_config('app.caller_ok', case when m.role is not null and b.role is not null then 'yes' else 'no' end, true) as "callerOk",
        t.id as "tokenId", t.user_id as "tokenUserId", t.last_used_at as "tokenLastUsedAt",
        b.role as "bindingRole", m.role as "memberRole", o.id as "orgId", o.status as "orgStatus",
        o.tier as "orgTier", o.max_requests_per_minute as "orgMaxRequestsPerMinute",
        o.feature_overrides as "orgFeatureOverrides"
      from api_tokens t
      left join organizations o on o.id = ?::uuid
      left join memberships m on m.org_id = o.id and m.user_id = t.user_id
      left join api_token_orgs b on b.org_id = o.id and b.token_id = t.id
      where ${LIVE_TOKEN}`,
    params: [orgId, tokenHash],
  };
}

/**
 * The token alone, for a live token (by hash): what a request authenticated by it but checked
 * for no org would read (the benchmarks' reference without tenancy checks).
 */
export function tokenAuthStatement(tokenHash: string): { sql: string; params: unknown[] } {
  return {
    sql: `select t.id as "tokenId", t.user_id as "tokenUserId", t.last_used_at as "tokenLastUsedAt"
      from api_tokens t where ${LIVE_TOKEN}`,
    params: [tokenHash],
  };
}

export function mapTokenAccess(r: Raw): TokenAccessRow {
  return {
    tokenId: r.tokenId as string,
    userId: r.tokenUserId as string,
    lastUsedAt: r.tokenLastUsedAt ? new Date(r.tokenLastUsedAt as string) : null,
    org: r.orgId
      ? {
          id: r.orgId as string,
          status: r.orgStatus as OrgRow['status'],
          tier: r.orgTier as OrgRow['tier'],
          maxRequestsPerMinute: (r.orgMaxRequestsPerMinute as number | null) ?? null,
          featureOverrides: (r.orgFeatureOverrides as OrgRow['featureOverrides']) ?? {},
        }
      : null,
    memberRole: r.orgId ? ((r.memberRole as MembershipRow['role'] | null) ?? null) : null,
    bindingRole: (r.bindingRole as MembershipRow['role'] | null) ?? null,
  };
}
