import { useMutation, useQuery } from '@tanstack/solid-query';
import { createMemo, createSignal, For, Show } from 'solid-js';
import { ConfirmModal } from '../../components/modal';
import { ErrorNotice, Loading, SuccessNotice } from '../../components/notices';
import { typeLabel } from '../../components/resource-bits';
import { formatDate, titleCase } from '../../lib/format';
import { queries, queryClient } from '../../lib/queries';
import { type Resource, SHARE_ROLES, type ShareRole, showsResources } from '../../lib/resources';
import { type Share, shareQueries, showsSharing } from '../../lib/shares';
import { trpc } from '../../lib/trpc';
import { allows, type CurrentOrg } from '../../lib/types';

/** A share's resource by name; the name is gone once the resource is. */
const nameOf = (share: { resourceName: string | null }) => share.resourceName ?? 'A removed resource';

const ROLE_HINTS: Record<ShareRole, string> = {
  viewer: 'Viewer: sees the resource and its metrics.',
  editor: 'Editor: also changes its notes and tags.',
  admin: 'Admin: also shares it on with other organizations.',
};

/** Settings → Organization → Sharing: the resources this org shares with others, and those shared with it. */
export function OrgSharingPanel() {
  const org = useQuery(() => queries.orgCurrent());
  return (
    <Show when={org.data} fallback={org.isError ? null : <Loading />}>
      {(current) => (
        <Show
          when={showsSharing(current())}
          fallback={
            <div class="notice notice-muted" data-testid="sharing-unavailable">
              {current().modules.includes('sharing')
                ? 'Your role in this organization does not allow seeing its shares.'
                : 'Sharing is not enabled for this organization: it needs a license that includes sharing.'}
            </div>
          }
        >
          <Sharing org={current()} />
        </Show>
      )}
    </Show>
  );
}

