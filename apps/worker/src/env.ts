import { DEFAULT_DELETION_BATCH_SHARE, parseDuration } from '@tenantry/core';
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const redisUrl = z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' });
const postgresUrl = z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' });

const schema = z.object({
  REDIS_URL: redisUrl.default('redis://127.0.0.1:6379'),
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_MIGRATION_URL: postgresUrl.optional(),
  DATA_DIR: z.string().min(1).default('./.data'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL' }).optional(),
  SMTP_FROM: z.string().min(1).max(320).optional(),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[\w.-]{1,64}$/, 'must be 1–64 letters, digits, dots, dashes or underscores')
    .default('bull'),
  DELETION_BATCH_ROWS: z.coerce
    .number({ error: 'must be a whole number' })
    .int('must be a whole number')
    .min(100, 'must be at least 100')
    .max(100_000, 'must be at most 100000')
    .default(10_000),
  DELETION_BATCH_SHARE: z.coerce
    .number({ error: 'must be a number between 0.05 and 1' })
    .min(0.05, 'must be at least 0.05')
    .max(1, 'must be at most 1')
    .default(DEFAULT_DELETION_BATCH_SHARE),
  PUBLIC_URL: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  INVITATION_EXPIRY_INTERVAL: z
    .string()
    .default('1m')
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === null || ms < 100) {
        ctx.addIssue({ code: 'custom', message: 'must be a duration such as 1m, 30s or 500ms (at least 100ms)' });
        return z.NEVER;
      }
      return ms;
    }),
});

/** The worker's validated configuration. */
export interface WorkerEnv {
  REDIS_URL: string;
  /** PostgreSQL; unset = embedded PGlite under DATA_DIR (then the worker runs inside `pnpm start`). */
  DATABASE_URL?: string | undefined;
  /** Owner connection for migrations; default DATABASE_URL. */
  DATABASE_MIGRATION_URL?: string | undefined;
  DATA_DIR: string;
  LOG_LEVEL: (typeof LOG_LEVELS)[number];
  /** Where invitation mails go (nodemailer, pooled); unset: mails cannot be sent. */
  SMTP_URL?: string | undefined;
  /** The From header of mails. */
  SMTP_FROM?: string | undefined;
  /** BullMQ key prefix of every queue (default BullMQ's `bull`); the API must use the same. */
  QUEUE_PREFIX: string;
  /** Most rows one deletion batch removes (one short transaction each; default 10000). */
  DELETION_BATCH_ROWS: number;
  /**
   * The share of a deletion's time its batches may take (default 0.5): after each batch it
   * rests so long that the other tenants keep the rest of the database. 1 runs them back to back.
   */
  DELETION_BATCH_SHARE: number;
  /** Where people reach Tenantry: links in alert mails (none when unset). */
  PUBLIC_URL?: string | undefined;
  /** How often the scheduler marks expired invitations, in ms (default one minute). */
  INVITATION_EXPIRY_INTERVAL: number;
}

/** A URL with its password replaced by `***`, safe to print in logs and error messages. */
export function redactUrl<T extends string | undefined>(value: T): T {
  if (!value) return value;
  try {
    const url = new URL(value);
    if (!url.password) return value;
    url.password = '***';
    return url.toString() as T;
  } catch {
    return value;
  }
}

/** Thrown when a variable is invalid; the message names it. */
export class EnvError extends Error {
  override readonly name = 'EnvError';
}

/**
 * Validates the worker's environment once, at start-up. Empty strings count as unset, so
 * `REDIS_URL=` in a shell or `.env` file falls back to the default.
 */
export function loadWorkerEnv(source: Record<string, string | undefined> = process.env): WorkerEnv {
  const input = Object.fromEntries(
    Object.keys(schema.shape).map((key) => [key, source[key] === '' ? undefined : source[key]]),
  );
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? 'environment');
      return `${key}: ${issue.message} (got ${JSON.stringify(redactUrl(source[key]))})`;
    });
    throw new EnvError(`Invalid worker configuration:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data;
}
