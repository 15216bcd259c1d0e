import { existsSync, readdirSync, readFileSync } from 'node:fs';

// Linux only (`/proc`); elsewhere every check here answers "quiet" and "no foreign CPU".

/** Busy and total CPU ticks of the whole machine so far, steal excluded from busy. */
function machineTicks(): { busy: number; steal: number; total: number } | null {
  if (!existsSync('/proc/stat')) return null;
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const busy = user + nice + system + irq + softirq;
  return { busy, steal, total: busy + idle + iowait + steal };
}

/** The share of the machine's CPU time spent busy over the next `ms`, or null off Linux. */
export async function machineBusy(ms = 1000): Promise<number | null> {
  const a = machineTicks();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const b = machineTicks();
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

/** CPU ticks so far of the processes that take part in a measurement. */
function ourTicks(isOurs: (p: { pid: number; pgid: number; comm: string }) => boolean): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(open + 1, close);
    // After the command: state ppid pgrp … utime (12th) stime (13th).
    const rest = stat.slice(close + 2).split(' ');
    if (isOurs({ pid: Number(entry), pgid: Number(rest[2]), comm })) ticks += Number(rest[11]) + Number(rest[12]);
  }
  return ticks;
}

/** What other processes and the hypervisor took of the machine while a measurement ran. */
export interface Interference {
  /** CPU time of processes outside the measurement, as a share of the machine's capacity. */
  foreign: number;
  /** Time the hypervisor gave the machine's CPUs to others (steal), as a share. */
  steal: number;
}

/**
 * Starts counting the CPU time that processes outside a measurement spend while it runs (the
 * machine's busy time minus that of this process, the given process groups — the servers —,
 * PostgreSQL and Redis) and the CPU time stolen by the hypervisor.
 */
export function trackInterference(processGroups: number[]): { stop(): Interference } {
  const groups = new Set(processGroups);
  const isOurs = (p: { pid: number; pgid: number; comm: string }) =>
    p.pid === process.pid || groups.has(p.pgid) || p.comm === 'postgres' || p.comm === 'redis-server';
  const m0 = machineTicks();
  if (!m0) return { stop: () => ({ foreign: 0, steal: 0 }) };
  const o0 = ourTicks(isOurs);
  return {
    stop() {
      const m1 = machineTicks()!;
      const total = Math.max(1, m1.total - m0.total);
      const foreign = m1.busy - m0.busy - (ourTicks(isOurs) - o0);
      return { foreign: Math.max(0, foreign) / total, steal: (m1.steal - m0.steal) / total };
    },
  };
}
