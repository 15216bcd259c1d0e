import type { Redis } from 'ioredis';

/**
 * The last run of each scheduled job (BullMQ job schedulers: invitation expiry, …), for the
 * health endpoint. Platform-level, so outside any org's `org:{orgId}:` namespace: one Redis
 * hash, field = scheduler name, value = JSON of its last run.
 */
export const SCHEDULER_RUNS_KEY = 'platform:scheduler-runs';

/** One run of a scheduled job. */
export interface SchedulerRun {
  /** When the run ended (ISO 8601). */
  at: string;
  ok: boolean;
  durationMs: number;
  /** Why it failed (first 500 characters). */
  error?: string;
}

/** Records a run of the scheduled job `name`. Never throws: health bookkeeping must not fail a job. */
export async function recordSchedulerRun(
  redis: Pick<Redis, 'hset'>,
  name: string,
  run: { ok: boolean; durationMs: number; error?: string },
): Promise<void> {
  const value: SchedulerRun = {
    at: new Date().toISOString(),
    ok: run.ok,
    durationMs: Math.round(run.durationMs),
    ...(run.error ? { error: run.error.slice(0, 500) } : {}),
  };
  try {
    await redis.hset(SCHEDULER_RUNS_KEY, name, JSON.stringify(value));
  } catch {
    // Redis is down: the job's own outcome is what matters.
  }
}

/** The last run of every scheduled job that has run, by name. */
export async function readSchedulerRuns(redis: Pick<Redis, 'hgetall'>): Promise<Record<string, SchedulerRun>> {
  const raw = await redis.hgetall(SCHEDULER_RUNS_KEY);
  const runs: Record<string, SchedulerRun> = {};
  for (const [name, json] of Object.entries(raw)) {
    try {
      runs[name] = JSON.parse(json) as SchedulerRun;
    } catch {
      // A foreign value under our key: skip it.
    }
  }
  return runs;
}
