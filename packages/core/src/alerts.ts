import { DomainError } from './errors.js';

/**
 * Alert rules (SPEC §8): a condition on one metric of a resource, held for a duration, over
 * the resources a filter selects. Everything here is pure: the caller supplies the rule, the
 * resource's last breach state and its new sample, and applies the outcome.
 */

/** What a rule watches: a usage fraction (0–1) or the reported status. */
export const ALERT_METRICS = ['cpu', 'memory', 'disk', 'status'] as const;
export type AlertMetric = (typeof ALERT_METRICS)[number];

/** Comparisons for usage metrics (`gt` above, `lt` below) and for the status (`eq` is, `neq` is not). */
export const ALERT_COMPARISONS = ['gt', 'gte', 'lt', 'lte', 'eq', 'neq'] as const;
export type AlertComparison = (typeof ALERT_COMPARISONS)[number];

const NUMERIC_COMPARISONS: readonly AlertComparison[] = ['gt', 'gte', 'lt', 'lte'];
const STATUS_COMPARISONS: readonly AlertComparison[] = ['eq', 'neq'];

/** Kinds of resources a rule can be limited to. */
export const ALERT_RESOURCE_TYPES = ['host', 'vm', 'container', 'storage'] as const;
export type AlertResourceType = (typeof ALERT_RESOURCE_TYPES)[number];

/** Statuses an agent reports, which a status rule compares against. */
export const ALERT_STATUS_VALUES = [
  'online',
  'offline',
  'running',
  'stopped',
  'paused',
  'degraded',
  'unknown',
] as const;
export type AlertStatusValue = (typeof ALERT_STATUS_VALUES)[number];

/** Bounds of a rule, so that no org can make evaluation or mail unbounded. */
export const ALERT_LIMITS = {
  rulesPerOrg: 200,
  recipients: 20,
  resourceIds: 100,
  namePattern: 200,
  /** A week. */
  durationSeconds: 604_800,
} as const;

/** The condition of a rule. `threshold` is for usage metrics, `statusValue` for `status`. */
export interface AlertCondition {
  metric: AlertMetric;
  comparison: AlertComparison;
  threshold: number | null;
  statusValue: AlertStatusValue | null;
  /** How long the breach must last before the alert fires; 0 fires at once. */
  durationSeconds: number;
}

/** Which resources a rule watches. Empty lists and a null pattern select every resource. */
export interface AlertResourceFilter {
  resourceTypes: readonly string[];
  /** Glob on the resource name (`*` any run, `?` one character), case-insensitive. */
  namePattern: string | null;
  resourceIds: readonly string[];
}

/** A rule as evaluation needs it. */
export interface AlertRuleShape extends AlertCondition, AlertResourceFilter {
  enabled: boolean;
}

/** A resource as its agent last reported it. */
export interface ResourceSample {
  id: string;
  type: string;
  name: string;
  status: string;
  cpu: number | null;
  memory: number | null;
  disk: number | null;
}

/** Where a (rule, resource) pair stood before this sample. */
export interface BreachState {
  /** Since when the condition has held without a break; null when it does not hold. */
  breachingSince: Date | null;
  /** Whether an alert of the pair is firing. */
  firing: boolean;
}

/**
 * What a sample changes for a (rule, resource) pair:
 * - `none`: nothing to record besides `breachingSince` (null clears a pending breach);
 * - `pending`: the condition holds but not yet for the rule's duration;
 * - `fire`: the condition has held long enough and no alert is firing: fire one;
 * - `resolve`: an alert is firing and the condition no longer holds: resolve it.
 */
export type AlertOutcome =
  | { kind: 'none'; breachingSince: Date | null }
  | { kind: 'pending'; breachingSince: Date }
  | { kind: 'fire'; breachingSince: Date; value: number | string }
  | { kind: 'resolve'; value: number | string | null };

