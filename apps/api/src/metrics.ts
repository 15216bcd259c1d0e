import { accessDeniedReason } from '@tenantry/core';
import { countOrgsByStatus, type Db } from '@tenantry/db';
import { readJobOutcomes, readSchedulerRuns } from '@tenantry/worker';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { JobQueues } from './jobs.js';

/** Queue states reported by `tenantry_queue_jobs{queue,state}`. */
export const QUEUE_STATES = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'failed',
  'completed',
] as const;

/** What the collectors read at scrape time. */
export interface MetricsDeps {
  db: Db;
  redis: Redis | null;
  queues: JobQueues;
  /** Every queue the workers consume (the worker's registry). */
  queueNames: readonly string[];
  log: FastifyBaseLogger;
}

type HttpLabels = 'method' | 'route' | 'status';

/**
 * The API's Prometheus metrics, one registry per app: HTTP requests, errors and latency by
 * route template, access denials by reason, and at scrape time the queues' depths, job
 * outcomes (counted by the workers in Redis), tenants by status and scheduler runs.
 */
export class ApiMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<HttpLabels>;
  private readonly errors: Counter<'method' | 'route' | 'status_class'>;
  private readonly duration: Histogram<HttpLabels>;
  private readonly denied: Counter<'reason'>;

  constructor(private readonly deps: MetricsDeps) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'tenantry_' });
    this.requests = new Counter({
      name: 'tenantry_http_requests_total',
      help: 'HTTP requests by method, route template and status, denied ones (402, 403, 501) included.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.errors = new Counter({
      name: 'tenantry_http_request_errors_total',
      help: 'HTTP requests answered with a client (4xx) or server (5xx) error.',
      labelNames: ['method', 'route', 'status_class'],
      registers,
    });
    this.duration = new Histogram({
      name: 'tenantry_http_request_duration_seconds',
      help: 'HTTP request latency in seconds.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.denied = new Counter({
      name: 'tenantry_access_denied_total',
      help: 'Requests denied (402, 403, 501) by reason: not_authorized, multi_tenant_disabled, license_required, permission_denied, feature_disabled, …',
      labelNames: ['reason'],
      registers,
    });
    this.registerCollectors(registers);
  }

  /** Counts one answered request. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
    if (status >= 400) this.errors.inc({ method, route, status_class: `${Math.floor(status / 100)}xx` });
  }

  /** Counts a denial if `code` is one (core's `accessDeniedReason`); returns the reason. */
  countDenial(code: string): string | null {
    const reason = accessDeniedReason(code);
    if (reason) this.denied.inc({ reason });
    return reason;
  }

  /** The Prometheus text exposition. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private registerCollectors(registers: Registry[]): void {
    const { deps } = this;
    const warn = (what: string) => (err: unknown) => deps.log.warn({ err }, `metrics: cannot read ${what}`);

    new Gauge({
      name: 'tenantry_queue_jobs',
      help: 'Jobs in each queue by state.',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        this.reset();
        await Promise.all(
          deps.queueNames.map(async (name) => {
            const queue = deps.queues.get(name);
            if (!queue) return;
            const counts = await queue.getJobCounts(...QUEUE_STATES).catch(warn(`queue ${name}`));
            if (!counts) return;
            for (const state of QUEUE_STATES) this.set({ queue: name, state }, counts[state] ?? 0);
          }),
        );
      },
    });

    new Counter({
      name: 'tenantry_jobs_total',
      help: 'Job attempts by queue and outcome (completed, failed, retried), counted by every worker process.',
      labelNames: ['queue', 'outcome'],
      registers,
      async collect() {
        if (!deps.redis) return;
        const outcomes = await readJobOutcomes(deps.redis, deps.queues.prefix, deps.queueNames).catch(
          warn('job outcomes'),
        );
        if (!outcomes) return;
        this.reset();
        for (const { queue, outcome, count } of outcomes) this.inc({ queue, outcome }, count);
      },
    });

    new Gauge({
      name: 'tenantry_tenants',
      help: 'Organizations by status (active, suspended, pending_deletion, deleting).',
      labelNames: ['status'],
      registers,
      async collect() {
        const counts = await deps.db.platform({}, countOrgsByStatus).catch(warn('tenants'));
        if (!counts) return;
        for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
      },
    });

    new Gauge({
      name: 'tenantry_scheduler_last_run_timestamp_seconds',
      help: 'When each scheduled job last ran (Unix time), with ok="true" or "false".',
      labelNames: ['scheduler', 'ok'],
      registers,
      async collect() {
        if (!deps.redis) return;
        const runs = await readSchedulerRuns(deps.redis).catch(warn('scheduler runs'));
        if (!runs) return;
        this.reset();
        for (const [scheduler, run] of Object.entries(runs)) {
          this.set({ scheduler, ok: String(run.ok) }, Date.parse(run.at) / 1000);
        }
      },
    });
  }
}
