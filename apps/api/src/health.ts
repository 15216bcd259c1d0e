import type { Db } from '@tenantry/db';
import { readSchedulerRuns, type SchedulerRun } from '@tenantry/worker';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { VERSION } from './version.js';

/** How long one dependency may take to answer before it counts as down. */
export const HEALTH_TIMEOUT_MS = 2000;

const dependency = z.object({
  ok: z.boolean(),
  latencyMs: z.number().nullable().describe('Round trip of a trivial command, in milliseconds'),
  error: z.string().optional().describe('Why the dependency counts as down'),
});

const schedulerRun = z.object({
  at: z.string().describe('When the run ended (ISO 8601)'),
  ok: z.boolean(),
  durationMs: z.number(),
  error: z.string().optional(),
});

/** What `GET /api/health` answers, with 200 when PostgreSQL and Redis answer and 503 otherwise. */
export const healthOutput = z.object({
  status: z.enum(['ok', 'degraded']),
  version: z.string(),
  uptimeSeconds: z.number(),
  db: dependency,
  redis: dependency,
  failing: z.array(z.enum(['db', 'redis'])).describe('The dependencies that do not answer'),
  schedulers: z.record(z.string(), schedulerRun).describe('The last run of each scheduled job, by scheduler name'),
});
export type Health = z.infer<typeof healthOutput>;

type Dependency = z.infer<typeof dependency>;

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

async function timed(run: () => Promise<unknown>, what: string): Promise<Dependency> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      run(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
      }),
    ]);
    return { ok: true, latencyMs: round(performance.now() - started) };
  } catch (error) {
    const reason = error instanceof Error && error.message.startsWith('no answer') ? error.message : 'unreachable';
    return { ok: false, latencyMs: round(performance.now() - started), error: `${what} ${reason}` };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Checks PostgreSQL (`select 1`) and Redis (`PING`) with their latency, and reads the last run
 * of each scheduled job. Never throws; the answer says which dependency is down.
 */
export async function checkHealth(deps: {
  db: Db;
  redis: Redis | null;
  startedAt: number;
  log: FastifyBaseLogger;
}): Promise<Health> {
  const redis = deps.redis;
  const [db, redisDep] = await Promise.all([
    timed(() => deps.db.platform({}, (em) => em.execute('select 1')), 'PostgreSQL'),
    redis
      ? timed(() => redis.ping(), 'Redis')
      : Promise.resolve<Dependency>({ ok: false, latencyMs: null, error: 'Redis was not reachable at start-up' }),
  ]);
  let schedulers: Record<string, SchedulerRun> = {};
  if (redis && redisDep.ok) {
    schedulers = await readSchedulerRuns(redis).catch(() => ({}));
  }
  const failing = [...(db.ok ? [] : ['db' as const]), ...(redisDep.ok ? [] : ['redis' as const])];
  if (failing.length > 0) deps.log.error({ event: 'health_degraded', failing }, 'health check: dependency down');
  return {
    status: failing.length === 0 ? 'ok' : 'degraded',
    version: VERSION,
    uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
    db,
    redis: redisDep,
    failing,
    schedulers,
  };
}
