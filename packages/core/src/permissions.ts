/**
 * Permissions as data: a statement map of resources and their actions, a role → grants
 * table, and one `can()`. No other code compares role names.
 */
export const STATEMENTS = {
  org: ['read', 'update', 'delete', 'transfer'],
  members: ['read', 'add', 'update', 'remove'],
  invitations: ['read', 'create', 'revoke'],
  shares: ['read', 'create', 'remove'],
  resources: ['read', 'write'],
  agents: ['read', 'register', 'remove'],
  alerts: ['read', 'write'],
  audit: ['read'],
  tokens: ['create'],
  usage: ['read'],
} as const;

type Statements = typeof STATEMENTS;
export type Resource = keyof Statements;
export type Permission = { [R in Resource]: `${R}.${Statements[R][number]}` }[Resource];

export const ORG_ROLES = ['owner', 'admin', 'editor', 'viewer'] as const;
export type OrgRole = (typeof ORG_ROLES)[number];

export const PLATFORM_ROLES = ['superadmin', 'user'] as const;
export type PlatformRole = (typeof PLATFORM_ROLES)[number];

const ALL = (Object.keys(STATEMENTS) as Resource[]).flatMap((r) => STATEMENTS[r].map((a) => `${r}.${a}` as Permission));

const READS: Permission[] = [
  'org.read',
  'members.read',
  'shares.read',
  'resources.read',
  'agents.read',
  'alerts.read',
  'tokens.create',
];

const GRANTS: Record<OrgRole, ReadonlySet<Permission>> = {
  owner: new Set(ALL),
  admin: new Set(ALL.filter((p) => p !== 'org.delete' && p !== 'org.transfer')),
  editor: new Set<Permission>([...READS, 'resources.write', 'alerts.write']),
  viewer: new Set<Permission>(READS),
};

/** Whether an org role holds a permission. */
export function can(role: OrgRole, permission: Permission): boolean {
  return GRANTS[role].has(permission);
}

/** Every permission of a role, for clients that hide what a role cannot do. */
export function permissionsOf(role: OrgRole): Permission[] {
  return ALL.filter((p) => GRANTS[role].has(p));
}

const RANK: Record<OrgRole, number> = { viewer: 0, editor: 1, admin: 2, owner: 3 };

/** Whether `role` is at least as strong as `minimum`. */
export function roleAtLeast(role: OrgRole, minimum: OrgRole): boolean {
  return RANK[role] >= RANK[minimum];
}

/** The weaker of two roles. */
export function minRole(a: OrgRole, b: OrgRole): OrgRole {
  return RANK[a] <= RANK[b] ? a : b;
}

export const PLATFORM_PERMISSIONS = ['tenants.manage', 'license.manage', 'jobs.view'] as const;
export type PlatformPermission = (typeof PLATFORM_PERMISSIONS)[number];

/** Platform-level permissions belong to superadmins only; org roles never grant them. */
export function canPlatform(role: PlatformRole, _permission: PlatformPermission): boolean {
  return role === 'superadmin';
}
