import { useQuery } from '@tanstack/solid-query';
import { For, Match, Show, Switch } from 'solid-js';
import { formatCount, STEP_LABELS, tenantQueries } from '../lib/tenants';
import { ErrorNotice, Loading } from './notices';

/**
 * A deletion as it runs: a progress bar over the rows counted at the start, the current step,
 * then the report (rows per kind, users deleted and repointed).
 */
export function DeletionProgress(props: { deletionId: string; compact?: boolean }) {
  const deletion = useQuery(() => tenantQueries.deletion(props.deletionId));
  return (
    <Show when={deletion.data} fallback={deletion.isError ? <ErrorNotice error={deletion.error} /> : <Loading />}>
      {(d) => (
        <div
          class={props.compact ? 'deletion deletion-compact' : 'deletion'}
          data-testid={props.compact ? 'deletion-progress-compact' : 'deletion-progress'}
          data-status={d().status}
        >
          <div
            class="progress"
            role="progressbar"
            aria-label={`Deleting ${d().orgName}`}
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={Math.round(d().fraction * 100)}
          >
            <div class="progress-bar" style={{ width: `${Math.round(d().fraction * 100)}%` }} />
          </div>
          <p class="muted deletion-line">
            <Switch>
              <Match when={d().status === 'scheduled'}>
                Scheduled: starts {new Date(d().runAfter).toLocaleString()}. Until then it can be restored.
              </Match>
              <Match when={d().status === 'running'}>
                {STEP_LABELS[d().step]} — {formatCount(d().rowsDeleted)} of {formatCount(d().rowsTotal)} rows (
                {Math.round(d().fraction * 100)}%)
              </Match>
              <Match when={d().status === 'completed'}>Deleted.</Match>
              <Match when={d().status === 'cancelled'}>Cancelled: the organization was restored.</Match>
              <Match when={d().status === 'failed'}>The deletion failed and will not retry by itself.</Match>
            </Switch>
          </p>
          <Show when={!props.compact && d().error && d().status !== 'completed'}>
            <p class="notice notice-warning">Last attempt: {d().error}</p>
          </Show>
          <Show when={!props.compact && d().report}>
            {(report) => (
              <div class="deletion-report" data-testid="deletion-report">
                <h3 class="card-title">Report</h3>
                <dl class="details">
                  <dt>Rows deleted</dt>
                  <dd data-testid="report-rows">{formatCount(report().rowsTotal)}</dd>
                  <dt>Users deleted</dt>
                  <dd data-testid="report-users-deleted">{report().usersDeleted}</dd>
                  <dt>Users repointed</dt>
                  <dd data-testid="report-users-repointed">{report().usersRepointed}</dd>
                  <dt>Files removed</dt>
                  <dd>{report().filesDeleted}</dd>
                </dl>
                <ul class="chips">
                  <For each={Object.entries(report().rowsDeleted).filter(([, n]) => n > 0)}>
                    {([table, n]) => (
                      <li class="chip">
                        {table.replaceAll('_', ' ')}: {formatCount(n)}
                      </li>
                    )}
                  </For>
                </ul>
              </div>
            )}
          </Show>
        </div>
      )}
    </Show>
  );
}
