import { useMutation, useQuery } from '@tanstack/solid-query';
import { checkSlug, slugify } from '@tenantry/core';
import { createSignal, For, Show } from 'solid-js';
import { DeletionProgress } from '../../components/deletion-progress';
import { ErrorNotice, Loading, SuccessNotice } from '../../components/notices';
import { formatDate, titleCase } from '../../lib/format';
import { queries, queryClient } from '../../lib/queries';
import { type Tenant, tenantQueries } from '../../lib/tenants';
import { trpc } from '../../lib/trpc';
import { isSuperadmin } from '../../lib/types';
import { DeleteTenantDialog, MakeAdminTenancyDialog, TenantFeaturesDialog } from './tenant-dialogs';

/** Admin → Tenants: every tenant of the server, for platform administrators (the tenant admin guide). */
export function TenantsPage() {
  const me = useQuery(() => queries.me());
  return (
    <section class="page">
      <header class="page-head">
        <div>
          <p class="eyebrow">Admin</p>
          <h1>Tenants</h1>
          <p class="muted">Every organization on this server, with what it may use.</p>
        </div>
      </header>
      <Show
        when={isSuperadmin(me.data)}
        fallback={
          <p class="notice notice-muted" data-testid="tenants-restricted">
            Only a platform administrator can manage the tenants of this server.
          </p>
        }
      >
        <TenantsTable />
      </Show>
    </section>
  );
}

type Dialog =
  | { kind: 'features'; tenant: Tenant }
  | { kind: 'delete'; tenant: Tenant }
  | { kind: 'admin-tenancy'; tenant: Tenant }
  | null;

function TenantsTable() {
  const list = useQuery(() => ({
    ...tenantQueries.list(),
    // While a tenant is being deleted its row shows the progress; the list follows it.
    refetchInterval: (q) => (q.state.data?.tenants.some((t) => t.deletion) ? 2000 : false),
  }));
  const [dialog, setDialog] = createSignal<Dialog>(null);
  const [notice, setNotice] = createSignal<string | null>(null);
  const [actionError, setActionError] = createSignal<unknown>(null);
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: ['admin', 'tenants'] }),
      queryClient.invalidateQueries({ queryKey: ['auth', 'me'] }),
      queryClient.invalidateQueries({ queryKey: ['org', 'current'] }),
    ]);

  const suspension = useMutation(() => ({
    mutationFn: (t: Tenant) =>
      t.status === 'suspended'
        ? trpc.admin.tenants.resume.mutate({ orgId: t.id })
        : trpc.admin.tenants.suspend.mutate({ orgId: t.id }),
    onMutate: () => {
      setActionError(null);
      setNotice(null);
    },
    onSuccess: async (t) => {
      await refresh();
      setNotice(t.status === 'suspended' ? `${t.name} is suspended.` : `${t.name} is active again.`);
    },
    onError: setActionError,
  }));

  const inUse = () => {
    const data = list.data;
    if (!data) return '';
    return `Tenants in use: ${data.inUse} / ${data.maxTenants ?? '∞'}`;
  };

  return (
    <div class="stack">
      <Show when={notice()}>
        <SuccessNotice>{notice()}</SuccessNotice>
      </Show>
      <Show when={actionError()}>
        <ErrorNotice error={actionError()} />
      </Show>
      <Show when={list.data && !list.data.multiTenantEnabled}>
        <p class="notice notice-muted">
          Multi-tenant mode is off on this server: only the default organization is in use, and tenants cannot be added.
        </p>
      </Show>
      <div class="card card-flush">
        <h2 class="card-title card-title-padded" data-testid="tenants-in-use">
          {inUse()}
        </h2>
        <Show when={list.data} fallback={list.isError ? <ErrorNotice error={list.error} /> : <Loading />}>
          {(data) => (
            <div class="table-wrap">
              <table class="table" data-testid="tenants-table">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Slug</th>
                    <th scope="col" class="col-secondary">
                      Created
                    </th>
                    <th scope="col">Status</th>
                    <th scope="col">Members</th>
                    <th scope="col">Agents</th>
                    <th scope="col">
                      <span class="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  <For each={data().tenants}>
                    {(t) => (
                      <tr data-testid={`tenant-${t.slug}`}>
                        <td>
                          {t.name}
                          <Show when={t.isCurrent}>
                            <span class="badge badge-accent">YOU ARE HERE</span>
                          </Show>
                          <Show when={t.isAdminTenancy}>
                            <span class="badge badge-admin">ADMIN TENANCY</span>
                          </Show>
                        </td>
                        <td>
                          <code>{t.slug}</code>
                        </td>
                        <td class="col-secondary">{formatDate(t.createdAt)}</td>
                        <td>
                          <span class={`status status-org-${t.status}`} data-testid={`tenant-status-${t.slug}`}>
                            {titleCase(t.status.replace('_', ' '))}
                          </span>
                          <Show when={t.deletion}>{(d) => <DeletionProgress deletionId={d().id} compact />}</Show>
                        </td>
                        <td>{t.members}</td>
                        <td>{t.agents}</td>
                        <td class="cell-actions">
                          <TenantActions
                            tenant={t}
                            busy={suspension.isPending}
                            onFeatures={() => setDialog({ kind: 'features', tenant: t })}
                            onDelete={() => setDialog({ kind: 'delete', tenant: t })}
                            onAdminTenancy={() => setDialog({ kind: 'admin-tenancy', tenant: t })}
                            onSuspension={() => suspension.mutate(t)}
                          />
                        </td>
                      </tr>
                    )}
                  </For>
                </tbody>
                <Show when={data().multiTenantEnabled}>
                  <tfoot>
                    <CreateTenantRow
                      onCreated={async (t) => {
                        await refresh();
                        setNotice(`${t.name} was added. Open Features… to trim it to what the customer bought.`);
                      }}
                    />
                  </tfoot>
                </Show>
              </table>
            </div>
          )}
        </Show>
      </div>
      <Show when={dialog()}>
        {(d) => (
          <>
            <Show when={d().kind === 'features'}>
              <TenantFeaturesDialog
                tenant={d().tenant}
                onClose={() => setDialog(null)}
                onSaved={async (t) => {
                  await refresh();
                  setDialog(null);
                  setNotice(`Features of ${t.name} saved.`);
                }}
              />
            </Show>
            <Show when={d().kind === 'delete'}>
              <DeleteTenantDialog tenant={d().tenant} onClose={() => setDialog(null)} onChanged={refresh} />
            </Show>
            <Show when={d().kind === 'admin-tenancy'}>
              <MakeAdminTenancyDialog
                tenant={d().tenant}
                onClose={() => setDialog(null)}
                onDone={async (t) => {
                  await refresh();
                  setDialog(null);
                  setNotice(`${t.name} is the admin tenancy.`);
                }}
              />
            </Show>
          </>
        )}
      </Show>
    </div>
  );
}

