import { fileURLToPath } from 'node:url';
import { parseDuration } from '@tenantry/core';
import { z } from 'zod';

const DEFAULT_WEB_DIST = fileURLToPath(new URL('../../web/dist', import.meta.url));

const bool = z
  .enum(['true', 'false', '1', '0', 'TRUE', 'FALSE', 'True', 'False'], {
    error: 'expected true, false, 1 or 0',
  })
  .transform((v) => v === '1' || v.toLowerCase() === 'true');

const duration = z.string().transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === null || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as 30d, 12h or 3600 (seconds)' });
    return z.NEVER;
  }
  return ms;
});

/** A duration that may be zero (`0` = none). */
const durationOrZero = z.string().transform((value, ctx) => {
  const ms = value.trim() === '0' ? 0 : parseDuration(value);
  if (ms === null || ms < 0) {
    ctx.addIssue({ code: 'custom', message: 'expected 0 or a duration such as 7d, 12h or 3600 (seconds)' });
    return z.NEVER;
  }
  return ms;
});

const optional = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const url = (protocols: RegExp, hint: string) =>
  z.string().refine((v) => {
    try {
      return protocols.test(new URL(v).protocol);
    } catch {
      return false;
    }
  }, hint);

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  PUBLIC_URL: url(/^https?:$/, 'expected an http(s) URL such as https://tenantry.example.com').optional(),
  DATABASE_URL: optional.pipe(url(/^postgres(ql)?:$/, 'expected a postgres:// URL').optional()),
  DATABASE_MIGRATION_URL: optional.pipe(url(/^postgres(ql)?:$/, 'expected a postgres:// URL').optional()),
  DATA_DIR: z.string().min(1).default('./.data'),
  REDIS_URL: url(/^rediss?:$/, 'expected a redis:// URL').default('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[\w.-]{1,64}$/, 'expected 1–64 letters, digits, dots, dashes or underscores')
    .default('bull'),
  MULTI_TENANT_ENABLED: bool.default(false),
  LICENSE_KEY: optional,
  LICENSE_PUBLIC_KEY: optional.transform((v) => v?.replace(/\\n/g, '\n')),
  SIGNUP_MODE: z.enum(['open', 'invite']).default('open'),
  ORG_CREATION: z.enum(['any', 'superadmin']).default('any'),
  SESSION_TTL: duration.default(30 * 86_400_000),
  INVITATION_TTL: duration.default(7 * 86_400_000),
  DELETION_GRACE: durationOrZero.default(0),
  /** An agent silent for longer is shown offline. */
  AGENT_OFFLINE_AFTER: duration.default(2 * 60_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  WEB_DIST: z.string().min(1).default(DEFAULT_WEB_DIST),
  NODE_ENV: z.string().optional(),
  METRICS_TOKEN: optional.pipe(
    z.string().min(16, 'expected at least 16 characters (e.g. openssl rand -hex 32)').max(500).optional(),
  ),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
});

const SECRET = /URL|KEY|TOKEN/;

/** The API's validated configuration. Durations are in milliseconds. */
export type ApiEnv = Omit<z.output<typeof schema>, 'PUBLIC_URL'> & { PUBLIC_URL: string };

/**
 * Reads and validates the API's configuration once; throws an error naming each bad
 * variable. Nothing else in the API reads `process.env`.
 */
export function loadApiEnv(source: Record<string, string | undefined> = process.env): ApiEnv {
  const cleaned: Record<string, string> = {};
  for (const [key, value] of Object.entries(source)) {
    if (value !== undefined && value !== '') cleaned[key] = value;
  }
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0] ?? '?');
      // Connection strings and keys may hold secrets: name them, never echo them.
      const shown = SECRET.test(name) ? '' : ` (got ${JSON.stringify(cleaned[name] ?? null)})`;
      return `${name}: ${i.message}${shown}`;
    });
    throw new Error(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const env = parsed.data;
  const publicUrl = (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '');
  return { ...env, PUBLIC_URL: publicUrl };
}
