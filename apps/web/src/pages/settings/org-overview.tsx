import { useMutation, useQuery } from '@tanstack/solid-query';
import { createEffect, createSignal, on, Show } from 'solid-js';
import { ErrorNotice, Loading, SuccessNotice } from '../../components/notices';
import { OrgLogoCard } from '../../components/org-logo';
import { formatDate, titleCase } from '../../lib/format';
import { queries, queryClient } from '../../lib/queries';
import { trpc } from '../../lib/trpc';
import { allows, type CurrentOrg } from '../../lib/types';

/** Settings → Organization → Overview. */
export function OrgOverviewPanel() {
  const org = useQuery(() => queries.orgCurrent());
  return (
    <Show when={org.data} fallback={org.isError ? null : <Loading />}>
      {(current) => (
        <div class="panel-grid">
          <div class="card">
            <h2 class="card-title">Details</h2>
            <dl class="details">
              <dt>Name</dt>
              <dd data-testid="overview-name">{current().name}</dd>
              <dt>Slug</dt>
              <dd>
                <code>{current().slug}</code>
              </dd>
              <dt>Description</dt>
              <dd>{current().description || <span class="muted">No description</span>}</dd>
              <dt>Created</dt>
              <dd>{formatDate(current().createdAt)}</dd>
              <dt>Your role</dt>
              <dd>{titleCase(current().role)}</dd>
              <dt>Plan tier</dt>
              <dd>{titleCase(current().tier)}</dd>
            </dl>
            <Show when={current().isDefault}>
              <p class="hint">This is the default organization: it always exists and cannot be renamed or deleted.</p>
            </Show>
          </div>
          <Show when={allows(current(), 'org.update')}>
            <EditOrgForm org={current()} />
          </Show>
          <OrgLogoCard org={current()} />
        </div>
      )}
    </Show>
  );
}

function EditOrgForm(props: { org: CurrentOrg }) {
  const [name, setName] = createSignal(props.org.name);
  const [description, setDescription] = createSignal(props.org.description ?? '');
  const [saved, setSaved] = createSignal(false);
  // Fresh server data (after saving or a refetch) resets the form.
  createEffect(
    on(
      () => [props.org.name, props.org.description] as const,
      ([n, d]) => {
        setName(n);
        setDescription(d ?? '');
      },
    ),
  );

  const update = useMutation(() => ({
    mutationFn: () =>
      trpc.orgs.update.mutate({
        orgId: props.org.id,
        ...(props.org.isDefault ? {} : { name: name().trim() }),
        description: description().trim(),
      }),
    onSuccess: async () => {
      setSaved(true);
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: ['org', 'current'] }),
        queryClient.invalidateQueries({ queryKey: ['auth', 'me'] }),
      ]);
    },
  }));

  const dirty = () =>
    (!props.org.isDefault && name().trim() !== props.org.name) ||
    description().trim() !== (props.org.description ?? '');

  return (
    <form
      class="card form"
      onSubmit={(e) => {
        e.preventDefault();
        setSaved(false);
        update.mutate();
      }}
    >
      <h2 class="card-title">Edit</h2>
      <div class="field">
        <label for="overview-name-input">Name</label>
        <input
          id="overview-name-input"
          required
          maxLength={100}
          disabled={props.org.isDefault}
          aria-describedby={props.org.isDefault ? 'overview-name-hint' : undefined}
          value={name()}
          onInput={(e) => {
            setSaved(false);
            setName(e.currentTarget.value);
          }}
        />
        <Show when={props.org.isDefault}>
          <p id="overview-name-hint" class="hint">
            The default organization cannot be renamed.
          </p>
        </Show>
      </div>
      <div class="field">
        <label for="overview-description-input">Description</label>
        <textarea
          id="overview-description-input"
          rows={3}
          maxLength={500}
          value={description()}
          onInput={(e) => {
            setSaved(false);
            setDescription(e.currentTarget.value);
          }}
        />
      </div>
      <Show when={update.isError}>
        <ErrorNotice error={update.error} />
      </Show>
      <Show when={saved() && !dirty()}>
        <SuccessNotice>Saved.</SuccessNotice>
      </Show>
      <div class="actions">
        <button type="submit" class="button" disabled={update.isPending || !dirty() || !name().trim()}>
          {update.isPending ? 'Saving…' : 'Save changes'}
        </button>
      </div>
    </form>
  );
}
