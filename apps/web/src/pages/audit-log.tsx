import { useInfiniteQuery, useMutation, useQuery } from '@tanstack/solid-query';
import { createSignal, For, Show } from 'solid-js';
import { ErrorNotice, Loading } from '../components/notices';
import { type AuditFilters, auditExportUrl, auditQueries, showsAudit } from '../lib/audit';
import { formatDateTime } from '../lib/format';
import { queries, queryClient } from '../lib/queries';
import { trpc } from '../lib/trpc';
import type { CurrentOrg } from '../lib/types';

const ACTOR_TYPES = ['user', 'token', 'agent', 'system', 'operator'] as const;

/** A `datetime-local` value as ISO 8601 (the browser's time zone), or undefined. */
const isoOf = (local: string) => (local ? new Date(local).toISOString() : undefined);

/** The audit log of the active org: filters, pages, export and the chain check (admins and owners). */
export function AuditLogPage() {
  const org = useQuery(() => queries.orgCurrent());
  return (
    <section class="page">
      <header class="page-head">
        <div>
          <h1>Audit log</h1>
          <p class="muted">
            Every change made in this organization, by whom and from where. Each entry seals the one before it, so an
            edited or deleted entry is detected.
          </p>
        </div>
      </header>
      <Show when={org.data} fallback={org.isError ? <ErrorNotice error={org.error} /> : <Loading />}>
        {(current) => (
          <Show
            when={showsAudit(current())}
            fallback={
              <div class="notice notice-muted" data-testid="audit-unavailable">
                {current().modules.includes('audit')
                  ? 'Only admins and owners of this organization can read its audit log.'
                  : 'The audit log is not enabled for this organization.'}
              </div>
            }
          >
            <AuditLog org={current()} />
          </Show>
        )}
      </Show>
    </section>
  );
}

