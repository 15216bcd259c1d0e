import { type Logger, pino } from 'pino';
import type { WorkerEnv } from './env.js';

/** JSON-lines logger on stdout, shaped like the API's (`service`, ISO time). */
export function createLogger(level: WorkerEnv['LOG_LEVEL']): Logger {
  return pino({ level, base: { service: 'worker' }, timestamp: pino.stdTimeFunctions.isoTime });
}

export type { Logger };
