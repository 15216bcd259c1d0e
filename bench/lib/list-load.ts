import autocannon from 'autocannon';

/** Where and how one target of a list benchmark is asked for an org's page. */
export interface ListTarget {
  /** Short name used in figures (`ceiling`, `product`, …). */
  name: string;
  base: string;
  /** The request for one org: its path and headers. */
  request(orgId: string): { path: string; headers: Record<string, string> };
}

/** What one timed run of a target measured. */
export interface LoadFigures {
  rps: number;
  p50: number;
  p99: number;
  total: number;
  /** Non-2xx answers, errors and timeouts together. */
  failed: number;
}

function run(target: ListTarget, orgIds: string[], connections: number, seconds: number) {
  const pick = () => orgIds[Math.floor(Math.random() * orgIds.length)]!;
  return autocannon({
    url: target.base,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'GET',
        // A random org for every request, chosen here by the load generator.
        setupRequest: (req) => ({ ...req, ...target.request(pick()) }),
      },
    ],
  });
}

/** Drives `target` for `seconds` and discards the figures: JIT, pools and caches warm up. */
export async function warmUp(target: ListTarget, orgIds: string[], connections: number, seconds: number) {
  if (seconds > 0) await run(target, orgIds, connections, seconds);
}

/**
 * Drives `target` with `connections` keep-alive connections for `seconds`, a random org of
 * `orgIds` per request, and answers what it measured.
 */
export async function measureList(
  target: ListTarget,
  orgIds: string[],
  connections: number,
  seconds: number,
): Promise<LoadFigures> {
  const result = await run(target, orgIds, connections, seconds);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    failed: result.non2xx + result.errors + result.timeouts,
  };
}