/** Throws VALIDATION_FAILED, saying what to change, unless the condition and filter make a rule. */
export function checkAlertRule(rule: AlertCondition & AlertResourceFilter): void {
  const invalid = (message: string) => new DomainError('VALIDATION_FAILED', message);
  if (rule.metric === 'status') {
    if (!STATUS_COMPARISONS.includes(rule.comparison)) {
      throw invalid('A status rule compares with "eq" (is) or "neq" (is not).');
    }
    if (rule.statusValue === null || !ALERT_STATUS_VALUES.includes(rule.statusValue)) {
      throw invalid(`A status rule needs statusValue, one of ${ALERT_STATUS_VALUES.join(', ')}.`);
    }
    if (rule.threshold !== null) throw invalid('A status rule has no threshold: leave it out.');
  } else {
    if (!NUMERIC_COMPARISONS.includes(rule.comparison)) {
      throw invalid(`A ${rule.metric} rule compares with "gt", "gte", "lt" or "lte".`);
    }
    if (rule.threshold === null || !Number.isFinite(rule.threshold) || rule.threshold < 0 || rule.threshold > 1) {
      throw invalid(`A ${rule.metric} rule needs a threshold between 0 and 1 (0.9 is 90%).`);
    }
    if (rule.statusValue !== null) throw invalid(`A ${rule.metric} rule has no statusValue: leave it out.`);
  }
  if (
    !Number.isInteger(rule.durationSeconds) ||
    rule.durationSeconds < 0 ||
    rule.durationSeconds > ALERT_LIMITS.durationSeconds
  ) {
    throw invalid(`durationSeconds is a whole number of seconds from 0 to ${ALERT_LIMITS.durationSeconds} (a week).`);
  }
  const unknownType = rule.resourceTypes.find((t) => !(ALERT_RESOURCE_TYPES as readonly string[]).includes(t));
  if (unknownType !== undefined) {
    throw invalid(`Unknown resource type "${unknownType.slice(0, 40)}": use ${ALERT_RESOURCE_TYPES.join(', ')}.`);
  }
  if (
    rule.namePattern !== null &&
    (rule.namePattern.length === 0 || rule.namePattern.length > ALERT_LIMITS.namePattern)
  ) {
    throw invalid(`namePattern has 1 to ${ALERT_LIMITS.namePattern} characters, or is left out.`);
  }
  if (rule.resourceIds.length > ALERT_LIMITS.resourceIds) {
    throw invalid(`A rule names at most ${ALERT_LIMITS.resourceIds} resources: use a type or name pattern instead.`);
  }
}

/** Throws LIMIT_REACHED unless the org may hold one more rule. */
export function checkAlertRuleLimit(rules: number): void {
  if (rules + 1 > ALERT_LIMITS.rulesPerOrg) {
    throw new DomainError(
      'LIMIT_REACHED',
      `An organization holds at most ${ALERT_LIMITS.rulesPerOrg} alert rules: remove or merge some first.`,
      { limit: ALERT_LIMITS.rulesPerOrg, rules },
    );
  }
}

/**
 * Whether `name` matches the glob `pattern` (`*` any run of characters, `?` exactly one),
 * ignoring case. Linear in practice: one backtrack point, never a regular expression.
 */
