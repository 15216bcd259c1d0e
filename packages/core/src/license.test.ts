import { beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from './errors.js';
import { generateLicenseKeyPair, issueLicense, licenseHas, verifyLicense } from './license.js';

let keys: { publicKeyPem: string; privateKeyPem: string };
let otherKeys: { publicKeyPem: string; privateKeyPem: string };
const inAYear = new Date(Date.now() + 365 * 86_400_000);

beforeAll(async () => {
  keys = await generateLicenseKeyPair();
  otherKeys = await generateLicenseKeyPair();
});

async function refusal(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('license keys', () => {
  it('round-trips claims through issue and verify', async () => {
    const key = await issueLicense(
      {
        licensee: 'Acme MSP',
        tier: 'enterprise',
        features: ['multi_tenant', 'sharing'],
        maxTenants: 25,
        expiresAt: inAYear,
      },
      keys.privateKeyPem,
    );
    expect(key.split('.')).toHaveLength(3);
    const license = await verifyLicense(key, keys.publicKeyPem);
    expect(license).toMatchObject({
      licensee: 'Acme MSP',
      tier: 'enterprise',
      features: ['multi_tenant', 'sharing'],
      maxTenants: 25,
    });
    expect(Math.abs(license.expiresAt.getTime() - inAYear.getTime())).toBeLessThan(1000);
    expect(licenseHas(license, 'multi_tenant')).toBe(true);
    expect(licenseHas(license, 'alerts')).toBe(false);
  });

  it('treats an absent maxTenants as unlimited', async () => {
    const key = await issueLicense(
      { licensee: 'L', tier: 'pro', features: [], expiresAt: inAYear },
      keys.privateKeyPem,
    );
    expect((await verifyLicense(key, keys.publicKeyPem)).maxTenants).toBeNull();
  });

  it('refuses an expired key and says when it expired', async () => {
    const key = await issueLicense(
      { licensee: 'L', tier: 'pro', features: ['multi_tenant'], expiresAt: new Date('2020-01-02T00:00:00Z') },
      keys.privateKeyPem,
    );
    const error = await refusal(verifyLicense(key, keys.publicKeyPem));
    expect(error.code).toBe('LICENSE_EXPIRED');
    expect(error.message).toContain('2020-01-02');
  });

  it('refuses a tampered key', async () => {
    const key = await issueLicense(
      { licensee: 'L', tier: 'free', features: [], expiresAt: inAYear },
      keys.privateKeyPem,
    );
    const [header, , signature] = key.split('.');
    const forged = Buffer.from(
      JSON.stringify({ licensee: 'L', tier: 'enterprise', features: ['multi_tenant'], exp: 4102444800 }),
    ).toString('base64url');
    const error = await refusal(verifyLicense(`${header}.${forged}.${signature}`, keys.publicKeyPem));
    expect(error.code).toBe('LICENSE_INVALID');
    expect(error.message).toMatch(/signature/);
  });

  it('refuses a key signed by another private key', async () => {
    const key = await issueLicense(
      { licensee: 'L', tier: 'free', features: [], expiresAt: inAYear },
      otherKeys.privateKeyPem,
    );
    expect((await refusal(verifyLicense(key, keys.publicKeyPem))).code).toBe('LICENSE_INVALID');
  });

  it('refuses garbage and explains', async () => {
    const error = await refusal(verifyLicense('not a key', keys.publicKeyPem));
    expect(error.code).toBe('LICENSE_INVALID');
    expect(error.message).toMatch(/malformed/);
  });

  it('refuses a key with incomplete claims', async () => {
    const key = await issueLicense(
      { licensee: 'L', tier: 'free', features: [], expiresAt: inAYear },
      keys.privateKeyPem,
    );
    // a key whose claims omit tier: sign by hand with the same key
    const { SignJWT, importPKCS8 } = await import('jose');
    const bad = await new SignJWT({ licensee: 'L', features: [] })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setExpirationTime(Math.floor(inAYear.getTime() / 1000))
      .sign(await importPKCS8(keys.privateKeyPem, 'EdDSA'));
    expect(key).not.toBe(bad);
    expect((await refusal(verifyLicense(bad, keys.publicKeyPem))).code).toBe('LICENSE_INVALID');
  });

  it('is not licensed once expired, even when verified earlier', () => {
    const license = {
      licensee: 'L',
      tier: 'pro' as const,
      features: ['multi_tenant'],
      maxTenants: null,
      expiresAt: new Date(Date.now() - 1),
    };
    expect(licenseHas(license, 'multi_tenant')).toBe(false);
    expect(licenseHas(null, 'multi_tenant')).toBe(false);
  });
});
