import { useInfiniteQuery, useMutation, useQuery } from '@tanstack/solid-query';
import { formatMetricValue } from '@tenantry/core';
import { createSignal, For, Show } from 'solid-js';
import { Modal } from '../../components/modal';
import { ErrorNotice, Loading, SuccessNotice } from '../../components/notices';
import { type Alert, type AlertRule, type AlertStatusFilter, alertQueries, showsAlerts } from '../../lib/alerts';
import { formatDateTime, titleCase } from '../../lib/format';
import { queries, queryClient } from '../../lib/queries';
import { trpc } from '../../lib/trpc';
import { allows, type CurrentOrg } from '../../lib/types';
import { RuleDialog } from './rule-dialog';

const RESOLUTIONS: Record<NonNullable<Alert['resolution']>, string> = {
  recovered: 'recovered',
  rule_disabled: 'rule disabled',
  rule_changed: 'rule changed',
  rule_removed: 'rule removed',
  resource_removed: 'resource removed',
};

/** Alerts: the firing and resolved alerts of the active org, and its alert rules. */
export function AlertsPage() {
  const org = useQuery(() => queries.orgCurrent());
  return (
    <section class="page">
      <header class="page-head">
        <div>
          <h1>Alerts</h1>
          <p class="muted">
            Rules watch the metrics your agents report; an alert fires once per breach and resolves once it recovers.
          </p>
        </div>
      </header>
      <Show when={org.data} fallback={org.isError ? <ErrorNotice error={org.error} /> : <Loading />}>
        {(current) => (
          <Show
            when={showsAlerts(current())}
            fallback={
              <div class="notice notice-muted" data-testid="alerts-unavailable">
                Alerts are not enabled for this organization.
              </div>
            }
          >
            <AlertList org={current()} />
            <RuleList org={current()} />
          </Show>
        )}
      </Show>
    </section>
  );
}

