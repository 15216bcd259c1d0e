/**
 * Where an org's stored files live: `DATA_DIR/files/<orgId>/…`, one directory per org, so a
 * deletion sweeps exactly one directory and no file of one org sits under another's.
 */
export const ORG_FILES_DIR = 'files';

/** The path of an org's directory (or of a file in it) under `dataDir`; `orgId` must be a UUID. */
export function orgFilesPath(dataDir: string, orgId: string, ...parts: string[]): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(orgId)) {
    throw new TypeError(`orgId must be a UUID, got ${JSON.stringify(orgId)}`);
  }
  for (const part of parts) {
    if (!/^[\w.-]+$/.test(part) || part === '.' || part === '..') throw new TypeError(`bad file name ${part}`);
  }
  return [dataDir.replace(/\/+$/, ''), ORG_FILES_DIR, orgId.toLowerCase(), ...parts].join('/');
}

/** Image types accepted as an org logo, and the most bytes one may have. */
export const LOGO_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;
export type LogoType = (typeof LOGO_TYPES)[number];
export const LOGO_MAX_BYTES = 256 * 1024;

/** The image type of `bytes` by its signature (never by a name or a claimed type), or null. */
export function sniffLogoType(bytes: Uint8Array): LogoType | null {
  const starts = (sig: number[], at = 0) => sig.every((b, i) => bytes[at + i] === b);
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (starts([0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (starts([0x47, 0x49, 0x46, 0x38]) && (bytes[4] === 0x37 || bytes[4] === 0x39) && bytes[5] === 0x61) {
    return 'image/gif';
  }
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return 'image/webp';
  return null;
}
