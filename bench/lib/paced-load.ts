/**
 * A steady, paced load: one request every 1/rate seconds on its own schedule (open loop), each
 * timed from the moment it was due, so a slow server cannot hide its slowness by delaying the
 * requests that follow (no coordinated omission) and no burst is sent at once. Keep-alive
 * connections come from a pool large enough that a request never waits for a free one.
 */
import { Agent, request } from 'node:http';
import { percentile } from './api-process.js';

/** One response: when it was due (epoch ms), how long it took from then, its status. */
export interface PacedSample {
  dueAt: number;
  ms: number;
  status: number;
}

export interface PacedLoad {
  /** Resolves with every sample once stopped (or the duration is over) and the last response is in. */
  done: Promise<PacedSample[]>;
  stop(): void;
}

export interface PacedLoadOptions {
  url: string;
  headers?: Record<string, string>;
  /** Requests per second. */
  rate: number;
  /** Seconds before it stops on its own. */
  seconds: number;
  /** Told about every response as it arrives. */
  onSample?: (sample: PacedSample) => void;
}

export function pacedLoad(options: PacedLoadOptions): PacedLoad {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const url = new URL(options.url);
  const interval = 1000 / options.rate;
  const samples: PacedSample[] = [];
  const startedAt = performance.now();
  const epochAt = Date.now();
  const total = Math.floor(options.seconds * options.rate);
  let sent = 0;
  let inFlight = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let finish!: (samples: PacedSample[]) => void;
  const done = new Promise<PacedSample[]>((resolve) => {
    finish = resolve;
  });
  const settleIfIdle = () => {
    if ((stopped || sent >= total) && inFlight === 0) {
      agent.destroy();
      finish(samples);
    }
  };

  const fire = (due: number) => {
    inFlight += 1;
    const record = (status: number) => {
      const sample = { dueAt: epochAt + (due - startedAt), ms: performance.now() - due, status };
      samples.push(sample);
      options.onSample?.(sample);
      inFlight -= 1;
      settleIfIdle();
    };
    const req = request(
      { agent, host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, headers: options.headers },
      (res) => {
        res.resume();
        res.on('end', () => record(res.statusCode ?? 0));
        res.on('error', () => record(0));
      },
    );
    req.on('error', () => record(0));
    req.end();
  };

  // Every tick sends the requests that are due by now, each timed from when it was due.
  const tick = () => {
    const now = performance.now();
    while (!stopped && sent < total && startedAt + sent * interval <= now) {
      fire(startedAt + sent * interval);
      sent += 1;
    }
    if (stopped || sent >= total) {
      settleIfIdle();
      return;
    }
    timer = setTimeout(tick, Math.max(0, startedAt + sent * interval - performance.now()));
  };
  tick();

  return {
    done,
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      settleIfIdle();
    },
  };
}

/** Percentiles and counts of a set of samples (nearest rank). */
export function describeSamples(samples: PacedSample[]) {
  const ms = samples.filter((s) => s.status >= 200 && s.status < 300).map((s) => s.ms);
  ms.sort((a, b) => a - b);
  const at = (p: number) => (ms.length ? percentile(ms, p * 100) : 0);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    requests: samples.length,
    non2xx: samples.length - ms.length,
    p50: round(at(0.5)),
    p90: round(at(0.9)),
    p99: round(at(0.99)),
    max: round(ms.at(-1) ?? 0),
  };
}
