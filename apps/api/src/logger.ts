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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Query parameters whose values are never logged (tRPC puts a query's whole input in `input`). */
const SECRET_PARAM = /input|token|key|secret|password|code|session|auth/i;

/**
 * A path segment that looks like a secret rather than a name: long, and with characters no
 * slug or UUID has (invitation links carry their token in the path: `/invite/<token>`).
 */
function looksSecret(segment: string): boolean {
  return segment.length >= 24 && !UUID.test(segment) && /[A-Z_.~]/.test(segment);
}

/** A request URL fit for logs: secret-looking path segments and secret query values redacted. */
export function safeUrl(url: string): string {
  const at = url.indexOf('?');
  const path = at === -1 ? url : url.slice(0, at);
  const safePath = path
    .split('/')
    .map((segment) => {
      let decoded = segment;
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        // keep the raw segment
      }
      return looksSecret(decoded) ? '[redacted]' : segment;
    })
    .join('/');
  if (at === -1) return safePath;
  const query = url
    .slice(at + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      return eq !== -1 && SECRET_PARAM.test(name) ? `${name}=[redacted]` : pair;
    })
    .join('&');
  return `${safePath}?${query}`;
}

interface LoggedRequest {
  method: string;
  url: string;
  host?: string;
  ip?: string;
}

/** Serializers for Fastify's request lines: method, safe URL, host, address. No headers, no bodies. */
export const LOG_SERIALIZERS = {
  req(req: LoggedRequest) {
    return { method: req.method, url: safeUrl(req.url), host: req.host, remoteAddress: req.ip };
  },
};

/** Structured JSON logs (pino) at `LOG_LEVEL`, with secrets redacted, to stdout or `destination`. */
export function createLogger(env: Pick<ApiEnv, 'LOG_LEVEL'>, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level: env.LOG_LEVEL,
      base: { service: 'api' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: LOG_SERIALIZERS,
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/** Whether `log` writes lines of `level` (its level is that or below). */
export function writesLevel(log: { level: string }, level: pino.Level): boolean {
  const at = pino.levels.values[log.level];
  return at !== undefined && at <= pino.levels.values[level]!;
}
