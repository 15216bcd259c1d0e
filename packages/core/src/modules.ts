/** Modules an org can use, and the platform feature that unlocks multi-tenancy (SPEC §6). */
export const MODULES = ['agents', 'alerts', 'audit', 'api_tokens', 'sharing'] as const;
export type Module = (typeof MODULES)[number];

/** Available without a license. */
export const COMMUNITY_MODULES: readonly Module[] = ['agents', 'alerts', 'audit', 'api_tokens'];

export const PLATFORM_FEATURES = ['multi_tenant'] as const;
export type PlatformFeature = (typeof PLATFORM_FEATURES)[number];

export type FeatureOverrides = Partial<Record<Module, boolean>>;

/**
 * An org's enabled modules: the community ones plus those the license lists, minus the
 * org's overrides. An override cannot turn on a module the license lacks.
 */
export function resolveModules(licensedFeatures: readonly string[], overrides: FeatureOverrides = {}): Module[] {
  const available = new Set<Module>([...COMMUNITY_MODULES, ...MODULES.filter((m) => licensedFeatures.includes(m))]);
  return MODULES.filter((m) => available.has(m) && overrides[m] !== false);
}

/** Which overrides are allowed: a module outside the license can only be turned off. */
export function invalidOverrides(licensedFeatures: readonly string[], overrides: FeatureOverrides): Module[] {
  const available = new Set<Module>([...COMMUNITY_MODULES, ...MODULES.filter((m) => licensedFeatures.includes(m))]);
  return (Object.keys(overrides) as Module[]).filter((m) => overrides[m] === true && !available.has(m));
}