function AuditLog(props: { org: CurrentOrg }) {
  const [actorType, setActorType] = createSignal('');
  const [actorId, setActorId] = createSignal('');
  const [action, setAction] = createSignal('');
  const [from, setFrom] = createSignal('');
  const [to, setTo] = createSignal('');
  const [filters, setFilters] = createSignal<AuditFilters>({});
  const events = useInfiniteQuery(() => auditQueries.list(props.org.id, filters()));
  const rows = () => events.data?.pages.flatMap((p) => p.events) ?? [];
  const verify = useMutation(() => ({
    mutationFn: () => trpc.audit.verify.mutate(),
    // The check is itself recorded: show its entry.
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['audit', props.org.id] }),
  }));

  function apply(event: SubmitEvent) {
    event.preventDefault();
    setFilters({
      ...(actorType() ? { actorType: actorType() as AuditFilters['actorType'] } : {}),
      ...(actorId().trim() ? { actorId: actorId().trim() } : {}),
      ...(action().trim() ? { action: action().trim() } : {}),
      ...(from() ? { from: isoOf(from()) } : {}),
      ...(to() ? { to: isoOf(to()) } : {}),
    });
  }

  function reset() {
    setActorType('');
    setActorId('');
    setAction('');
    setFrom('');
    setTo('');
    setFilters({});
  }

  return (
    <div class="stack">
      <form class="card form" onSubmit={apply} data-testid="audit-filters">
        <h2 class="card-title">Filters</h2>
        <div class="form-row">
          <div class="field">
            <label for="audit-actor-type">Actor</label>
            <select id="audit-actor-type" value={actorType()} onChange={(e) => setActorType(e.currentTarget.value)}>
              <option value="">Anyone</option>
              <For each={ACTOR_TYPES}>{(t) => <option value={t}>{t}</option>}</For>
            </select>
          </div>
          <div class="field field-grow">
            <label for="audit-actor-id">Actor id</label>
            <input
              id="audit-actor-id"
              maxLength={36}
              placeholder="user, token or agent id"
              value={actorId()}
              onInput={(e) => setActorId(e.currentTarget.value)}
            />
          </div>
          <div class="field field-grow">
            <label for="audit-action">Action</label>
            <input
              id="audit-action"
              maxLength={100}
              placeholder="alert.fired"
              list="audit-actions"
              value={action()}
              onInput={(e) => setAction(e.currentTarget.value)}
            />
            <datalist id="audit-actions">
              <For each={[...new Set(rows().map((e) => e.action))].sort()}>{(a) => <option value={a} />}</For>
            </datalist>
          </div>
        </div>
        <div class="form-row">
          <div class="field">
            <label for="audit-from">From</label>
            <input
              id="audit-from"
              type="datetime-local"
              value={from()}
              onInput={(e) => setFrom(e.currentTarget.value)}
            />
          </div>
          <div class="field">
            <label for="audit-to">Until</label>
            <input id="audit-to" type="datetime-local" value={to()} onInput={(e) => setTo(e.currentTarget.value)} />
          </div>
          <button type="submit" class="button">
            Apply filters
          </button>
          <button type="button" class="button button-secondary" onClick={reset}>
            Reset
          </button>
        </div>
      </form>

      <div class="toolbar">
        <a class="button button-secondary" href={auditExportUrl('ndjson', filters())} download="">
          Export NDJSON
        </a>
        <a class="button button-secondary" href={auditExportUrl('csv', filters())} download="">
          Export CSV
        </a>
        <span class="toolbar-spacer" />
        <button type="button" class="button" disabled={verify.isPending} onClick={() => verify.mutate()}>
          {verify.isPending ? 'Verifying…' : 'Verify chain'}
        </button>
      </div>
      <Show when={verify.isError}>
        <ErrorNotice error={verify.error} />
      </Show>
      <Show when={verify.data}>
        {(result) => (
          <Show
            when={result().ok}
            fallback={
              <div role="alert" class="notice notice-error" data-testid="verify-result">
                <strong>The audit log was tampered with.</strong> {result().firstBroken?.message} ({result().checked}{' '}
                entries before it are intact.)
                <Show when={result().firstBroken?.entry}>
                  {(entry) => (
                    <span>
                      {' '}
                      Entry {result().firstBroken?.seq} now reads “{entry().action}” at{' '}
                      {formatDateTime(entry().occurredAt)}.
                    </span>
                  )}
                </Show>
              </div>
            }
          >
            <div role="status" class="notice notice-success" data-testid="verify-result">
              The audit log is intact: {result().checked} entries checked.
            </div>
          </Show>
        )}
      </Show>

      <div class="card card-flush">
        <h2 class="card-title card-title-padded">Entries</h2>
        <Show when={!events.isPending} fallback={<Loading />}>
          <Show when={!events.isError} fallback={<ErrorNotice error={events.error} />}>
            <Show when={rows().length > 0} fallback={<p class="muted card-body">No entries match.</p>}>
              <div class="table-wrap">
                <table class="table" data-testid="audit-table">
                  <thead>
                    <tr>
                      <th scope="col">#</th>
                      <th scope="col">Time</th>
                      <th scope="col">Actor</th>
                      <th scope="col">Action</th>
                      <th scope="col" class="col-secondary">
                        Target
                      </th>
                      <th scope="col" class="col-secondary">
                        Address
                      </th>
                      <th scope="col">Details</th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={rows()}>
                      {(e) => (
                        <tr data-testid={`audit-${e.seq}`}>
                          <td class="mono">{e.seq}</td>
                          <td>{formatDateTime(e.occurredAt)}</td>
                          <td>
                            {e.actorLabel ?? (e.actorType === 'system' ? 'Tenantry' : (e.actorId ?? '—'))}
                            <span class="badge">{e.actorType}</span>
                          </td>
                          <td class="mono">{e.action}</td>
                          <td class="col-secondary">
                            {e.targetType ? `${e.targetType} ` : ''}
                            <span class="mono hint">{e.targetId ?? ''}</span>
                          </td>
                          <td class="col-secondary mono">{e.ip ?? '—'}</td>
                          <td>
                            <Show when={Object.keys(e.details).length > 0} fallback="—">
                              <details>
                                <summary>{Object.keys(e.details).slice(0, 3).join(', ')}</summary>
                                <pre class="details-json">{JSON.stringify(e.details, null, 2)}</pre>
                              </details>
                            </Show>
                          </td>
                        </tr>
                      )}
                    </For>
                  </tbody>
                </table>
              </div>
            </Show>
            <Show when={events.hasNextPage}>
              <div class="load-more">
                <button
                  type="button"
                  class="button button-secondary"
                  disabled={events.isFetchingNextPage}
                  onClick={() => void events.fetchNextPage()}
                >
                  {events.isFetchingNextPage ? 'Loading…' : 'Load more'}
                </button>
              </div>
            </Show>
          </Show>
        </Show>
      </div>
    </div>
  );
}