function TenantActions(props: {
  tenant: Tenant;
  busy: boolean;
  onFeatures: () => void;
  onDelete: () => void;
  onAdminTenancy: () => void;
  onSuspension: () => void;
}) {
  const t = () => props.tenant;
  const leaving = () => t().status === 'pending_deletion' || t().status === 'deleting';
  return (
    <Show when={!leaving()}>
      <div class="row-actions">
        <Show when={!t().isAdminTenancy && t().status === 'active'}>
          <button type="button" class="button button-small button-secondary" onClick={() => props.onAdminTenancy()}>
            Make admin tenancy
          </button>
        </Show>
        <button
          type="button"
          class="button button-small button-secondary"
          aria-label={`Features of ${t().name}`}
          onClick={() => props.onFeatures()}
        >
          Features…
        </button>
        <Show when={!t().isDefault && !t().isAdminTenancy}>
          <button
            type="button"
            class="button button-small button-secondary"
            disabled={props.busy}
            aria-label={`${t().status === 'suspended' ? 'Resume' : 'Suspend'} ${t().name}`}
            onClick={() => props.onSuspension()}
          >
            {t().status === 'suspended' ? 'Resume' : 'Suspend'}
          </button>
        </Show>
        <Show when={!t().isDefault && !t().isAdminTenancy && !t().isCurrent}>
          <button
            type="button"
            class="button button-small button-danger-quiet"
            aria-label={`Delete ${t().name}`}
            onClick={() => props.onDelete()}
          >
            Delete…
          </button>
        </Show>
      </div>
    </Show>
  );
}

/** The inline create row at the bottom of the table: a name and a slug. */
function CreateTenantRow(props: { onCreated: (t: Tenant) => Promise<void> }) {
  const [name, setName] = createSignal('');
  const [slugInput, setSlugInput] = createSignal('');
  const [slugEdited, setSlugEdited] = createSignal(false);
  const slug = () => (slugEdited() ? slugInput() : name().trim() ? slugify(name()) : '');
  const slugProblem = () => {
    const value = slug();
    if (!value) return null;
    const check = checkSlug(value);
    return check.ok ? null : check.reason;
  };
  const create = useMutation(() => ({
    mutationFn: () => trpc.admin.tenants.create.mutate({ name: name().trim(), slug: slug() }),
    onSuccess: async (tenant) => {
      setName('');
      setSlugInput('');
      setSlugEdited(false);
      await props.onCreated(tenant);
    },
  }));
  return (
    <tr class="create-row">
      <td colSpan={7}>
        <form
          class="form-row create-tenant"
          aria-label="Add tenant"
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <div class="field field-grow">
            <label for="tenant-name">Tenant name</label>
            <input
              id="tenant-name"
              required
              maxLength={100}
              autocomplete="off"
              value={name()}
              onInput={(e) => setName(e.currentTarget.value)}
            />
          </div>
          <div class="field field-grow">
            <label for="tenant-slug">Slug</label>
            <input
              id="tenant-slug"
              maxLength={48}
              autocomplete="off"
              spellcheck={false}
              aria-invalid={slugProblem() ? true : undefined}
              value={slug()}
              onInput={(e) => {
                setSlugEdited(true);
                setSlugInput(e.currentTarget.value);
              }}
            />
          </div>
          <button
            type="submit"
            class="button"
            disabled={create.isPending || !name().trim() || !slug() || !!slugProblem()}
          >
            {create.isPending ? 'Adding…' : 'Add tenant'}
          </button>
        </form>
        <Show when={slugProblem()}>
          <p class="hint hint-error">{slugProblem()}</p>
        </Show>
        <Show when={create.isError}>
          <ErrorNotice error={create.error} />
        </Show>
      </td>
    </tr>
  );
}
