import { existsSync, readFileSync } from 'node:fs';

/** Busy and total CPU time of the whole machine so far (Linux `/proc/stat`), or null. */
function cpuTimes(): { busy: number; total: number } | null {
  if (!existsSync('/proc/stat')) return null;
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** The share of the machine's CPU time spent busy over the next `ms`, or null off Linux. */
export async function machineBusy(ms = 1000): Promise<number | null> {
  const a = cpuTimes();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const b = cpuTimes();
  if (!a || !b || b.total === a.total) return null;
  return (b.busy - a.busy) / (b.total - a.total);
}

/**
 * Waits (up to `timeoutMs`) until the machine has been nearly idle (below `threshold` busy)
 * for `quietSeconds` in a row, so that a measurement does not share the CPUs with something
 * else on a shared machine. Resolves with the last busy share seen and whether it got quiet.
 */
export async function waitForQuiet(
  opts: { threshold?: number; quietSeconds?: number; timeoutMs?: number } = {},
): Promise<{ quiet: boolean; busy: number | null; waitedSeconds: number }> {
  const threshold = opts.threshold ?? 0.15;
  const quietSeconds = opts.quietSeconds ?? 3;
  const deadline = Date.now() + (opts.timeoutMs ?? 180_000);
  const started = Date.now();
  let streak = 0;
  let busy: number | null = null;
  while (Date.now() < deadline) {
    busy = await machineBusy(1000);
    if (busy === null) return { quiet: true, busy, waitedSeconds: 0 };
    streak = busy < threshold ? streak + 1 : 0;
    if (streak >= quietSeconds) return { quiet: true, busy, waitedSeconds: (Date.now() - started) / 1000 };
  }
  return { quiet: false, busy, waitedSeconds: (Date.now() - started) / 1000 };
}
