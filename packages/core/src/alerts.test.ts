import { describe, expect, it } from 'vitest';
import {
  ALERT_LIMITS,
  type AlertRuleShape,
  type BreachState,
  checkAlertRule,
  checkAlertRuleLimit,
  describeCondition,
  evaluateAlert,
  isBreaching,
  matchesNamePattern,
  type ResourceSample,
  ruleAppliesTo,
} from './alerts.js';
import { DomainError } from './errors.js';

const cpuRule = (over: Partial<AlertRuleShape> = {}): AlertRuleShape => ({
  metric: 'cpu',
  comparison: 'gt',
  threshold: 0.9,
  statusValue: null,
  durationSeconds: 0,
  resourceTypes: [],
  namePattern: null,
  resourceIds: [],
  enabled: true,
  ...over,
});

const sample = (over: Partial<ResourceSample> = {}): ResourceSample => ({
  id: 'r1',
  type: 'host',
  name: 'pve-1',
  status: 'online',
  cpu: 0.5,
  memory: 0.5,
  disk: 0.5,
  ...over,
});

const quiet: BreachState = { breachingSince: null, firing: false };
const t0 = new Date('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

function codeOf(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (error) {
    return error instanceof DomainError ? error.code : 'OTHER';
  }
}

describe('checkAlertRule', () => {
  it('accepts a usage rule with a threshold and a status rule with a status', () => {
    expect(codeOf(() => checkAlertRule(cpuRule()))).toBeNull();
    expect(
      codeOf(() =>
        checkAlertRule(cpuRule({ metric: 'status', comparison: 'eq', threshold: null, statusValue: 'offline' })),
      ),
    ).toBeNull();
  });

  it('refuses mixed-up conditions with a message that says what to change', () => {
    const cases: [Partial<AlertRuleShape>, RegExp][] = [
      [{ metric: 'status', comparison: 'gt', threshold: null, statusValue: 'offline' }, /"eq".*"neq"/],
      [{ metric: 'status', comparison: 'eq', threshold: null, statusValue: null }, /needs statusValue/],
      [{ metric: 'status', comparison: 'eq', threshold: 0.5, statusValue: 'offline' }, /no threshold/],
      [{ comparison: 'eq' }, /"gt", "gte", "lt" or "lte"/],
      [{ threshold: null }, /threshold between 0 and 1/],
      [{ threshold: 1.5 }, /threshold between 0 and 1/],
      [{ statusValue: 'offline' }, /no statusValue/],
      [{ durationSeconds: -1 }, /durationSeconds/],
      [{ durationSeconds: 1.5 }, /durationSeconds/],
      [{ durationSeconds: ALERT_LIMITS.durationSeconds + 1 }, /a week/],
      [{ resourceTypes: ['printer'] }, /Unknown resource type "printer"/],
      [{ namePattern: '' }, /namePattern/],
      [{ resourceIds: Array.from({ length: ALERT_LIMITS.resourceIds + 1 }, (_, i) => `r${i}`) }, /at most 100/],
    ];
    for (const [over, message] of cases) {
      expect(() => checkAlertRule(cpuRule(over)), JSON.stringify(over).slice(0, 80)).toThrow(message);
      expect(codeOf(() => checkAlertRule(cpuRule(over)))).toBe('VALIDATION_FAILED');
    }
  });

  it('limits the rules of an org', () => {
    expect(codeOf(() => checkAlertRuleLimit(ALERT_LIMITS.rulesPerOrg - 1))).toBeNull();
    expect(codeOf(() => checkAlertRuleLimit(ALERT_LIMITS.rulesPerOrg))).toBe('LIMIT_REACHED');
  });
});

describe('matchesNamePattern', () => {
  it('matches globs case-insensitively', () => {
    expect(matchesNamePattern('pve-*', 'PVE-1')).toBe(true);
    expect(matchesNamePattern('pve-?', 'pve-12')).toBe(false);
    expect(matchesNamePattern('*-db-*', 'eu-db-7')).toBe(true);
    expect(matchesNamePattern('*', '')).toBe(true);
    expect(matchesNamePattern('web', 'web-1')).toBe(false);
    expect(matchesNamePattern('a*b*c', 'axxbyyc')).toBe(true);
    expect(matchesNamePattern('a*b*c', 'axxbyy')).toBe(false);
    // Regular-expression characters are plain characters.
    expect(matchesNamePattern('a.c', 'abc')).toBe(false);
    expect(matchesNamePattern('(x)+', '(x)+')).toBe(true);
  });

  it('stays fast on patterns that make regular expressions backtrack', () => {
    const started = performance.now();
    expect(matchesNamePattern(`${'*a'.repeat(100)}b`, 'a'.repeat(200))).toBe(false);
    expect(performance.now() - started).toBeLessThan(50);
  });
});

describe('ruleAppliesTo', () => {
  it('selects every resource with an empty filter, and needs every given criterion', () => {
    expect(ruleAppliesTo(cpuRule(), sample())).toBe(true);
    expect(ruleAppliesTo(cpuRule({ resourceTypes: ['vm'] }), sample())).toBe(false);
    expect(ruleAppliesTo(cpuRule({ resourceTypes: ['vm', 'host'], namePattern: 'pve-*' }), sample())).toBe(true);
    expect(ruleAppliesTo(cpuRule({ resourceIds: ['r2'] }), sample())).toBe(false);
    expect(ruleAppliesTo(cpuRule({ resourceIds: ['r1'], namePattern: 'db-*' }), sample())).toBe(false);
  });
});

describe('isBreaching', () => {
  it('compares usage with the threshold and the status with its value', () => {
    expect(isBreaching(cpuRule(), sample({ cpu: 0.95 }))).toBe(true);
    expect(isBreaching(cpuRule(), sample({ cpu: 0.9 }))).toBe(false);
    expect(isBreaching(cpuRule({ comparison: 'gte' }), sample({ cpu: 0.9 }))).toBe(true);
    expect(isBreaching(cpuRule({ metric: 'disk', comparison: 'lt', threshold: 0.1 }), sample({ disk: 0.05 }))).toBe(
      true,
    );
    const offline = cpuRule({ metric: 'status', comparison: 'eq', threshold: null, statusValue: 'offline' });
    expect(isBreaching(offline, sample({ status: 'offline' }))).toBe(true);
    expect(isBreaching({ ...offline, comparison: 'neq', statusValue: 'online' }, sample({ status: 'degraded' }))).toBe(
      true,
    );
  });

  it('reports no data when the metric is missing', () => {
    expect(isBreaching(cpuRule(), sample({ cpu: null }))).toBeNull();
  });
});

describe('evaluateAlert', () => {
  it('fires at once with no duration, and only once while the breach lasts', () => {
    const first = evaluateAlert(cpuRule(), quiet, sample({ cpu: 0.95 }), at(0));
    expect(first).toEqual({ kind: 'fire', breachingSince: at(0), value: 0.95 });
    const again = evaluateAlert(cpuRule(), { breachingSince: at(0), firing: true }, sample({ cpu: 0.99 }), at(10));
    expect(again).toEqual({ kind: 'none', breachingSince: at(0) });
  });

  it('waits for the duration, then fires with the start of the breach', () => {
    const rule = cpuRule({ durationSeconds: 60 });
    const p1 = evaluateAlert(rule, quiet, sample({ cpu: 0.95 }), at(0));
    expect(p1).toEqual({ kind: 'pending', breachingSince: at(0) });
    const p2 = evaluateAlert(rule, { breachingSince: at(0), firing: false }, sample({ cpu: 0.95 }), at(59));
    expect(p2).toEqual({ kind: 'pending', breachingSince: at(0) });
    const fired = evaluateAlert(rule, { breachingSince: at(0), firing: false }, sample({ cpu: 0.92 }), at(60));
    expect(fired).toEqual({ kind: 'fire', breachingSince: at(0), value: 0.92 });
  });

  it('starts over when the breach breaks before the duration', () => {
    const rule = cpuRule({ durationSeconds: 60 });
    const cleared = evaluateAlert(rule, { breachingSince: at(0), firing: false }, sample({ cpu: 0.5 }), at(30));
    expect(cleared).toEqual({ kind: 'none', breachingSince: null });
    const restarted = evaluateAlert(rule, { breachingSince: null, firing: false }, sample({ cpu: 0.95 }), at(40));
    expect(restarted).toEqual({ kind: 'pending', breachingSince: at(40) });
  });

  it('resolves a firing alert once the metric recovers, with the recovered value', () => {
    const resolved = evaluateAlert(cpuRule(), { breachingSince: at(0), firing: true }, sample({ cpu: 0.4 }), at(5));
    expect(resolved).toEqual({ kind: 'resolve', value: 0.4 });
    const after = evaluateAlert(cpuRule(), quiet, sample({ cpu: 0.4 }), at(6));
    expect(after).toEqual({ kind: 'none', breachingSince: null });
  });

  it('changes nothing without data, and treats a disabled or no longer matching rule as recovered', () => {
    const firing = { breachingSince: at(0), firing: true };
    expect(evaluateAlert(cpuRule(), firing, sample({ cpu: null }), at(5))).toEqual({
      kind: 'none',
      breachingSince: at(0),
    });
    expect(evaluateAlert(cpuRule({ enabled: false }), firing, sample({ cpu: 0.99 }), at(5))).toEqual({
      kind: 'resolve',
      value: null,
    });
    expect(evaluateAlert(cpuRule({ namePattern: 'db-*' }), firing, sample({ cpu: 0.99 }), at(5))).toMatchObject({
      kind: 'resolve',
    });
  });

  it('never dates a breach in the future (clock skew between processes)', () => {
    const out = evaluateAlert(
      cpuRule({ durationSeconds: 60 }),
      { breachingSince: at(100), firing: false },
      sample({ cpu: 1 }),
      at(0),
    );
    expect(out).toEqual({ kind: 'pending', breachingSince: at(0) });
  });
});

describe('describeCondition', () => {
  it('says the condition in words', () => {
    expect(describeCondition(cpuRule({ durationSeconds: 300 }))).toBe('CPU above 90% for 5 min');
    expect(describeCondition(cpuRule({ metric: 'memory', comparison: 'gte', threshold: 0.855 }))).toBe(
      'Memory at or above 85.5%',
    );
    expect(
      describeCondition(
        cpuRule({ metric: 'status', comparison: 'eq', threshold: null, statusValue: 'offline', durationSeconds: 90 }),
      ),
    ).toBe('Status is offline for 90 s');
  });
});
