import { useMutation, useQuery } from '@tanstack/solid-query';
import { createEffect, createSignal, For, Show } from 'solid-js';
import { DeletionProgress } from '../../components/deletion-progress';
import { Modal } from '../../components/modal';
import { ErrorNotice } from '../../components/notices';
import { isOver, MODULE_LABELS, type ModuleName, type Tenant, tenantQueries } from '../../lib/tenants';
import { trpc } from '../../lib/trpc';

/** Features…: the modules of one tenant, bounded by the license. Turning one off hides it there. */
export function TenantFeaturesDialog(props: {
  tenant: Tenant;
  onClose: () => void;
  onSaved: (t: Tenant) => Promise<void>;
}) {
  const [enabled, setEnabled] = createSignal<Set<ModuleName>>(
    new Set(props.tenant.features.filter((f) => f.enabled).map((f) => f.module)),
  );
  const save = useMutation(() => ({
    mutationFn: () =>
      trpc.admin.tenants.setFeatures.mutate({
        orgId: props.tenant.id,
        features: Object.fromEntries(
          props.tenant.features.filter((f) => f.available).map((f) => [f.module, enabled().has(f.module)]),
        ),
      }),
    onSuccess: (t) => props.onSaved(t),
  }));
  const toggle = (m: ModuleName, on: boolean) => {
    const next = new Set(enabled());
    if (on) next.add(m);
    else next.delete(m);
    setEnabled(next);
  };
  return (
    <Modal title={`Features of ${props.tenant.name}`} onClose={props.onClose} testId="tenant-features-dialog">
      <form
        class="form"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <p class="muted">
          A module turned off is hidden for this tenant and its API answers FEATURE_DISABLED. Its data stays: turning it
          back on restores access.
        </p>
        <fieldset class="feature-list">
          <legend class="sr-only">Modules</legend>
          <For each={props.tenant.features}>
            {(f) => (
              <label class={f.available ? 'feature' : 'feature feature-unavailable'}>
                <input
                  type="checkbox"
                  name={f.module}
                  checked={enabled().has(f.module)}
                  disabled={!f.available}
                  onChange={(e) => toggle(f.module, e.currentTarget.checked)}
                />
                <span>{MODULE_LABELS[f.module]}</span>
                <Show when={!f.available}>
                  <span class="hint">Not in your license</span>
                </Show>
              </label>
            )}
          </For>
        </fieldset>
        <Show when={save.isError}>
          <ErrorNotice error={save.error} />
        </Show>
        <div class="actions">
          <button type="button" class="button button-secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="button" disabled={save.isPending}>
            {save.isPending ? 'Saving…' : 'Save'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** Make admin tenancy: from now on, its members get shadow memberships in every new tenant. */
export function MakeAdminTenancyDialog(props: {
  tenant: Tenant;
  onClose: () => void;
  onDone: (t: Tenant) => Promise<void>;
}) {
  const make = useMutation(() => ({
    mutationFn: () => trpc.admin.tenants.setAdminTenancy.mutate({ orgId: props.tenant.id }),
    onSuccess: (t) => props.onDone(t),
  }));
  return (
    <Modal title="Make admin tenancy" onClose={props.onClose} testId="admin-tenancy-dialog">
      <p>
        Make <strong>{props.tenant.name}</strong> the admin tenancy? Its members get a shadow membership in every tenant
        created from now on, so they can switch in without an invitation. Existing tenants are not affected.
      </p>
      <Show when={make.isError}>
        <ErrorNotice error={make.error} />
      </Show>
      <div class="actions">
        <button type="button" class="button button-secondary" onClick={props.onClose}>
          Cancel
        </button>
        <button type="button" class="button" disabled={make.isPending} onClick={() => make.mutate()}>
          {make.isPending ? 'Saving…' : 'Make admin tenancy'}
        </button>
      </div>
    </Modal>
  );
}

/**
 * Delete…: type the slug to confirm, then follow the deletion to its report. The dialog stays
 * open on the progress; closing it leaves the deletion running (the row shows it).
 */
export function DeleteTenantDialog(props: { tenant: Tenant; onClose: () => void; onChanged: () => Promise<unknown> }) {
  const [typed, setTyped] = createSignal('');
  const [deletionId, setDeletionId] = createSignal<string | null>(null);
  const remove = useMutation(() => ({
    mutationFn: () => trpc.admin.tenants.remove.mutate({ orgId: props.tenant.id, confirm: typed().trim() }),
    onSuccess: async (res) => {
      setDeletionId(res.deletionId);
      await props.onChanged();
    },
  }));
  return (
    <Modal title={`Delete ${props.tenant.name}`} onClose={props.onClose} testId="delete-tenant-dialog">
      <Show
        when={deletionId()}
        fallback={
          <form
            class="form"
            onSubmit={(e) => {
              e.preventDefault();
              remove.mutate();
            }}
          >
            <p>
              Every row of <strong>{props.tenant.name}</strong> is destroyed: members, agents, resources, alerts, audit
              log, tokens and stored files. Users who belong to no other organization are deleted. There is no undo.
            </p>
            <div class="field">
              <label for="delete-confirm">
                Type <code>{props.tenant.slug}</code> to confirm
              </label>
              <input
                id="delete-confirm"
                autocomplete="off"
                spellcheck={false}
                value={typed()}
                onInput={(e) => setTyped(e.currentTarget.value)}
              />
            </div>
            <Show when={remove.isError}>
              <ErrorNotice error={remove.error} />
            </Show>
            <div class="actions">
              <button type="button" class="button button-secondary" onClick={props.onClose}>
                Cancel
              </button>
              <button
                type="submit"
                class="button button-danger"
                disabled={remove.isPending || typed().trim() !== props.tenant.slug}
              >
                {remove.isPending ? 'Deleting…' : 'Delete tenant'}
              </button>
            </div>
          </form>
        }
      >
        {(id) => <FollowDeletion deletionId={id()} onClose={props.onClose} onOver={props.onChanged} />}
      </Show>
    </Modal>
  );
}

function FollowDeletion(props: { deletionId: string; onClose: () => void; onOver: () => Promise<unknown> }) {
  const deletion = useQuery(() => tenantQueries.deletion(props.deletionId));
  let told = false;
  createEffect(() => {
    if (!told && isOver(deletion.data)) {
      told = true;
      void props.onOver();
    }
  });
  return (
    <div class="form">
      <DeletionProgress deletionId={props.deletionId} />
      <div class="actions">
        <button type="button" class="button button-secondary" onClick={props.onClose}>
          {isOver(deletion.data) ? 'Close' : 'Close (it keeps running)'}
        </button>
      </div>
    </div>
  );
}
