import { DomainError } from './errors.js';
import {
  COMMUNITY_MODULES,
  type FeatureOverrides,
  invalidOverrides,
  MODULES,
  type Module,
  resolveModules,
} from './modules.js';
import type { OrgStatus } from './tenancy.js';

/**
 * Per-tenant features (SPEC §6, the tenant admin guide): the license bounds what an org can
 * have, a platform admin narrows it per org, and an org that does not serve (suspended,
 * being deleted) shows no module at all.
 */

/** One module as the admin's Features… dialog shows it. */
export interface ModuleSetting {
  module: Module;
  /** Community, or listed by the license: it can be turned on. */
  available: boolean;
  /** Enabled for the org now. */
  enabled: boolean;
}

/** Every module with whether the license allows it and whether the org has it. */
export function moduleSettings(licensedFeatures: readonly string[], overrides: FeatureOverrides = {}): ModuleSetting[] {
  const enabled = new Set(resolveModules(licensedFeatures, overrides));
  return MODULES.map((module) => ({
    module,
    available: COMMUNITY_MODULES.includes(module) || licensedFeatures.includes(module),
    enabled: enabled.has(module),
  }));
}

/**
 * The overrides to store for a requested feature set (`{ alerts: false }`): modules turned
 * off are kept, modules turned on fall back to the license (no stored entry), and turning on
 * a module the license lacks is refused with FEATURE_NOT_LICENSED.
 */
export function overridesToStore(licensedFeatures: readonly string[], requested: FeatureOverrides): FeatureOverrides {
  const refused = invalidOverrides(licensedFeatures, requested);
  if (refused.length > 0) {
    throw new DomainError(
      'FEATURE_NOT_LICENSED',
      `The license does not include ${refused.join(', ')}, so it cannot be turned on for an organization: extend the license first.`,
      { modules: refused },
    );
  }
  const stored: FeatureOverrides = {};
  for (const module of MODULES) if (requested[module] === false) stored[module] = false;
  return stored;
}

/**
 * The modules an org shows: none while it does not serve its data (suspended, pending or
 * undergoing deletion), else the licensed ones minus its overrides.
 */
export function visibleModules(
  status: OrgStatus,
  licensedFeatures: readonly string[],
  overrides: FeatureOverrides = {},
): Module[] {
  if (status !== 'active') return [];
  return resolveModules(licensedFeatures, overrides);
}
