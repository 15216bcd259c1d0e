import type { EntityManager } from '../db.js';

/** Well-known keys of `platform_settings`. */
export const PLATFORM_SETTING_KEYS = { licenseKey: 'license_key' } as const;

/** The JSON value stored under `key`, or null. */
export async function getPlatformSetting<T = unknown>(em: EntityManager, key: string): Promise<T | null> {
  const [row] = await em.execute<{ value: T }[]>('select value from platform_settings where key = ?', [key]);
  return row ? row.value : null;
}

/** Stores a JSON value under `key`, replacing any previous one. */
export async function setPlatformSetting(em: EntityManager, key: string, value: unknown): Promise<void> {
  await em.execute(
    `insert into platform_settings (key, value, updated_at) values (?, ?::jsonb, now())
     on conflict (key) do update set value = excluded.value, updated_at = now()`,
    [key, JSON.stringify(value)],
  );
}
