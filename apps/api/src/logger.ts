import { type Logger, pino } from 'pino';
import type { ApiEnv } from './env.js';

/** Never logged: cookies, tokens, passwords, license keys. */
export const REDACT_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers.authorization',
  'password',
  'token',
  'key',
  '*.password',
  '*.token',
  '*.key',
  '*.sessionToken',
  'body.password',
  'input.password',
  'input.key',
];

/** Structured JSON logs (pino) at `LOG_LEVEL`, with secrets redacted. */
export function createLogger(env: Pick<ApiEnv, 'LOG_LEVEL'>): Logger {
  return pino({
    level: env.LOG_LEVEL,
    base: { service: 'api' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
