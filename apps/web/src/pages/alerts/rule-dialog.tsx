import {
  ALERT_RESOURCE_TYPES,
  ALERT_STATUS_VALUES,
  type AlertComparison,
  type AlertMetric,
  type AlertResourceType,
  type AlertStatusValue,
  checkAlertRule,
  describeCondition,
} from '@tenantry/core';
import { createSignal, For, Show } from 'solid-js';
import { Modal } from '../../components/modal';
import { ErrorNotice } from '../../components/notices';
import type { AlertRule } from '../../lib/alerts';
import { queryClient } from '../../lib/queries';
import { trpc } from '../../lib/trpc';

const METRICS: { value: AlertMetric; label: string }[] = [
  { value: 'cpu', label: 'CPU' },
  { value: 'memory', label: 'Memory' },
  { value: 'disk', label: 'Disk' },
  { value: 'status', label: 'Status' },
];

const USAGE_COMPARISONS: { value: AlertComparison; label: string }[] = [
  { value: 'gt', label: 'above' },
  { value: 'gte', label: 'at or above' },
  { value: 'lt', label: 'below' },
  { value: 'lte', label: 'at or below' },
];

const STATUS_COMPARISONS: { value: AlertComparison; label: string }[] = [
  { value: 'eq', label: 'is' },
  { value: 'neq', label: 'is not' },
];

const UNITS = [
  { value: 1, label: 'seconds' },
  { value: 60, label: 'minutes' },
  { value: 3600, label: 'hours' },
] as const;

/** A list typed one per line or separated by commas. */
const splitList = (text: string) =>
  text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);

function durationParts(seconds: number): { amount: number; unit: number } {
  if (seconds > 0 && seconds % 3600 === 0) return { amount: seconds / 3600, unit: 3600 };
  if (seconds > 0 && seconds % 60 === 0) return { amount: seconds / 60, unit: 60 };
  return { amount: seconds, unit: 1 };
}

