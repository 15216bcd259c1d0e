import { A, useParams } from '@solidjs/router';
import { useMutation, useQuery } from '@tanstack/solid-query';
import { createEffect, createSignal, For, on, Show } from 'solid-js';
import { ErrorNotice, Loading, SuccessNotice } from '../../components/notices';
import { LiveIndicator, SharedBadge, StatusPill, typeLabel, UsageBar } from '../../components/resource-bits';
import { formatDateTime, titleCase } from '../../lib/format';
import { queries } from '../../lib/queries';
import {
  applyResourceEvent,
  createResourcesLive,
  mayEditResource,
  type ResourceDetail,
  resourceQueries,
  showsResources,
} from '../../lib/resources';
import { errorCode, trpc } from '../../lib/trpc';
import type { CurrentOrg } from '../../lib/types';

/** One resource: every field, who reports it, who shares it, and its notes and tags, live. */
export function ResourceDetailPage() {
  const org = useQuery(() => queries.orgCurrent());
  return (
    <section class="page">
      <p class="crumbs">
        <A href="/resources">← Resources</A>
      </p>
      <Show when={org.data} fallback={org.isError ? <ErrorNotice error={org.error} /> : <Loading />}>
        {(current) => (
          <Show
            when={showsResources(current())}
            fallback={
              <div class="notice notice-muted" data-testid="resources-unavailable">
                Agents and resources are not enabled for this organization.
              </div>
            }
          >
            <Detail org={current()} />
          </Show>
        )}
      </Show>
    </section>
  );
}

function Detail(props: { org: CurrentOrg }) {
  const params = useParams<{ id: string }>();
  const live = createResourcesLive(props.org.id);
  const resource = useQuery(() => resourceQueries.byId(props.org.id, params.id));
  return (
    // A failed refetch keeps the old data: once the resource is gone (removed, share ended), say so instead.
    <Show
      when={resource.isError ? undefined : resource.data}
      fallback={
        resource.isError ? (
          <div class="stack">
            <h1>Resource</h1>
            <ErrorNotice error={resource.error} />
            <Show when={errorCode(resource.error) === 'RESOURCE_NOT_FOUND'}>
              <p class="muted" data-testid="resource-gone">
                It may have been removed with its agent, or its share with this organization may have ended.
              </p>
            </Show>
          </div>
        ) : (
          <Loading />
        )
      }
    >
      {(r) => (
        <div class="stack" data-testid="resource-detail">
          <header class="page-head">
            <div>
              <p class="eyebrow">{typeLabel(r().type)}</p>
              <h1 data-testid="resource-name">
                {r().name}
                <Show when={r().shared}>{(shared) => <SharedBadge shared={shared()} />}</Show>
              </h1>
            </div>
            <LiveIndicator state={live.state()} error={live.error()} />
          </header>
          <div class="panel-grid">
            <div class="card">
              <h2 class="card-title">Status</h2>
              <dl class="details">
                <dt>Status</dt>
                <dd>
                  <StatusPill status={r().status} />
                </dd>
                <dt>CPU</dt>
                <dd>
                  <UsageBar value={r().cpu} label="CPU" />
                </dd>
                <dt>Memory</dt>
                <dd>
                  <UsageBar value={r().memory} label="Memory" />
                </dd>
                <dt>Disk</dt>
                <dd>
                  <UsageBar value={r().disk} label="Disk" />
                </dd>
                <dt>Last report</dt>
                <dd data-testid="resource-reported-at">{formatDateTime(r().reportedAt)}</dd>
                <dt>Changed</dt>
                <dd>{formatDateTime(r().updatedAt)}</dd>
              </dl>
            </div>
            <div class="card">
              <h2 class="card-title">Details</h2>
              <dl class="details">
                <dt>Type</dt>
                <dd>{typeLabel(r().type)}</dd>
                <dt>Agent</dt>
                <dd data-testid="resource-agent">
                  {r().agentName ?? <span class="muted">{r().shared ? 'Not visible here' : '—'}</span>}
                </dd>
                <dt>Owner</dt>
                <dd data-testid="resource-owner">
                  <Show when={r().shared} fallback={`${props.org.name} (this organization)`}>
                    {(shared) => (
                      <>
                        Shared by {shared().fromOrgName} as {titleCase(shared().role)}
                      </>
                    )}
                  </Show>
                </dd>
                <dt>Id</dt>
                <dd class="mono">{r().id}</dd>
                <dt>Tags</dt>
                <dd>
                  <Show when={r().tags.length > 0} fallback={<span class="muted">No tags</span>}>
                    <ul class="chips" data-testid="resource-tags">
                      <For each={r().tags}>{(t) => <li class="chip">{t}</li>}</For>
                    </ul>
                  </Show>
                </dd>
                <dt>Notes</dt>
                <dd class="pre-line" data-testid="resource-notes">
                  {r().notes || <span class="muted">No notes</span>}
                </dd>
              </dl>
            </div>
            <NotesForm org={props.org} resource={r()} />
          </div>
        </div>
      )}
    </Show>
  );
}

