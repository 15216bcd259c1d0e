import { Navigate, type RouteSectionProps, useLocation } from '@solidjs/router';
import { useQuery } from '@tanstack/solid-query';
import { Match, Switch } from 'solid-js';
import { queries } from '../lib/queries';
import { AppHeader } from './app-header';
import { ErrorNotice, Loading } from './notices';

/** The signed-in frame of the app; signed-out visitors go to sign in and come back. */
export function AppShell(props: RouteSectionProps) {
  const me = useQuery(() => queries.me());
  const config = useQuery(() => queries.config());
  const location = useLocation();
  const signInHref = () => `/signin?next=${encodeURIComponent(location.pathname + location.search)}`;

  return (
    <Switch fallback={<Loading />}>
      <Match when={me.isError}>
        <main class="center">
          <ErrorNotice error={me.error} />
          <button type="button" class="button" onClick={() => void me.refetch()}>
            Try again
          </button>
        </main>
      </Match>
      <Match when={me.isSuccess && me.data === null}>
        <Navigate href={signInHref()} />
      </Match>
      <Match when={me.data}>
        {(user) => (
          <div class="shell">
            <AppHeader me={user()} config={config.data} />
            <main class="main">{props.children}</main>
          </div>
        )}
      </Match>
    </Switch>
  );
}
