import {
  exportPKCS8,
  exportSPKI,
  generateKeyPair,
  importPKCS8,
  importSPKI,
  errors as joseErrors,
  jwtVerify,
  SignJWT,
} from 'jose';
import { z } from 'zod';
import { DomainError } from './errors.js';
import { TIERS, type Tier } from './limits.js';

/**
 * Licenses are JWTs signed with Ed25519 (`alg: EdDSA`) and verified offline. The built-in
 * key below verifies licenses issued by the Tenantry vendor; `LICENSE_PUBLIC_KEY` replaces it
 * for self-issued licenses (`pnpm tenantry license keygen` / `license issue`).
 */
export const BUILT_IN_LICENSE_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAwmQblvAb1I0kOVQDn3Y9St4/zX+PHJ2R5t2dBLe4/oM=
-----END PUBLIC KEY-----
`;

const ALG = 'EdDSA';

const claimsSchema = z.object({
  features: z.array(z.string().min(1)),
  tier: z.enum(TIERS),
  maxTenants: z.number().int().positive().optional(),
  licensee: z.string().min(1),
  exp: z.number().int(),
});

export interface License {
  licensee: string;
  tier: Tier;
  features: string[];
  /** null = unlimited */
  maxTenants: number | null;
  expiresAt: Date;
}

export interface LicenseClaims {
  licensee: string;
  tier: Tier;
  features: string[];
  maxTenants?: number | null;
  expiresAt: Date;
}

/** Verifies a license key against a PEM (SPKI) public key; throws LICENSE_INVALID or LICENSE_EXPIRED. */
export async function verifyLicense(key: string, publicKeyPem: string, now: Date = new Date()): Promise<License> {
  const trimmed = key.trim();
  if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(trimmed)) {
    throw new DomainError(
      'LICENSE_INVALID',
      'The license key is malformed: paste the whole key, three parts separated by dots.',
    );
  }
  let publicKey: Awaited<ReturnType<typeof importSPKI>>;
  try {
    publicKey = await importSPKI(publicKeyPem.trim(), ALG);
  } catch {
    throw new DomainError(
      'LICENSE_INVALID',
      'The license verification key is not an Ed25519 public key in PEM (SPKI) form.',
    );
  }
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(trimmed, publicKey, { algorithms: [ALG], currentDate: now }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) {
      const exp = (error.payload as { exp?: number }).exp;
      const when = exp ? ` on ${new Date(exp * 1000).toISOString().slice(0, 10)}` : '';
      throw new DomainError(
        'LICENSE_EXPIRED',
        `The license key expired${when}: ask your license provider for a renewed key.`,
      );
    }
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
      throw new DomainError(
        'LICENSE_INVALID',
        'The license key signature does not verify: the key was altered or issued for another installation.',
      );
    }
    throw new DomainError('LICENSE_INVALID');
  }
  const claims = claimsSchema.safeParse(payload);
  if (!claims.success) {
    throw new DomainError(
      'LICENSE_INVALID',
      'The license key is signed but its claims are incomplete (features, tier, licensee, exp).',
    );
  }
  return {
    licensee: claims.data.licensee,
    tier: claims.data.tier,
    features: claims.data.features,
    maxTenants: claims.data.maxTenants ?? null,
    expiresAt: new Date(claims.data.exp * 1000),
  };
}

/** Signs a license with a PEM (PKCS#8) Ed25519 private key. */
export async function issueLicense(claims: LicenseClaims, privateKeyPem: string): Promise<string> {
  const privateKey = await importPKCS8(privateKeyPem.trim(), ALG);
  const body: Record<string, unknown> = { features: claims.features, tier: claims.tier, licensee: claims.licensee };
  if (claims.maxTenants != null) body.maxTenants = claims.maxTenants;
  return new SignJWT(body)
    .setProtectedHeader({ alg: ALG, typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(Math.floor(claims.expiresAt.getTime() / 1000))
    .sign(privateKey);
}

/** A new Ed25519 key pair as PEM strings (SPKI public, PKCS#8 private). */
export async function generateLicenseKeyPair(): Promise<{ publicKeyPem: string; privateKeyPem: string }> {
  const { publicKey, privateKey } = await generateKeyPair(ALG, { crv: 'Ed25519', extractable: true });
  return { publicKeyPem: await exportSPKI(publicKey), privateKeyPem: await exportPKCS8(privateKey) };
}

/** Whether a (verified, unexpired) license lists a feature. */
export function licenseHas(license: License | null, feature: string, now: Date = new Date()): boolean {
  return license !== null && license.expiresAt > now && license.features.includes(feature);
}