/** Splits "a, b,,c" into ["a", "b", "c"] without duplicates. */
function parseTags(text: string): string[] {
  return [
    ...new Set(
      text
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    ),
  ];
}

function NotesForm(props: { org: CurrentOrg; resource: ResourceDetail }) {
  const [notes, setNotes] = createSignal(props.resource.notes ?? '');
  const [tags, setTags] = createSignal(props.resource.tags.join(', '));
  const [saved, setSaved] = createSignal(false);
  const serverNotes = () => props.resource.notes ?? '';
  const serverTags = () => props.resource.tags.join(', ');
  const dirty = () => notes() !== serverNotes() || parseTags(tags()).join(', ') !== serverTags();
  // Someone else's change arrives live: take it unless this form holds unsaved edits. A report
  // (status, metrics) leaves the form alone.
  createEffect(
    on([serverNotes, serverTags], ([n, t], previous) => {
      if (!previous) return;
      if (notes() === previous[0] && parseTags(tags()).join(', ') === previous[1]) {
        setNotes(n);
        setTags(t);
      }
    }),
  );

  const update = useMutation(() => ({
    mutationFn: () =>
      trpc.resources.update.mutate({
        resourceId: props.resource.id,
        notes: notes().trim() || null,
        tags: parseTags(tags()),
      }),
    onMutate: () => setSaved(false),
    onSuccess: (resource) => {
      applyResourceEvent(props.org.id, { kind: 'upsert', resource });
      setNotes(resource.notes ?? '');
      setTags(resource.tags.join(', '));
      setSaved(true);
    },
  }));

  const why = () => {
    if (!props.org.permissions.includes('resources.write'))
      return `Your role in ${props.org.name} (${props.org.role}) can read resources but not change them.`;
    if (props.resource.shared)
      return `${props.resource.shared.fromOrgName} shared this resource as ${props.resource.shared.role}: only editor and admin shares can change it.`;
    return '';
  };

  return (
    <Show
      when={mayEditResource(props.org, props.resource)}
      fallback={
        <div class="card">
          <h2 class="card-title">Notes and tags</h2>
          <p class="hint" data-testid="resource-readonly">
            {why()}
          </p>
        </div>
      }
    >
      <form
        class="card form"
        data-testid="resource-edit"
        onSubmit={(e) => {
          e.preventDefault();
          update.mutate();
        }}
      >
        <h2 class="card-title">Notes and tags</h2>
        <div class="field">
          <label for="resource-notes">Notes</label>
          <textarea
            id="resource-notes"
            rows={4}
            maxLength={2000}
            value={notes()}
            onInput={(e) => {
              setSaved(false);
              setNotes(e.currentTarget.value);
            }}
          />
        </div>
        <div class="field">
          <label for="resource-tags">Tags</label>
          <input
            id="resource-tags"
            maxLength={1100}
            placeholder="rack-2, production"
            value={tags()}
            onInput={(e) => {
              setSaved(false);
              setTags(e.currentTarget.value);
            }}
          />
          <p class="hint">Separate tags with commas.</p>
        </div>
        <Show when={update.isError}>
          <ErrorNotice error={update.error} />
        </Show>
        <Show when={saved() && !dirty()}>
          <SuccessNotice>Notes and tags saved.</SuccessNotice>
        </Show>
        <div class="actions">
          <button type="submit" class="button" disabled={update.isPending || !dirty()}>
            {update.isPending ? 'Saving…' : 'Save'}
          </button>
        </div>
      </form>
    </Show>
  );
}
