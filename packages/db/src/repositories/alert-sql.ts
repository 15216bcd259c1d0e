// Shared by the alert repositories. Lists of values travel as one JSON parameter: MikroORM
// inlines parameters and would expand a JS array.

export type Raw = Record<string, unknown>;

export const date = (v: unknown): Date => (v instanceof Date ? v : new Date(v as string));
export const dateOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : date(v));
// JSON values are selected as text and parsed here: drivers differ in what they parse themselves.
export const json = <T>(v: unknown): T => JSON.parse(v as string) as T;

/** A uuid[] / text[] value from a JSON-array parameter (each element cast once). */
export const ARRAY_OF = (type: 'uuid' | 'text') =>
  `array(select v::${type} from jsonb_array_elements_text(?::jsonb) v)`;
/** The uuids of a JSON-array parameter as a set to filter with (`id in …`: a hashed semi-join, not a scan per row). */
export const UUID_SET = '(select v::uuid from jsonb_array_elements_text(?::jsonb) v)';