/** Creates a rule, or edits `rule`; the same checks as the server (core's `checkAlertRule`) run as you type. */
export function RuleDialog(props: {
  orgId: string;
  rule?: AlertRule;
  onClose: () => void;
  onSaved: (name: string) => void;
}) {
  const r = props.rule;
  const [name, setName] = createSignal(r?.name ?? '');
  const [metric, setMetric] = createSignal<AlertMetric>(r?.metric ?? 'cpu');
  const [comparison, setComparison] = createSignal<AlertComparison>(r?.comparison ?? 'gt');
  const [percent, setPercent] = createSignal(
    r?.threshold !== null && r?.threshold !== undefined ? String(Math.round(r.threshold * 1000) / 10) : '90',
  );
  const [statusValue, setStatusValue] = createSignal<AlertStatusValue>(r?.statusValue ?? 'offline');
  const initial = durationParts(r?.durationSeconds ?? 0);
  const [amount, setAmount] = createSignal(String(initial.amount));
  const [unit, setUnit] = createSignal(initial.unit);
  const [types, setTypes] = createSignal<string[]>(r?.resourceTypes ?? []);
  const [pattern, setPattern] = createSignal(r?.namePattern ?? '');
  const [ids, setIds] = createSignal((r?.resourceIds ?? []).join('\n'));
  const [recipients, setRecipients] = createSignal((r?.recipients ?? []).join('\n'));
  const [enabled, setEnabled] = createSignal(r?.enabled ?? true);
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<unknown>(null);

  const isStatus = () => metric() === 'status';
  const fields = () => ({
    name: name().trim(),
    metric: metric(),
    comparison: comparison(),
    threshold: isStatus() ? null : Number(percent()) / 100,
    statusValue: isStatus() ? statusValue() : null,
    durationSeconds: Math.round(Number(amount() || '0') * unit()),
    resourceTypes: types() as AlertResourceType[],
    namePattern: pattern().trim() || null,
    resourceIds: splitList(ids()),
    recipients: splitList(recipients()),
    enabled: enabled(),
  });
  const problem = () => {
    if (!name().trim()) return 'Give the rule a name.';
    if (!isStatus() && (percent().trim() === '' || Number.isNaN(Number(percent()))))
      return 'Enter a threshold in percent.';
    try {
      checkAlertRule(fields());
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  };

  function changeMetric(next: AlertMetric) {
    setMetric(next);
    const choices = next === 'status' ? STATUS_COMPARISONS : USAGE_COMPARISONS;
    if (!choices.some((c) => c.value === comparison())) setComparison(choices[0]!.value);
  }

  async function submit(event: SubmitEvent) {
    event.preventDefault();
    if (problem()) return;
    setPending(true);
    setError(null);
    try {
      const saved = r
        ? await trpc.alertRules.update.mutate({ ruleId: r.id, ...fields() })
        : await trpc.alertRules.create.mutate(fields());
      await queryClient.invalidateQueries({ queryKey: ['alerts', props.orgId] });
      props.onSaved(saved.name);
      props.onClose();
    } catch (err) {
      setError(err);
    } finally {
      setPending(false);
    }
  }

  return (
    <Modal title={r ? 'Edit alert rule' : 'New alert rule'} onClose={props.onClose} testId="rule-dialog">
      <form class="form" onSubmit={submit}>
        <div class="field">
          <label for="rule-name">Name</label>
          <input
            id="rule-name"
            required
            maxLength={100}
            value={name()}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </div>
        <div class="form-row">
          <div class="field">
            <label for="rule-metric">Metric</label>
            <select
              id="rule-metric"
              value={metric()}
              onChange={(e) => changeMetric(e.currentTarget.value as AlertMetric)}
            >
              <For each={METRICS}>{(m) => <option value={m.value}>{m.label}</option>}</For>
            </select>
          </div>
          <div class="field">
            <label for="rule-comparison">Condition</label>
            <select
              id="rule-comparison"
              value={comparison()}
              onChange={(e) => setComparison(e.currentTarget.value as AlertComparison)}
            >
              <For each={isStatus() ? STATUS_COMPARISONS : USAGE_COMPARISONS}>
                {(c) => <option value={c.value}>{c.label}</option>}
              </For>
            </select>
          </div>
          <Show
            when={isStatus()}
            fallback={
              <div class="field">
                <label for="rule-threshold">Threshold (%)</label>
                <input
                  id="rule-threshold"
                  type="number"
                  min="0"
                  max="100"
                  step="0.1"
                  value={percent()}
                  onInput={(e) => setPercent(e.currentTarget.value)}
                />
              </div>
            }
          >
            <div class="field">
              <label for="rule-status">Status</label>
              <select
                id="rule-status"
                value={statusValue()}
                onChange={(e) => setStatusValue(e.currentTarget.value as AlertStatusValue)}
              >
                <For each={ALERT_STATUS_VALUES}>{(s) => <option value={s}>{s}</option>}</For>
              </select>
            </div>
          </Show>
        </div>
        <div class="form-row">
          <div class="field">
            <label for="rule-duration">For at least</label>
            <input
              id="rule-duration"
              type="number"
              min="0"
              step="1"
              value={amount()}
              onInput={(e) => setAmount(e.currentTarget.value)}
            />
          </div>
          <div class="field">
            <label for="rule-unit">
              <span class="sr-only">Duration unit</span>&nbsp;
            </label>
            <select id="rule-unit" value={unit()} onChange={(e) => setUnit(Number(e.currentTarget.value))}>
              <For each={UNITS}>{(u) => <option value={u.value}>{u.label}</option>}</For>
            </select>
          </div>
        </div>
        <fieldset class="field fieldset">
          <legend>Resource types (none: all)</legend>
          <div class="checkbox-row">
            <For each={ALERT_RESOURCE_TYPES}>
              {(t) => (
                <label class="checkbox">
                  <input
                    type="checkbox"
                    checked={types().includes(t)}
                    onChange={(e) =>
                      setTypes(e.currentTarget.checked ? [...types(), t] : types().filter((x) => x !== t))
                    }
                  />
                  {t}
                </label>
              )}
            </For>
          </div>
        </fieldset>
        <div class="field">
          <label for="rule-pattern">Name pattern</label>
          <input
            id="rule-pattern"
            maxLength={200}
            placeholder="pve-*"
            value={pattern()}
            onInput={(e) => setPattern(e.currentTarget.value)}
          />
          <p class="hint">Optional. * matches any run of characters, ? one character.</p>
        </div>
        <div class="field">
          <label for="rule-ids">Resource ids</label>
          <textarea id="rule-ids" rows={2} value={ids()} onInput={(e) => setIds(e.currentTarget.value)} />
          <p class="hint">Optional, one per line: only these resources of this organization.</p>
        </div>
        <div class="field">
          <label for="rule-recipients">Email recipients</label>
          <textarea
            id="rule-recipients"
            rows={2}
            placeholder="oncall@example.com"
            value={recipients()}
            onInput={(e) => setRecipients(e.currentTarget.value)}
          />
          <p class="hint">Up to 20, one per line. They get a mail when an alert fires and when it resolves.</p>
        </div>
        <label class="checkbox">
          <input type="checkbox" checked={enabled()} onChange={(e) => setEnabled(e.currentTarget.checked)} />
          Enabled
        </label>
        <p class={problem() ? 'hint hint-error' : 'hint'} data-testid="rule-preview">
          {problem() ?? `Fires when ${describeCondition(fields())}.`}
        </p>
        <Show when={error()}>
          <ErrorNotice error={error()} />
        </Show>
        <div class="actions">
          <button type="button" class="button button-secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="button" disabled={pending() || !!problem()}>
            {pending() ? 'Saving…' : r ? 'Save rule' : 'Create rule'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
