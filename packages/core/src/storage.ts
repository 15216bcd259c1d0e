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