export function matchesNamePattern(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase();
  const s = name.toLowerCase();
  let pi = 0;
  let si = 0;
  let star = -1;
  let mark = 0;
  while (si < s.length) {
    if (pi < p.length && (p[pi] === '?' || (p[pi] !== '*' && p[pi] === s[si]))) {
      pi++;
      si++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = si;
    } else if (star !== -1) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/** Whether the filter selects the resource: every given criterion must hold. */
export function ruleAppliesTo(
  filter: AlertResourceFilter,
  resource: Pick<ResourceSample, 'id' | 'type' | 'name'>,
): boolean {
  if (filter.resourceTypes.length > 0 && !filter.resourceTypes.includes(resource.type)) return false;
  if (filter.resourceIds.length > 0 && !filter.resourceIds.includes(resource.id)) return false;
  if (filter.namePattern !== null && !matchesNamePattern(filter.namePattern, resource.name)) return false;
  return true;
}

/** The sample's value of the metric; null when the agent did not report it. */
export function metricValue(metric: AlertMetric, sample: ResourceSample): number | string | null {
  if (metric === 'status') return sample.status;
  const value = sample[metric];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Whether the sample breaches the condition; null when the metric is missing (no data). */
export function isBreaching(condition: AlertCondition, sample: ResourceSample): boolean | null {
  const value = metricValue(condition.metric, sample);
  if (value === null) return null;
  if (condition.metric === 'status') {
    const same = value === condition.statusValue;
    return condition.comparison === 'neq' ? !same : same;
  }
  const v = value as number;
  const t = condition.threshold ?? Number.NaN;
  switch (condition.comparison) {
    case 'gt':
      return v > t;
    case 'gte':
      return v >= t;
    case 'lt':
      return v < t;
    case 'lte':
      return v <= t;
    default:
      return null;
  }
}

/**
 * The outcome of one sample for one (rule, resource) pair at `now`. A disabled rule, or one
 * whose filter no longer selects the resource, counts as recovered. A sample without the
 * metric changes nothing. An alert fires once per episode: only when none is firing.
 */
export function evaluateAlert(
  rule: AlertRuleShape,
  state: BreachState,
  sample: ResourceSample,
  now: Date,
): AlertOutcome {
  const applies = rule.enabled && ruleAppliesTo(rule, sample);
  const breaching = applies ? isBreaching(rule, sample) : false;
  if (breaching === null) return { kind: 'none', breachingSince: state.breachingSince };
  if (!breaching) {
    if (state.firing) return { kind: 'resolve', value: applies ? metricValue(rule.metric, sample) : null };
    return { kind: 'none', breachingSince: null };
  }
  const since = state.breachingSince && state.breachingSince <= now ? state.breachingSince : now;
  if (state.firing) return { kind: 'none', breachingSince: since };
  if (now.getTime() - since.getTime() >= rule.durationSeconds * 1000) {
    return { kind: 'fire', breachingSince: since, value: metricValue(rule.metric, sample) as number | string };
  }
  return { kind: 'pending', breachingSince: since };
}

const METRIC_LABELS: Record<AlertMetric, string> = { cpu: 'CPU', memory: 'Memory', disk: 'Disk', status: 'Status' };
const COMPARISON_LABELS: Record<AlertComparison, string> = {
  gt: 'above',
  gte: 'at or above',
  lt: 'below',
  lte: 'at or below',
  eq: 'is',
  neq: 'is not',
};

/** `90%` for a fraction, the status as it is. */
export function formatMetricValue(metric: AlertMetric, value: number | string | null): string {
  if (value === null) return 'no data';
  if (metric === 'status' || typeof value === 'string') return String(value);
  return `${Math.round(value * 1000) / 10}%`;
}

/** `30 s`, `5 min`, `2 h`, `1 d` (the largest unit that divides it). */
export function formatDuration(seconds: number): string {
  if (seconds % 86_400 === 0 && seconds > 0) return `${seconds / 86_400} d`;
  if (seconds % 3600 === 0 && seconds > 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0 && seconds > 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/** The condition in words: "CPU above 90% for 5 min", "Status is offline". */
export function describeCondition(condition: AlertCondition): string {
  const target =
    condition.metric === 'status'
      ? String(condition.statusValue)
      : formatMetricValue(condition.metric, condition.threshold);
  const base = `${METRIC_LABELS[condition.metric]} ${COMPARISON_LABELS[condition.comparison]} ${target}`;
  return condition.durationSeconds > 0 ? `${base} for ${formatDuration(condition.durationSeconds)}` : base;
}
