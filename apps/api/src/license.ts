import { BUILT_IN_LICENSE_PUBLIC_KEY, isDomainError, type License, licenseHas, verifyLicense } from '@tenantry/core';
import {
  type Db,
  type EntityManager,
  getPlatformSetting,
  PLATFORM_SETTING_KEYS,
  setPlatformSetting,
} from '@tenantry/db';

/** Where the effective license key came from. */
export type LicenseSource = 'activated' | 'env';

/** The platform's license as the API reports it (`GET /api/admin/license`). */
export interface LicenseState {
  status: 'none' | 'valid' | 'expired' | 'invalid';
  license: (License & { source: LicenseSource }) | null;
  /** Why the key is expired or invalid, in words a person can act on. */
  message?: string;
}

/** What `platform_settings.license_key` holds. */
interface StoredLicense {
  key: string;
  activatedAt: string;
  activatedById: string | null;
}

export interface LicenseServiceOptions {
  db: Db;
  /** `LICENSE_KEY`: used when no key was activated in the app. */
  envKey?: string | undefined;
  /** `LICENSE_PUBLIC_KEY`: replaces the built-in verification key. */
  publicKeyPem?: string | undefined;
  /** How long a read of the stored key is trusted; several API processes share the DB. */
  ttlMs?: number;
  now?: () => Date;
}

/**
 * The effective license: the key activated in the app (stored in `platform_settings`), else
 * `LICENSE_KEY`. Cached in memory and re-read at most every `ttlMs` (10 s), and at once after
 * an activation through this process.
 */
export class LicenseService {
  private readonly db: Db;
  private readonly envKey: string | undefined;
  private readonly publicKeyPem: string;
  private readonly ttlMs: number;
  private readonly now: () => Date;
  private cache: { key: string | null; source: LicenseSource | null; state: LicenseState; readAt: number } | null =
    null;
  private inflight: Promise<LicenseState> | null = null;

  constructor(opts: LicenseServiceOptions) {
    this.db = opts.db;
    this.envKey = opts.envKey;
    this.publicKeyPem = opts.publicKeyPem ?? BUILT_IN_LICENSE_PUBLIC_KEY;
    this.ttlMs = opts.ttlMs ?? 10_000;
    this.now = opts.now ?? (() => new Date());
  }

  /**
   * The current state. Pass `em` when already inside a unit of work: embedded PGlite has one
   * connection, so opening a second unit from inside the first would wait forever.
   */
  async state(em?: EntityManager): Promise<LicenseState> {
    const cached = this.cache;
    if (cached && this.now().getTime() - cached.readAt < this.ttlMs) return this.withExpiry(cached.state);
    if (em) return this.refresh(em);
    this.inflight ??= this.refresh().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /** Whether a valid, unexpired license lists `multi_tenant`. */
  async isLicensed(em?: EntityManager): Promise<boolean> {
    const state = await this.state(em);
    return licenseHas(state.license, 'multi_tenant', this.now());
  }

  /** Features the license lists (empty without a valid license). */
  async features(em?: EntityManager): Promise<string[]> {
    const state = await this.state(em);
    return state.status === 'valid' && state.license ? state.license.features : [];
  }

  /**
   * Verifies and stores a key; throws LICENSE_INVALID or LICENSE_EXPIRED (core's messages)
   * and stores nothing when it does not verify.
   */
  async activate(key: string, activatedById: string | null, em?: EntityManager): Promise<LicenseState> {
    const trimmed = key.trim();
    await verifyLicense(trimmed, this.publicKeyPem, this.now());
    const value: StoredLicense = { key: trimmed, activatedAt: this.now().toISOString(), activatedById };
    const store = (tx: EntityManager) => setPlatformSetting(tx, PLATFORM_SETTING_KEYS.licenseKey, value);
    if (em) await store(em);
    else await this.db.platform({ userId: activatedById }, store);
    this.cache = null;
    const state = await this.evaluate(trimmed, 'activated');
    this.cache = { key: trimmed, source: 'activated', state, readAt: this.now().getTime() };
    return state;
  }

  private async refresh(em?: EntityManager): Promise<LicenseState> {
    const read = (tx: EntityManager) => getPlatformSetting<StoredLicense>(tx, PLATFORM_SETTING_KEYS.licenseKey);
    const stored = em ? await read(em) : await this.db.platform({}, read);
    const key = stored?.key ?? this.envKey ?? null;
    const source: LicenseSource | null = stored?.key ? 'activated' : this.envKey ? 'env' : null;
    const cached = this.cache;
    let state: LicenseState;
    if (cached && cached.key === key && cached.source === source) state = cached.state;
    else state = key && source ? await this.evaluate(key, source) : { status: 'none', license: null };
    this.cache = { key, source, state, readAt: this.now().getTime() };
    return this.withExpiry(state);
  }

  private async evaluate(key: string, source: LicenseSource): Promise<LicenseState> {
    try {
      const license = await verifyLicense(key, this.publicKeyPem, this.now());
      return { status: 'valid', license: { ...license, source } };
    } catch (error) {
      if (isDomainError(error)) {
        return {
          status: error.code === 'LICENSE_EXPIRED' ? 'expired' : 'invalid',
          license: null,
          message: error.message,
        };
      }
      throw error;
    }
  }

  /** A cached valid license may have expired since it was verified. */
  private withExpiry(state: LicenseState): LicenseState {
    if (state.status === 'valid' && state.license && state.license.expiresAt <= this.now()) {
      const day = state.license.expiresAt.toISOString().slice(0, 10);
      return {
        status: 'expired',
        license: state.license,
        message: `The license key expired on ${day}: ask your license provider for a renewed key.`,
      };
    }
    return state;
  }
}
