import { useMutation, useQuery } from '@tanstack/solid-query';
import { createSignal, For, Show } from 'solid-js';
import { Modal } from '../../components/modal';
import { ErrorNotice, Loading, SuccessNotice } from '../../components/notices';
import { formatDate, titleCase } from '../../lib/format';
import { queries, queryClient } from '../../lib/queries';
import { trpc } from '../../lib/trpc';
import { allows, type CurrentOrg, type Member, ORG_ROLES, type OrgRole } from '../../lib/types';
import { InvitationsSection } from './org-invitations';

/**
 * Settings → Organization → Access: the members of the active org and what the viewer may do
 * to them, then the invitations.
 */
export function OrgAccessPanel() {
  const org = useQuery(() => queries.orgCurrent());
  return (
    <Show when={org.data} fallback={org.isError ? null : <Loading />}>
      {(current) => (
        <div class="stack">
          <Members org={current()} />
          <InvitationsSection org={current()} />
        </div>
      )}
    </Show>
  );
}

function Members(props: { org: CurrentOrg }) {
  const me = useQuery(() => queries.me());
  const members = useQuery(() => ({
    ...queries.members(props.org.id),
    enabled: allows(props.org, 'members.read'),
  }));
  const [removing, setRemoving] = createSignal<Member | null>(null);
  const [actionError, setActionError] = createSignal<unknown>(null);
  const [notice, setNotice] = createSignal<string | null>(null);

  // Ownership is the owners' business: without `org.transfer` owners are shown, not edited.
  const managesOwners = () => allows(props.org, 'org.transfer');
  const assignable = () => ORG_ROLES.filter((r) => r !== 'owner' || managesOwners());
  const canEditRole = (m: Member) => allows(props.org, 'members.update') && (m.role !== 'owner' || managesOwners());
  const canRemove = (m: Member) =>
    allows(props.org, 'members.remove') && m.userId !== me.data?.user.id && (m.role !== 'owner' || managesOwners());
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: ['members', props.org.id] }),
      queryClient.invalidateQueries({ queryKey: ['org', 'current'] }),
      queryClient.invalidateQueries({ queryKey: ['auth', 'me'] }),
    ]);

  const updateRole = useMutation(() => ({
    mutationFn: (vars: { member: Member; role: OrgRole }) =>
      trpc.members.updateRole.mutate({ orgId: props.org.id, userId: vars.member.userId, role: vars.role }),
    onMutate: () => {
      setActionError(null);
      setNotice(null);
    },
    // The notice appears once the table shows the change (the mutation stays pending until then).
    onSuccess: async (_data, vars) => {
      await refresh();
      setNotice(`${vars.member.name || vars.member.email} is now ${vars.role}.`);
    },
    onError: (error) => {
      setActionError(error);
      void refresh();
    },
  }));

  const remove = useMutation(() => ({
    mutationFn: (member: Member) => trpc.members.remove.mutate({ orgId: props.org.id, userId: member.userId }),
    onSuccess: async (_data, member) => {
      await refresh();
      setRemoving(null);
      setNotice(`${member.name || member.email} was removed from ${props.org.name}.`);
    },
  }));

  return (
    <div class="stack">
      <Show when={allows(props.org, 'members.add')}>
        <AddMemberForm
          org={props.org}
          roles={assignable()}
          onAdded={async (m) => {
            setActionError(null);
            await refresh();
            setNotice(`${m.name || m.email} was added as ${m.role}.`);
          }}
        />
      </Show>
      <Show when={notice()}>
        <SuccessNotice>{notice()}</SuccessNotice>
      </Show>
      <Show when={actionError()}>
        <ErrorNotice error={actionError()} />
      </Show>
      <div class="card card-flush">
        <h2 class="card-title card-title-padded">Members</h2>
        <Show when={members.data} fallback={members.isError ? <ErrorNotice error={members.error} /> : <Loading />}>
          {(list) => (
            <div class="table-wrap">
              <table class="table" data-testid="members-table">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Email</th>
                    <th scope="col">Role</th>
                    <th scope="col" class="col-secondary">
                      Joined
                    </th>
                    <th scope="col">
                      <span class="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  <For each={list().members}>
                    {(m) => (
                      <tr data-testid={`member-${m.email}`}>
                        <td>
                          {m.name || '—'}
                          <Show when={m.userId === me.data?.user.id}>
                            <span class="badge">you</span>
                          </Show>
                        </td>
                        <td>{m.email}</td>
                        <td>
                          <Show when={canEditRole(m)} fallback={<span class="role">{titleCase(m.role)}</span>}>
                            <select
                              class="select-compact"
                              aria-label={`Role of ${m.name || m.email}`}
                              value={m.role}
                              disabled={updateRole.isPending}
                              onChange={(e) => {
                                const select = e.currentTarget;
                                const role = select.value as OrgRole;
                                // Show the stored role until the server agrees.
                                select.value = m.role;
                                updateRole.mutate({ member: m, role });
                              }}
                            >
                              <For each={m.role === 'owner' || managesOwners() ? ORG_ROLES : assignable()}>
                                {(r) => <option value={r}>{titleCase(r)}</option>}
                              </For>
                            </select>
                          </Show>
                        </td>
                        <td class="col-secondary">{formatDate(m.joinedAt)}</td>
                        <td class="cell-actions">
                          <Show when={canRemove(m)}>
                            <button
                              type="button"
                              class="button button-small button-danger-quiet"
                              aria-label={`Remove ${m.name || m.email}`}
                              onClick={() => {
                                remove.reset();
                                setRemoving(m);
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
          )}
        </Show>
      </div>
      <Show when={removing()}>
        {(m) => (
          <Modal title="Remove member" onClose={() => setRemoving(null)} testId="remove-member-dialog">
            <p>
              Remove <strong>{m().name || m().email}</strong> from {props.org.name}? They lose access to this
              organization's data at once; their account stays.
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
                onClick={() => remove.mutate(m())}
              >
                {remove.isPending ? 'Removing…' : 'Remove member'}
              </button>
            </div>
          </Modal>
        )}
      </Show>
    </div>
  );
}

function AddMemberForm(props: { org: CurrentOrg; roles: readonly OrgRole[]; onAdded: (m: Member) => Promise<void> }) {
  const [email, setEmail] = createSignal('');
  const [role, setRole] = createSignal<OrgRole>('viewer');
  const add = useMutation(() => ({
    mutationFn: () => trpc.members.add.mutate({ orgId: props.org.id, email: email().trim(), role: role() }),
    onSuccess: async (member) => {
      await props.onAdded(member);
      setEmail('');
    },
  }));
  return (
    <form
      class="card form"
      onSubmit={(e) => {
        e.preventDefault();
        add.mutate();
      }}
    >
      <h2 class="card-title">Add a member</h2>
      <p class="muted">Add someone who already has an account on this server.</p>
      <div class="form-row">
        <div class="field field-grow">
          <label for="add-member-email">Email</label>
          <input
            id="add-member-email"
            type="email"
            required
            autocomplete="off"
            value={email()}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="add-member-role">Role</label>
          <select id="add-member-role" value={role()} onChange={(e) => setRole(e.currentTarget.value as OrgRole)}>
            <For each={props.roles}>{(r) => <option value={r}>{titleCase(r)}</option>}</For>
          </select>
        </div>
        <button type="submit" class="button" disabled={add.isPending || !email().trim()}>
          {add.isPending ? 'Adding…' : 'Add member'}
        </button>
      </div>
      <Show when={add.isError}>
        <ErrorNotice error={add.error} />
      </Show>
    </form>
  );
}
