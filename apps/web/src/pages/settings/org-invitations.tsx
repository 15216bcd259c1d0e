import { A } from '@solidjs/router';
import { useMutation, useQuery } from '@tanstack/solid-query';
import { invitableRoles } from '@tenantry/core';
import { createSignal, For, Match, onCleanup, Show, Switch } from 'solid-js';
import { Modal } from '../../components/modal';
import { ErrorNotice, Loading, SuccessNotice } from '../../components/notices';
import { formatCountdown, formatDateTime, titleCase } from '../../lib/format';
import { queries, queryClient } from '../../lib/queries';
import { trpc } from '../../lib/trpc';
import { allows, type CurrentOrg, type Invitation, type OrgRole } from '../../lib/types';
import { BulkInviteDialog } from './bulk-invite';

/** A clock for countdowns: ticks every second while the component lives. */
function useNow() {
  const [now, setNow] = createSignal(Date.now());
  const timer = setInterval(() => setNow(Date.now()), 1000);
  onCleanup(() => clearInterval(timer));
  return now;
}

/** An invitation still waiting for its invitee: pending, or lapsed and worth a resend. */
const isOpen = (i: Invitation) => i.status === 'pending' || i.status === 'expired';

/**
 * Settings → Organization → Access, invitations: invite by email with a role the viewer may
 * grant, and the open invitations with their expiry countdown, delivery state, Resend and Revoke.
 */
