import { createRequire } from 'node:module';

// Accounts made here must sign in through the API, so hashes come from the library the API
// uses (@node-rs/argon2, argon2id, its default parameters, as in auth.signup), loaded from
// the API package because the repository root has no dependencies of its own.
const requireFromApi = createRequire(new URL('../../apps/api/package.json', import.meta.url));
const argon2 = requireFromApi('@node-rs/argon2') as { hash(password: string): Promise<string> };

/** An argon2id hash of `password`, as the API stores it. */
export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password);
}
