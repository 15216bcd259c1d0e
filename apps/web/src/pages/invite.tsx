import { A, useParams } from '@solidjs/router';
import { useQuery } from '@tanstack/solid-query';
import { ERRORS, inviteeMismatchMessage, isInviteeEmail } from '@tenantry/core';
import { createSignal, type JSX, Match, Show, Switch } from 'solid-js';
import { ErrorNotice, Loading } from '../components/notices';
import { formatCountdown, formatDateTime, titleCase } from '../lib/format';
import { reloadSession } from '../lib/org-session';
import { queries, queryClient } from '../lib/queries';
import { errorCode, trpc } from '../lib/trpc';
import type { InvitationPreview, Me } from '../lib/types';

function InviteCard(props: { title: string; testId: string; children: JSX.Element }) {
  return (
    <main class="auth">
      <div class="auth-card" data-testid={props.testId}>
        <div class="brand brand-large">
          <span class="brand-mark" aria-hidden="true" />
          Tenantry
        </div>
        <h1>{props.title}</h1>
        {props.children}
      </div>
    </main>
  );
}

/** A refusal page: what happened to the link and what to do next. */
function Refusal(props: { title: string; testId: string; message: string; signIn?: boolean }) {
  return (
    <InviteCard title={props.title} testId={props.testId}>
      <p class="muted">{props.message}</p>
      <p class="auth-footer">
        <Show when={props.signIn} fallback={<A href="/">Go to Tenantry</A>}>
          <A href="/signin">Sign in</A>
        </Show>
      </p>
    </InviteCard>
  );
}

/** After joining: land in the org (the server made it the session's active one) on a fresh cache. */
async function enterOrg(): Promise<void> {
  window.history.replaceState(null, '', '/');
  await reloadSession();
}

/**
 * `/invite/:token`: the page an invitation link opens. Reading it never consumes the token;
 * only "Accept" or "Sign up and join" do. Expired, revoked, used and unknown links each get
 * their own page.
 */
export function InvitePage() {
  const params = useParams<{ token: string }>();
  const invitation = useQuery(() => ({ ...queries.invitationByToken(params.token), retry: false }));
  const me = useQuery(() => queries.me());

  return (
    <Switch fallback={<Loading />}>
      <Match when={invitation.isError && errorCode(invitation.error) === 'INVITATION_NOT_FOUND'}>
        <Refusal
          title="This invitation link is not valid"
          testId="invite-not-found"
          message={`${ERRORS.INVITATION_NOT_FOUND.message} A link stops working when the invitation is sent again.`}
        />
      </Match>
      <Match when={invitation.isError}>
        <InviteCard title="Invitation" testId="invite-error">
          <ErrorNotice error={invitation.error} />
        </InviteCard>
      </Match>
      <Match when={invitation.data?.status === 'expired'}>
        <Refusal
          title="This invitation has expired"
          testId="invite-expired"
          message={ERRORS.INVITATION_EXPIRED.message}
        />
      </Match>
      <Match when={invitation.data?.status === 'revoked'}>
        <Refusal
          title="This invitation was revoked"
          testId="invite-revoked"
          message={ERRORS.INVITATION_REVOKED.message}
        />
      </Match>
      <Match when={invitation.data?.status === 'accepted'}>
        <Refusal
          title="This invitation was already used"
          testId="invite-used"
          message={ERRORS.INVITATION_USED.message}
          signIn={!me.data}
        />
      </Match>
      <Match when={invitation.data && me.isSuccess && invitation.data}>
        {(preview) => <PendingInvitation token={params.token} preview={preview()} me={me.data ?? null} />}
      </Match>
    </Switch>
  );
}

function Summary(props: { preview: InvitationPreview }) {
  return (
    <>
      <p data-testid="invite-summary">
        <Show when={props.preview.inviterName} fallback="You are invited">
          <strong>{props.preview.inviterName}</strong> invited you
        </Show>{' '}
        to join <strong data-testid="invite-org">{props.preview.orgName}</strong> as{' '}
        <strong data-testid="invite-role">{titleCase(props.preview.role)}</strong>.
      </p>
      <dl class="details">
        <dt>Invited address</dt>
        <dd data-testid="invite-email">{props.preview.email}</dd>
        <dt>Expires</dt>
        <dd title={formatDateTime(props.preview.expiresAt)}>in {formatCountdown(props.preview.expiresAt)}</dd>
      </dl>
    </>
  );
}

