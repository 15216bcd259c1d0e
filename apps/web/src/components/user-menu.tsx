import { A } from '@solidjs/router';
import { useQuery } from '@tanstack/solid-query';
import { createSignal, Show } from 'solid-js';
import { signOut } from '../lib/org-session';
import { queries } from '../lib/queries';
import { errorMessage } from '../lib/trpc';
import { isSuperadmin, type Me } from '../lib/types';
import { AdminMenuLinks } from './admin-links';
import { Menu } from './menu';

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  return ((parts[0]?.[0] ?? '?') + (parts.length > 1 ? (parts.at(-1)?.[0] ?? '') : '')).toUpperCase();
}

/** The signed-in user's menu: who they are, and sign out. */
export function UserMenu(props: { me: Me }) {
  const [error, setError] = createSignal<unknown>(null);
  const config = useQuery(() => queries.config());
  return (
    <Menu
      label="Account"
      testId="user-menu"
      align="end"
      buttonClass="menu-button user-button"
      button={
        <>
          <span class="avatar" aria-hidden="true">
            {initials(props.me.user.name || props.me.user.email)}
          </span>
          <span class="user-button-name">{props.me.user.name || props.me.user.email}</span>
          <span class="caret" aria-hidden="true" />
        </>
      }
    >
      {() => (
        <>
          <div class="menu-heading menu-identity">
            <strong>{props.me.user.name}</strong>
            <span>{props.me.user.email}</span>
            <Show when={isSuperadmin(props.me)}>
              <span class="badge badge-accent">Platform admin</span>
            </Show>
          </div>
          <Show when={error()}>
            <div role="alert" class="menu-error">
              {errorMessage(error())}
            </div>
          </Show>
          <AdminMenuLinks me={props.me} />
          <hr class="menu-separator" />
          <Show when={config.data?.devInbox}>
            <A href="/dev/inbox" role="menuitem" class="menu-item" data-testid="menu-dev-inbox">
              <span class="check" aria-hidden="true" />
              <span class="menu-item-label">Dev inbox</span>
            </A>
          </Show>
          <button type="button" role="menuitem" class="menu-item" onClick={() => signOut().catch(setError)}>
            <span class="check" aria-hidden="true" />
            <span class="menu-item-label">Sign out</span>
          </button>
        </>
      )}
    </Menu>
  );
}