function Sharing(props: { org: CurrentOrg }) {
  const outgoing = useQuery(() => shareQueries.outgoing(props.org.id));
  const incoming = useQuery(() => shareQueries.incoming(props.org.id));
  const [removing, setRemoving] = createSignal<Share | null>(null);
  const [notice, setNotice] = createSignal<string | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['shares', props.org.id] });
  const remove = useMutation(() => ({
    mutationFn: (share: Share) => trpc.shares.remove.mutate({ orgId: props.org.id, shareId: share.id }),
    onSuccess: async (_data, share) => {
      await refresh();
      setRemoving(null);
      setNotice(`${share.targetOrgName} no longer sees ${nameOf(share)}.`);
    },
  }));
  const canShare = () => allows(props.org, 'shares.create') && showsResources(props.org);

  return (
    <div class="stack">
      <Show
        when={canShare()}
        fallback={
          <p class="hint" data-testid="sharing-readonly">
            Only admins and owners of {props.org.name} can share its resources or remove shares.
          </p>
        }
      >
        <ShareForm
          org={props.org}
          onShared={async (share) => {
            await refresh();
            setNotice(`${nameOf(share)} is now shared with ${share.targetOrgName} as ${share.role}.`);
          }}
        />
      </Show>
      <Show when={notice()}>
        <SuccessNotice>{notice()}</SuccessNotice>
      </Show>
      <p class="hint">
        To receive resources from an organization you are not a member of, give its admins this organization's id:{' '}
        <code data-testid="sharing-org-id">{props.org.id}</code>
      </p>

      <div class="card card-flush">
        <h2 class="card-title card-title-padded">Shared by {props.org.name}</h2>
        <Show
          when={outgoing.data}
          fallback={outgoing.isError ? <ErrorNotice error={outgoing.error} class="notice-inset" /> : <Loading />}
        >
          {(list) => (
            <Show
              when={list().shares.length > 0}
              fallback={
                <p class="muted card-body" data-testid="outgoing-empty">
                  This organization shares no resources.
                </p>
              }
            >
              <div class="table-wrap">
                <table class="table" data-testid="outgoing-shares">
                  <thead>
                    <tr>
                      <th scope="col">Resource</th>
                      <th scope="col">Shared with</th>
                      <th scope="col">Role</th>
                      <th scope="col" class="col-secondary">
                        Since
                      </th>
                      <th scope="col">
                        <span class="sr-only">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={list().shares}>
                      {(s) => (
                        <tr data-testid="outgoing-share" data-share-id={s.id}>
                          <td>
                            {nameOf(s)}
                            <div class="hint">{typeLabel(s.resourceType)}</div>
                          </td>
                          <td>{s.targetOrgName}</td>
                          <td>
                            <span class="badge badge-accent">{s.role}</span>
                          </td>
                          <td class="col-secondary">{formatDate(s.createdAt)}</td>
                          <td class="cell-actions">
                            <Show when={allows(props.org, 'shares.remove')}>
                              <button
                                type="button"
                                class="button button-small button-danger-quiet"
                                aria-label={`Remove the share of ${nameOf(s)} with ${s.targetOrgName}`}
                                onClick={() => {
                                  remove.reset();
                                  setRemoving(s);
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

      <div class="card card-flush">
        <h2 class="card-title card-title-padded">Shared with {props.org.name}</h2>
        <Show
          when={incoming.data}
          fallback={incoming.isError ? <ErrorNotice error={incoming.error} class="notice-inset" /> : <Loading />}
        >
          {(list) => (
            <Show
              when={list().shares.length > 0}
              fallback={
                <p class="muted card-body" data-testid="incoming-empty">
                  No other organization shares resources with this one.
                </p>
              }
            >
              <div class="table-wrap">
                <table class="table" data-testid="incoming-shares">
                  <thead>
                    <tr>
                      <th scope="col">Resource</th>
                      <th scope="col">From</th>
                      <th scope="col">Role</th>
                      <th scope="col" class="col-secondary">
                        Since
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={list().shares}>
                      {(s) => (
                        <tr data-testid="incoming-share" data-share-id={s.id}>
                          <td>
                            {nameOf(s)}
                            <div class="hint">{typeLabel(s.resourceType)}</div>
                          </td>
                          <td>{s.grantingOrgName}</td>
                          <td>
                            <span class="badge badge-accent">{s.role}</span>
                          </td>
                          <td class="col-secondary">{formatDate(s.createdAt)}</td>
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

      <Show when={removing()}>
        {(s) => (
          <ConfirmModal
            title="Remove share"
            testId="remove-share-dialog"
            confirmLabel="Remove share"
            pendingLabel="Removing…"
            mutation={remove}
            onConfirm={() => remove.mutate(s())}
            onClose={() => setRemoving(null)}
          >
            <p>
              Stop sharing <strong>{nameOf(s())}</strong> with <strong>{s().targetOrgName}</strong>? It disappears from
              their pages at once.
            </p>
          </ConfirmModal>
        )}
      </Show>
    </div>
  );
}

const OTHER_ORG = '__other__';

function ShareForm(props: { org: CurrentOrg; onShared: (share: Share) => Promise<void> }) {
  const me = useQuery(() => queries.me());
  // The org's own resources, and those shared with it as admin (which it may share on).
  const resources = useQuery(() => ({
    queryKey: ['resources', props.org.id, 'shareable'],
    queryFn: ({ signal }: { signal: AbortSignal }) => trpc.resources.list.query({ limit: 200 }, { signal }),
  }));
  const shareable = createMemo(() =>
    (resources.data?.resources ?? []).filter((r: Resource) => r.shared === null || r.shared.role === 'admin'),
  );
  const otherOrgs = () => (me.data?.memberships ?? []).filter((m) => m.orgId !== props.org.id);
  const [resourceId, setResourceId] = createSignal('');
  const [target, setTarget] = createSignal('');
  const [targetId, setTargetId] = createSignal('');
  const [role, setRole] = createSignal<ShareRole>('viewer');
  const targetOrgId = () => (target() === OTHER_ORG ? targetId().trim() : target());
  const chosen = () => shareable().find((r) => r.id === resourceId());

  const create = useMutation(() => ({
    mutationFn: () => {
      const resource = chosen();
      if (!resource) throw new Error('Choose a resource to share.');
      return trpc.shares.create.mutate({
        orgId: props.org.id,
        targetOrgId: targetOrgId(),
        resourceType: resource.type,
        resourceId: resource.id,
        role: role(),
      });
    },
    onSuccess: async (share) => {
      setResourceId('');
      setTargetId('');
      await props.onShared(share);
    },
  }));

  return (
    <form
      class="card form"
      data-testid="share-form"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <h2 class="card-title">Share a resource</h2>
      <div class="form-row">
        <div class="field field-grow">
          <label for="share-resource">Resource</label>
          <select id="share-resource" value={resourceId()} onChange={(e) => setResourceId(e.currentTarget.value)}>
            <option value="">{resources.isPending ? 'Loading…' : 'Choose a resource'}</option>
            <For each={shareable()}>
              {(r) => (
                <option value={r.id}>
                  {r.name} ({typeLabel(r.type)}){r.shared ? ` · from ${r.shared.fromOrgName}` : ''}
                </option>
              )}
            </For>
          </select>
        </div>
        <div class="field field-grow">
          <label for="share-target">Share with</label>
          <select id="share-target" value={target()} onChange={(e) => setTarget(e.currentTarget.value)}>
            <option value="">Choose an organization</option>
            <For each={otherOrgs()}>{(m) => <option value={m.orgId}>{m.name}</option>}</For>
            <option value={OTHER_ORG}>Another organization (by id)…</option>
          </select>
        </div>
        <Show when={target() === OTHER_ORG}>
          <div class="field field-grow">
            <label for="share-target-id">Organization id</label>
            <input
              id="share-target-id"
              class="mono"
              maxLength={64}
              placeholder="00000000-0000-0000-0000-000000000000"
              value={targetId()}
              onInput={(e) => setTargetId(e.currentTarget.value)}
            />
          </div>
        </Show>
        <div class="field">
          <label for="share-role">Role</label>
          <select id="share-role" value={role()} onChange={(e) => setRole(e.currentTarget.value as ShareRole)}>
            <For each={SHARE_ROLES}>{(r) => <option value={r}>{titleCase(r)}</option>}</For>
          </select>
        </div>
      </div>
      <p class="hint">{ROLE_HINTS[role()]}</p>
      <Show when={resources.isError}>
        <ErrorNotice error={resources.error} />
      </Show>
      <Show when={resources.isSuccess && shareable().length === 0}>
        <p class="hint" data-testid="share-nothing">
          This organization has no resources to share yet: they appear once its agents report.
        </p>
      </Show>
      <Show when={create.isError}>
        <ErrorNotice error={create.error} />
      </Show>
      <div class="actions">
        <button type="submit" class="button" disabled={create.isPending || !chosen() || !targetOrgId()}>
          {create.isPending ? 'Sharing…' : 'Share resource'}
        </button>
      </div>
    </form>
  );
}
