import { type ApiEnv, loadApiEnv } from '../../apps/api/src/env.js';
import { CommandError } from './cli-kit.js';

/**
 * The CLI works on the same install as the API, so it reads the same configuration
 * (DATABASE_URL, DATABASE_MIGRATION_URL, DATA_DIR, LICENSE_KEY, LICENSE_PUBLIC_KEY, …)
 * through the API's loader, once.
 */
export function loadCliEnv(): ApiEnv {
  try {
    return loadApiEnv(process.env);
  } catch (error) {
    throw new CommandError((error as Error).message);
  }
}
