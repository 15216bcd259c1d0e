import { readFileSync } from 'node:fs';

/** The API package's version, reported by `system.config`. */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