function PendingInvitation(props: { token: string; preview: InvitationPreview; me: Me | null }) {
  const nextHref = () => `/invite/${encodeURIComponent(props.token)}`;
  return (
    <Switch>
      <Match when={!props.me}>
        <InviteCard title={`Join ${props.preview.orgName}`} testId="invite-signed-out">
          <Summary preview={props.preview} />
          <SignUpAndJoin token={props.token} preview={props.preview} />
          <p class="auth-footer">
            Already have an account? <A href={`/signin?next=${encodeURIComponent(nextHref())}`}>Sign in to accept</A>
          </p>
        </InviteCard>
      </Match>
      <Match when={props.me && !isInviteeEmail({ invited: props.preview.email, accepting: props.me.user.email })}>
        <InviteCard title="This invitation is for someone else" testId="invite-email-mismatch">
          <Summary preview={props.preview} />
          <div class="notice notice-warning" role="alert">
            {inviteeMismatchMessage({ invited: props.preview.email, accepting: props.me?.user.email ?? '' })}
          </div>
          <SignOutHere />
        </InviteCard>
      </Match>
      <Match when={props.me}>
        <InviteCard title={`Join ${props.preview.orgName}`} testId="invite-accept">
          <Summary preview={props.preview} />
          <AcceptButton token={props.token} />
        </InviteCard>
      </Match>
    </Switch>
  );
}

/** Signs out and stays on the link, so the right person can sign in or sign up from it. */
function SignOutHere() {
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<unknown>(null);
  return (
    <>
      <Show when={error()}>
        <ErrorNotice error={error()} />
      </Show>
      <button
        type="button"
        class="button button-secondary button-block"
        disabled={pending()}
        onClick={async () => {
          setPending(true);
          try {
            await trpc.auth.logout.mutate();
            await reloadSession();
          } catch (err) {
            setError(err);
            setPending(false);
          }
        }}
      >
        Sign out
      </button>
    </>
  );
}

function AcceptButton(props: { token: string }) {
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<unknown>(null);
  async function accept() {
    setError(null);
    setPending(true);
    try {
      await trpc.invitations.accept.mutate({ token: props.token });
      await enterOrg();
    } catch (err) {
      setError(err);
      setPending(false);
      // The invitation may have changed meanwhile (revoked, used, expired): show its page.
      void queryClient.invalidateQueries({ queryKey: ['invitation', props.token] });
    }
  }
  return (
    <>
      <Show when={error()}>
        <ErrorNotice error={error()} />
      </Show>
      <button type="button" class="button button-block" disabled={pending()} onClick={() => void accept()}>
        {pending() ? 'Joining…' : 'Accept invitation'}
      </button>
    </>
  );
}

function SignUpAndJoin(props: { token: string; preview: InvitationPreview }) {
  const [name, setName] = createSignal('');
  const [password, setPassword] = createSignal('');
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<unknown>(null);
  async function submit(event: SubmitEvent) {
    event.preventDefault();
    setError(null);
    setPending(true);
    try {
      await trpc.auth.signup.mutate({
        name: name().trim(),
        email: props.preview.email,
        password: password(),
        invitationToken: props.token,
      });
      await enterOrg();
    } catch (err) {
      setError(err);
      setPending(false);
      void queryClient.invalidateQueries({ queryKey: ['invitation', props.token] });
    }
  }
  return (
    <form class="form" onSubmit={submit} data-testid="invite-signup">
      <div class="field">
        <label for="invite-signup-name">Name</label>
        <input
          id="invite-signup-name"
          autocomplete="name"
          required
          maxLength={100}
          value={name()}
          onInput={(e) => setName(e.currentTarget.value)}
        />
      </div>
      <div class="field">
        <label for="invite-signup-email">Email</label>
        <input id="invite-signup-email" type="email" value={props.preview.email} readOnly aria-readonly="true" />
        <p class="hint">The invitation is for this address.</p>
      </div>
      <div class="field">
        <label for="invite-signup-password">Password</label>
        <input
          id="invite-signup-password"
          type="password"
          autocomplete="new-password"
          required
          minLength={8}
          maxLength={200}
          value={password()}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <p class="hint">At least 8 characters.</p>
      </div>
      <Show when={error()}>
        <ErrorNotice error={error()} />
        <Show when={errorCode(error()) === 'EMAIL_TAKEN'}>
          <p class="hint">
            <A href={`/signin?next=${encodeURIComponent(`/invite/${props.token}`)}`}>Sign in to accept</A>
          </p>
        </Show>
      </Show>
      <button type="submit" class="button button-block" disabled={pending()}>
        {pending() ? 'Joining…' : 'Sign up and join'}
      </button>
    </form>
  );
}
