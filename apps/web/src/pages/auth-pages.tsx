import { A, Navigate, useSearchParams } from '@solidjs/router';
import { useQuery } from '@tanstack/solid-query';
import { createSignal, type JSX, Show } from 'solid-js';
import { ErrorNotice } from '../components/notices';
import { safeNext } from '../lib/format';
import { reloadSession } from '../lib/org-session';
import { queries } from '../lib/queries';
import { trpc } from '../lib/trpc';

function AuthCard(props: { title: string; children: JSX.Element; footer: JSX.Element }) {
  const [params] = useSearchParams();
  const me = useQuery(() => queries.me());
  return (
    <main class="auth">
      {/* Signed in already (or just now): go where the visitor was heading. */}
      <Show when={me.data}>
        <Navigate href={safeNext(params.next)} />
      </Show>
      <div class="auth-card">
        <div class="brand brand-large">
          <span class="brand-mark" aria-hidden="true" />
          Tenantry
        </div>
        <h1>{props.title}</h1>
        {props.children}
        <p class="auth-footer">{props.footer}</p>
      </div>
    </main>
  );
}

/** Submits credentials, then reloads the app as the new session. */
function useAuthSubmit(send: () => Promise<unknown>) {
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<unknown>(null);
  async function submit(event: SubmitEvent) {
    event.preventDefault();
    setError(null);
    setPending(true);
    try {
      await send();
      await reloadSession();
    } catch (err) {
      setError(err);
    } finally {
      setPending(false);
    }
  }
  return { pending, error, submit };
}

export function SignInPage() {
  const [params] = useSearchParams();
  const [email, setEmail] = createSignal('');
  const [password, setPassword] = createSignal('');
  const { pending, error, submit } = useAuthSubmit(() =>
    trpc.auth.login.mutate({ email: email().trim(), password: password() }),
  );
  const signUpHref = () => (params.next ? `/signup?next=${encodeURIComponent(safeNext(params.next))}` : '/signup');
  return (
    <AuthCard
      title="Sign in"
      footer={
        <>
          New here? <A href={signUpHref()}>Create an account</A>
        </>
      }
    >
      <form class="form" onSubmit={submit}>
        <div class="field">
          <label for="signin-email">Email</label>
          <input
            id="signin-email"
            type="email"
            autocomplete="email"
            required
            value={email()}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="signin-password">Password</label>
          <input
            id="signin-password"
            type="password"
            autocomplete="current-password"
            required
            value={password()}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </div>
        <Show when={error()}>
          <ErrorNotice error={error()} />
        </Show>
        <button type="submit" class="button button-block" disabled={pending()}>
          {pending() ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </AuthCard>
  );
}

export function SignUpPage() {
  const [params] = useSearchParams();
  const config = useQuery(() => queries.config());
  const [name, setName] = createSignal('');
  const [email, setEmail] = createSignal('');
  const [password, setPassword] = createSignal('');
  const { pending, error, submit } = useAuthSubmit(() =>
    trpc.auth.signup.mutate({ name: name().trim(), email: email().trim(), password: password() }),
  );
  const signInHref = () => (params.next ? `/signin?next=${encodeURIComponent(safeNext(params.next))}` : '/signin');
  return (
    <AuthCard
      title="Create your account"
      footer={
        <>
          Already have an account? <A href={signInHref()}>Sign in</A>
        </>
      }
    >
      <Show when={config.data?.signupMode === 'invite'}>
        <p class="notice notice-muted">Sign-up is by invitation on this server.</p>
      </Show>
      <form class="form" onSubmit={submit}>
        <div class="field">
          <label for="signup-name">Name</label>
          <input
            id="signup-name"
            autocomplete="name"
            required
            value={name()}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="signup-email">Email</label>
          <input
            id="signup-email"
            type="email"
            autocomplete="email"
            required
            value={email()}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="signup-password">Password</label>
          <input
            id="signup-password"
            type="password"
            autocomplete="new-password"
            required
            value={password()}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </div>
        <Show when={error()}>
          <ErrorNotice error={error()} />
        </Show>
        <button type="submit" class="button button-block" disabled={pending()}>
          {pending() ? 'Creating account…' : 'Create account'}
        </button>
      </form>
    </AuthCard>
  );
}