function AlertList(props: { org: CurrentOrg }) {
  const [status, setStatus] = createSignal<AlertStatusFilter>('firing');
  const alerts = useInfiniteQuery(() => alertQueries.list(props.org.id, status()));
  const rows = () => alerts.data?.pages.flatMap((p) => p.alerts) ?? [];
  const filters: { value: AlertStatusFilter; label: string }[] = [
    { value: 'firing', label: 'Firing' },
    { value: 'resolved', label: 'Resolved' },
    { value: 'all', label: 'All' },
  ];
  return (
    <div class="card card-flush">
      <div class="card-head-padded">
        <h2 class="card-title">Alerts</h2>
        <fieldset class="segmented">
          <legend class="sr-only">Show alerts</legend>
          <For each={filters}>
            {(f) => (
              <button
                type="button"
                class="segmented-item"
                aria-pressed={status() === f.value}
                onClick={() => setStatus(f.value)}
              >
                {f.label}
              </button>
            )}
          </For>
        </fieldset>
      </div>
      <Show when={!alerts.isPending} fallback={<Loading />}>
        <Show when={!alerts.isError} fallback={<ErrorNotice error={alerts.error} class="notice-inset" />}>
          <Show
            when={rows().length > 0}
            fallback={
              <p class="muted card-body" data-testid="alerts-empty">
                {status() === 'firing' ? 'Nothing is firing.' : 'No alerts yet.'}
              </p>
            }
          >
            <div class="table-wrap">
              <table class="table" data-testid="alerts-table">
                <thead>
                  <tr>
                    <th scope="col">Status</th>
                    <th scope="col">Rule</th>
                    <th scope="col">Resource</th>
                    <th scope="col">Value</th>
                    <th scope="col">Fired</th>
                    <th scope="col" class="col-secondary">
                      Resolved
                    </th>
                  </tr>
                </thead>
                <tbody>
                  <For each={rows()}>
                    {(a) => (
                      <tr data-testid={`alert-${a.id}`}>
                        <td>
                          <span class={`status status-${a.status}`}>{titleCase(a.status)}</span>
                        </td>
                        <td>
                          {a.ruleName}
                          <div class="hint">{a.condition}</div>
                        </td>
                        <td>
                          {a.resourceName}
                          <div class="hint">{a.resourceType}</div>
                        </td>
                        <td class="mono">{formatMetricValue(a.metric, a.firedValue)}</td>
                        <td>{formatDateTime(a.firedAt)}</td>
                        <td class="col-secondary">
                          <Show when={a.resolvedAt} fallback="—">
                            {formatDateTime(a.resolvedAt)}
                            <div class="hint">{a.resolution ? RESOLUTIONS[a.resolution] : ''}</div>
                          </Show>
                        </td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </div>
          </Show>
          <Show when={alerts.hasNextPage}>
            <div class="load-more">
              <button
                type="button"
                class="button button-secondary"
                disabled={alerts.isFetchingNextPage}
                onClick={() => void alerts.fetchNextPage()}
              >
                {alerts.isFetchingNextPage ? 'Loading…' : 'Load more'}
              </button>
            </div>
          </Show>
        </Show>
      </Show>
    </div>
  );
}

function RuleList(props: { org: CurrentOrg }) {
  const rules = useQuery(() => alertQueries.rules(props.org.id));
  const [editing, setEditing] = createSignal<AlertRule | 'new' | null>(null);
  const [removing, setRemoving] = createSignal<AlertRule | null>(null);
  const [notice, setNotice] = createSignal<string | null>(null);
  const canWrite = () => allows(props.org, 'alerts.write');
  const remove = useMutation(() => ({
    mutationFn: (rule: AlertRule) => trpc.alertRules.remove.mutate({ ruleId: rule.id }),
    onSuccess: async (_data, rule) => {
      await queryClient.invalidateQueries({ queryKey: ['alerts', props.org.id] });
      setRemoving(null);
      setNotice(`The rule ${rule.name} was removed.`);
    },
  }));
  const scope = (r: AlertRule) =>
    [
      r.resourceTypes.length > 0 ? r.resourceTypes.join(', ') : 'all types',
      r.namePattern ? `named ${r.namePattern}` : null,
      r.resourceIds.length > 0 ? `${r.resourceIds.length} chosen resources` : null,
    ]
      .filter(Boolean)
      .join(' · ');

  return (
    <div class="stack">
      <Show when={notice()}>
        <SuccessNotice>{notice()}</SuccessNotice>
      </Show>
      <div class="card card-flush">
        <div class="card-head-padded">
          <h2 class="card-title">Rules</h2>
          <Show when={canWrite()}>
            <button type="button" class="button" onClick={() => setEditing('new')}>
              New rule
            </button>
          </Show>
        </div>
        <Show when={rules.data} fallback={rules.isError ? <ErrorNotice error={rules.error} /> : <Loading />}>
          {(list) => (
            <Show
              when={list().rules.length > 0}
              fallback={
                <p class="muted card-body">
                  No rules yet{canWrite() ? ': create one to be told when a metric crosses a threshold.' : '.'}
                </p>
              }
            >
              <div class="table-wrap">
                <table class="table" data-testid="rules-table">
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Condition</th>
                      <th scope="col" class="col-secondary">
                        Resources
                      </th>
                      <th scope="col" class="col-secondary">
                        Recipients
                      </th>
                      <th scope="col">State</th>
                      <th scope="col">
                        <span class="sr-only">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={list().rules}>
                      {(r) => (
                        <tr data-testid={`rule-${r.name}`}>
                          <td>{r.name}</td>
                          <td>{r.condition}</td>
                          <td class="col-secondary">{scope(r)}</td>
                          <td class="col-secondary">{r.recipients.length > 0 ? r.recipients.join(', ') : '—'}</td>
                          <td>
                            <span class={r.enabled ? 'badge badge-accent' : 'badge'}>
                              {r.enabled ? 'enabled' : 'disabled'}
                            </span>
                          </td>
                          <td class="cell-actions">
                            <Show when={canWrite()}>
                              <button
                                type="button"
                                class="button button-small button-secondary"
                                aria-label={`Edit ${r.name}`}
                                onClick={() => setEditing(r)}
                              >
                                Edit
                              </button>{' '}
                              <button
                                type="button"
                                class="button button-small button-danger-quiet"
                                aria-label={`Remove ${r.name}`}
                                onClick={() => {
                                  remove.reset();
                                  setRemoving(r);
                                }}
                              >
                                Remove
                              </button>
                            </Show>
                          </td>
                        </tr>
                      )}
                    </For>
                  </tbody>
                </table>
              </div>
            </Show>
          )}
        </Show>
      </div>
      <Show when={editing()}>
        {(target) => (
          <RuleDialog
            orgId={props.org.id}
            rule={target() === 'new' ? undefined : (target() as AlertRule)}
            onClose={() => setEditing(null)}
            onSaved={(name) => setNotice(`The rule ${name} was saved.`)}
          />
        )}
      </Show>
      <Show when={removing()}>
        {(r) => (
          <Modal title="Remove alert rule" onClose={() => setRemoving(null)} testId="remove-rule-dialog">
            <p>
              Remove <strong>{r().name}</strong>? Its firing alerts are resolved now; the history of its alerts stays.
            </p>
            <Show when={remove.isError}>
              <ErrorNotice error={remove.error} />
            </Show>
            <div class="actions">
              <button type="button" class="button button-secondary" onClick={() => setRemoving(null)}>
                Cancel
              </button>
              <button
                type="button"
                class="button button-danger"
                disabled={remove.isPending}
                onClick={() => remove.mutate(r())}
              >
                {remove.isPending ? 'Removing…' : 'Remove rule'}
              </button>
            </div>
          </Modal>
        )}
      </Show>
    </div>
  );
}