export function InvitationsSection(props: { org: CurrentOrg }) {
  const config = useQuery(() => queries.config());
  const invitations = useQuery(() => ({
    ...queries.invitations(props.org.id),
    enabled: allows(props.org, 'invitations.read'),
    // While a mail is on its way, follow its delivery state.
    refetchInterval: (query) =>
      query.state.data?.invitations.some((i) => isOpen(i) && i.deliveryState === 'queued') ? 1500 : false,
  }));
  const now = useNow();
  const [notice, setNotice] = createSignal<string | null>(null);
  const [actionError, setActionError] = createSignal<unknown>(null);
  const [revoking, setRevoking] = createSignal<Invitation | null>(null);
  const [bulkOpen, setBulkOpen] = createSignal(false);
  const roles = () => invitableRoles(props.org.role) as OrgRole[];
  const open = () => invitations.data?.invitations.filter(isOpen) ?? [];
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['invitations', props.org.id] });

  const resend = useMutation(() => ({
    mutationFn: (invitation: Invitation) =>
      trpc.invitations.resend.mutate({ orgId: props.org.id, invitationId: invitation.id }),
    onMutate: () => {
      setNotice(null);
      setActionError(null);
    },
    onSuccess: async (invitation) => {
      await refresh();
      setNotice(`A new invitation is on its way to ${invitation.email}; the previous link no longer works.`);
    },
    onError: (error) => {
      setActionError(error);
      void refresh();
    },
  }));

  const revoke = useMutation(() => ({
    mutationFn: (invitation: Invitation) =>
      trpc.invitations.revoke.mutate({ orgId: props.org.id, invitationId: invitation.id }),
    onSuccess: async (_data, invitation) => {
      await refresh();
      setRevoking(null);
      setNotice(`The invitation to ${invitation.email} was revoked: its link no longer works.`);
    },
  }));

  return (
    <Show when={allows(props.org, 'invitations.read')}>
      <div class="stack" data-testid="invitations">
        <Show when={allows(props.org, 'invitations.create') && roles().length > 0}>
          <InviteForm
            org={props.org}
            roles={roles()}
            onBulk={() => {
              setNotice(null);
              setBulkOpen(true);
            }}
            onInvited={async (invitation) => {
              setActionError(null);
              await refresh();
              setNotice(
                invitation.sendCount > 1
                  ? `${invitation.email} already had a pending invitation: it was sent again.`
                  : `Invitation sent to ${invitation.email} as ${invitation.role}.`,
              );
            }}
          />
        </Show>
        <Show when={config.data?.devInbox}>
          <p class="notice notice-muted" data-testid="dev-inbox-hint">
            Mails from this server go to the development inbox (SMTP_URL is not set).{' '}
            <A href="/dev/inbox">Open the dev inbox</A>
          </p>
        </Show>
        <Show when={notice()}>
          <SuccessNotice>{notice()}</SuccessNotice>
        </Show>
        <Show when={actionError()}>
          <ErrorNotice error={actionError()} />
        </Show>
        <div class="card card-flush">
          <h2 class="card-title card-title-padded">Pending invitations</h2>
          <Show
            when={invitations.data}
            fallback={invitations.isError ? <ErrorNotice error={invitations.error} /> : <Loading />}
          >
            <Show
              when={open().length > 0}
              fallback={
                <p class="muted card-empty" data-testid="no-invitations">
                  No pending invitations.
                </p>
              }
            >
              <div class="table-wrap">
                <table class="table" data-testid="invitations-table">
                  <thead>
                    <tr>
                      <th scope="col">Email</th>
                      <th scope="col">Role</th>
                      <th scope="col">Expires</th>
                      <th scope="col">Delivery</th>
                      <th scope="col">
                        <span class="sr-only">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={open()}>
                      {(invitation) => (
                        <tr data-testid={`invitation-${invitation.email}`}>
                          <td>{invitation.email}</td>
                          <td>
                            <span class="role">{titleCase(invitation.role)}</span>
                          </td>
                          <td>
                            <span
                              class={invitation.status === 'expired' ? 'countdown countdown-over' : 'countdown'}
                              title={`Expires ${formatDateTime(invitation.expiresAt)}`}
                              data-testid="invitation-expiry"
                            >
                              {invitation.status === 'expired'
                                ? 'Expired'
                                : `in ${formatCountdown(invitation.expiresAt, now())}`}
                            </span>
                          </td>
                          <td>
                            <DeliveryState invitation={invitation} />
                          </td>
                          <td class="cell-actions">
                            <Show
                              when={
                                allows(props.org, 'invitations.create') && roles().includes(invitation.role as OrgRole)
                              }
                            >
                              <button
                                type="button"
                                class="button button-small button-secondary"
                                aria-label={`Resend the invitation to ${invitation.email}`}
                                disabled={resend.isPending}
                                onClick={() => resend.mutate(invitation)}
                              >
                                Resend
                              </button>
                            </Show>
                            <Show when={allows(props.org, 'invitations.revoke')}>
                              <button
                                type="button"
                                class="button button-small button-danger-quiet"
                                aria-label={`Revoke the invitation to ${invitation.email}`}
                                onClick={() => {
                                  revoke.reset();
                                  setRevoking(invitation);
                                }}
                              >
                                Revoke
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
          </Show>
        </div>
        <Show when={bulkOpen()}>
          <BulkInviteDialog
            org={props.org}
            roles={roles()}
            onClose={() => setBulkOpen(false)}
            onFinished={async () => {
              setActionError(null);
              await refresh();
            }}
          />
        </Show>
        <Show when={revoking()}>
          {(invitation) => (
            <Modal title="Revoke invitation" onClose={() => setRevoking(null)} testId="revoke-invitation-dialog">
              <p>
                Revoke the invitation to <strong>{invitation().email}</strong>? Its link stops working at once; you can
                invite them again later.
              </p>
              <Show when={revoke.isError}>
                <ErrorNotice error={revoke.error} />
              </Show>
              <div class="actions">
                <button type="button" class="button button-secondary" onClick={() => setRevoking(null)}>
                  Cancel
                </button>
                <button
                  type="button"
                  class="button button-danger"
                  disabled={revoke.isPending}
                  onClick={() => revoke.mutate(invitation())}
                >
                  {revoke.isPending ? 'Revoking…' : 'Revoke invitation'}
                </button>
              </div>
            </Modal>
          )}
        </Show>
      </div>
    </Show>
  );
}

/** Queued (with the retry count once an attempt failed), sent, or delivery failed with the error on hover. */
function DeliveryState(props: { invitation: Invitation }) {
  return (
    <Switch>
      <Match when={props.invitation.deliveryState === 'sent'}>
        <span
          class="status status-valid"
          data-testid="delivery-state"
          title={props.invitation.sentAt ? `Sent ${formatDateTime(props.invitation.sentAt)}` : undefined}
        >
          Sent
        </span>
      </Match>
      <Match when={props.invitation.deliveryState === 'failed'}>
        <span
          class="status status-invalid"
          data-testid="delivery-state"
          title={props.invitation.lastDeliveryError ?? 'The mail server refused the mail.'}
        >
          Delivery failed
        </span>
      </Match>
      <Match when={props.invitation.deliveryState === 'queued'}>
        <span
          class="status"
          data-testid="delivery-state"
          title={
            props.invitation.lastDeliveryError
              ? `Attempt ${props.invitation.deliveryAttempts} failed: ${props.invitation.lastDeliveryError}. Retrying.`
              : 'Waiting for the mail server.'
          }
        >
          {props.invitation.deliveryAttempts > 0 ? `Retrying (${props.invitation.deliveryAttempts} failed)` : 'Queued'}
        </span>
      </Match>
    </Switch>
  );
}

function InviteForm(props: {
  org: CurrentOrg;
  roles: readonly OrgRole[];
  onInvited: (invitation: Invitation) => Promise<void>;
  /** Opens the bulk invitation of a pasted list. */
  onBulk: () => void;
}) {
  const [email, setEmail] = createSignal('');
  const [role, setRole] = createSignal<OrgRole>(
    props.roles.includes('viewer') ? 'viewer' : (props.roles[0] ?? 'viewer'),
  );
  const invite = useMutation(() => ({
    mutationFn: () => trpc.invitations.create.mutate({ orgId: props.org.id, email: email().trim(), role: role() }),
    onSuccess: async (invitation) => {
      await props.onInvited(invitation);
      setEmail('');
    },
  }));
  return (
    <form
      class="card form"
      data-testid="invite-form"
      onSubmit={(e) => {
        e.preventDefault();
        invite.mutate();
      }}
    >
      <h2 class="card-title">Invite by email</h2>
      <p class="muted">
        They get a link to join {props.org.name} with the role you choose; it works once and expires unless they accept
        it in time.
      </p>
      <div class="form-row">
        <div class="field field-grow">
          <label for="invite-email">Address</label>
          <input
            id="invite-email"
            type="email"
            required
            maxLength={254}
            autocomplete="off"
            placeholder="name@example.com"
            value={email()}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="invite-role">Invite as</label>
          <select id="invite-role" value={role()} onChange={(e) => setRole(e.currentTarget.value as OrgRole)}>
            <For each={props.roles}>{(r) => <option value={r}>{titleCase(r)}</option>}</For>
          </select>
        </div>
        <button type="submit" class="button" disabled={invite.isPending || !email().trim()}>
          {invite.isPending ? 'Inviting…' : 'Send invitation'}
        </button>
        <button type="button" class="button button-secondary" onClick={() => props.onBulk()}>
          Bulk invite
        </button>
      </div>
      <Show when={invite.isError}>
        <ErrorNotice error={invite.error} />
      </Show>
    </form>
  );
}
