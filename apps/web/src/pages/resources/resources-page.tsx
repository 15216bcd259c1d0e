import { A } from '@solidjs/router';
import { useInfiniteQuery, useQuery } from '@tanstack/solid-query';
import { createSignal, For, onCleanup, Show } from 'solid-js';
import { ErrorNotice, Loading } from '../../components/notices';
import { LiveIndicator, SharedBadge, StatusPill, typeLabel, UsageBar } from '../../components/resource-bits';
import { showsAgents } from '../../lib/agents';
import { formatDateTime, titleCase } from '../../lib/format';
import { queries } from '../../lib/queries';
import {
  createResourcesLive,
  RESOURCE_STATUSES,
  RESOURCE_TYPES,
  type ResourceFilters,
  type ResourceStatus,
  type ResourceType,
  resourceQueries,
  showsResources,
} from '../../lib/resources';
import { allows, type CurrentOrg } from '../../lib/types';

/** Resources: the hosts, VMs, containers and storage the org's agents report, and those shared with it, live. */
export function ResourcesPage() {
  const org = useQuery(() => queries.orgCurrent());
  return (
    <section class="page">
      <Show when={org.data} fallback={org.isError ? <ErrorNotice error={org.error} /> : <Loading />}>
        {(current) => (
          <Show
            when={showsResources(current())}
            fallback={
              <>
                <ResourcesHead />
                <div class="notice notice-muted" data-testid="resources-unavailable">
                  {current().modules.includes('agents')
                    ? 'Your role in this organization does not allow reading its resources.'
                    : 'Agents and resources are not enabled for this organization.'}
                </div>
              </>
            }
          >
            <Resources org={current()} />
          </Show>
        )}
      </Show>
    </section>
  );
}

function ResourcesHead(props: { live?: ReturnType<typeof createResourcesLive> }) {
  return (
    <header class="page-head">
      <div>
        <h1>Resources</h1>
        <p class="muted">
          What your agents report, with its latest status and usage, and the resources other organizations share with
          this one.
        </p>
      </div>
      <Show when={props.live}>{(live) => <LiveIndicator state={live().state()} error={live().error()} />}</Show>
    </header>
  );
}

function Resources(props: { org: CurrentOrg }) {
  const live = createResourcesLive(props.org.id);
  const [type, setType] = createSignal<ResourceType | ''>('');
  const [status, setStatus] = createSignal<ResourceStatus | ''>('');
  const [search, setSearch] = createSignal('');
  const [applied, setApplied] = createSignal('');
  let typing: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(typing));
  const onSearch = (value: string) => {
    setSearch(value);
    clearTimeout(typing);
    typing = setTimeout(() => setApplied(value.trim()), 250);
  };
  const filters = (): ResourceFilters => ({
    ...(type() ? { type: type() as ResourceType } : {}),
    ...(status() ? { status: status() as ResourceStatus } : {}),
    ...(applied() ? { search: applied() } : {}),
  });
  const filtered = () => Object.keys(filters()).length > 0;
  const resources = useInfiniteQuery(() => resourceQueries.list(props.org.id, filters()));
  const rows = () => resources.data?.pages.flatMap((p) => p.resources) ?? [];

  return (
    <div class="stack">
      <ResourcesHead live={live} />
      <form class="card form-row" data-testid="resource-filters" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="resource-type">Type</label>
          <select
            id="resource-type"
            value={type()}
            onChange={(e) => setType(e.currentTarget.value as ResourceType | '')}
          >
            <option value="">All types</option>
            <For each={RESOURCE_TYPES}>{(t) => <option value={t}>{typeLabel(t)}</option>}</For>
          </select>
        </div>
        <div class="field">
          <label for="resource-status">Status</label>
          <select
            id="resource-status"
            value={status()}
            onChange={(e) => setStatus(e.currentTarget.value as ResourceStatus | '')}
          >
            <option value="">Any status</option>
            <For each={RESOURCE_STATUSES}>{(s) => <option value={s}>{titleCase(s)}</option>}</For>
          </select>
        </div>
        <div class="field field-grow">
          <label for="resource-search">Search</label>
          <input
            id="resource-search"
            type="search"
            maxLength={100}
            placeholder="Name contains…"
            value={search()}
            onInput={(e) => onSearch(e.currentTarget.value)}
          />
        </div>
      </form>

      <div class="card card-flush">
        <Show when={!resources.isPending} fallback={<Loading />}>
          <Show when={!resources.isError} fallback={<ErrorNotice error={resources.error} class="notice-inset" />}>
            <Show
              when={rows().length > 0}
              fallback={
                <p class="muted card-body" data-testid="resources-empty">
                  <Show when={!filtered()} fallback="No resources match these filters.">
                    No resources yet: they appear here as soon as an agent reports them.{' '}
                    <Show when={showsAgents(props.org)}>
                      <A href="/agents">
                        {allows(props.org, 'agents.register') ? 'Register an agent' : 'See the agents'}
                      </A>
                    </Show>
                  </Show>
                </p>
              }
            >
              <div class="table-wrap">
                <table class="table" data-testid="resources-table">
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Type</th>
                      <th scope="col">Status</th>
                      <th scope="col">CPU</th>
                      <th scope="col">Memory</th>
                      <th scope="col">Disk</th>
                      <th scope="col" class="col-secondary">
                        Last report
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={rows()}>
                      {(r) => (
                        <tr data-testid="resource-row" data-resource-id={r.id} data-resource-name={r.name}>
                          <td>
                            <A class="resource-link" href={`/resources/${r.id}`}>
                              {r.name}
                            </A>
                            <Show when={r.shared}>{(shared) => <SharedBadge shared={shared()} />}</Show>
                          </td>
                          <td>{typeLabel(r.type)}</td>
                          <td>
                            <StatusPill status={r.status} />
                          </td>
                          <td>
                            <UsageBar value={r.cpu} label="CPU" />
                          </td>
                          <td>
                            <UsageBar value={r.memory} label="Memory" />
                          </td>
                          <td>
                            <UsageBar value={r.disk} label="Disk" />
                          </td>
                          <td class="col-secondary">{formatDateTime(r.reportedAt)}</td>
                        </tr>
                      )}
                    </For>
                  </tbody>
                </table>
              </div>
            </Show>
            <Show when={resources.hasNextPage}>
              <div class="load-more">
                <button
                  type="button"
                  class="button button-secondary"
                  disabled={resources.isFetchingNextPage}
                  onClick={() => void resources.fetchNextPage()}
                >
                  {resources.isFetchingNextPage ? 'Loading…' : 'Load more'}
                </button>
              </div>
            </Show>
          </Show>
        </Show>
      </div>
    </div>
  );
}
