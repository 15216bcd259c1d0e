import { createSignal, For, Show } from 'solid-js';
import { switchOrg } from '../lib/org-session';
import { errorMessage } from '../lib/trpc';
import type { Me } from '../lib/types';
import { Menu } from './menu';

/**
 * The header's organization switcher: every org the user belongs to (shadow memberships
 * included), a check on the active one, and "Create organization".
 */
export function OrgSwitcher(props: { me: Me; canCreate: boolean; onCreate: () => void }) {
  const [pending, setPending] = createSignal<string | null>(null);
  const [error, setError] = createSignal<unknown>(null);
  const activeId = () => props.me.activeOrg?.id;

  async function choose(orgId: string, close: () => void) {
    if (orgId === activeId()) return close();
    setError(null);
    setPending(orgId);
    try {
      // On success the app remounts for the new org, and this menu with it.
      await switchOrg(orgId);
    } catch (err) {
      setError(err);
      setPending(null);
    }
  }

  return (
    <Menu
      label="Organizations"
      testId="org-switcher"
      buttonClass="menu-button org-button"
      button={
        <>
          <span class="sr-only">Organization: </span>
          <span class="org-button-name" data-testid="active-org">
            {props.me.activeOrg?.name ?? 'No organization'}
          </span>
          <span class="caret" aria-hidden="true" />
        </>
      }
    >
      {(close) => (
        <>
          <div class="menu-heading" aria-hidden="true">
            Switch organization
          </div>
          <Show when={error()}>
            <div role="alert" class="menu-error">
              {errorMessage(error())}
            </div>
          </Show>
          <For each={props.me.memberships}>
            {(m) => (
              <button
                type="button"
                role="menuitemradio"
                aria-checked={m.orgId === activeId()}
                class="menu-item"
                disabled={pending() !== null}
                onClick={() => void choose(m.orgId, close)}
              >
                <span class="check" aria-hidden="true">
                  {m.orgId === activeId() ? '✓' : ''}
                </span>
                <span class="menu-item-label">
                  {m.name}
                  <span class="menu-item-sub">{m.slug}</span>
                </span>
                <Show when={m.isShadow}>
                  <span class="badge" title="You reach this organization through the admin tenancy">
                    shadow
                  </span>
                </Show>
                <Show when={pending() === m.orgId}>
                  <span class="menu-item-sub">Switching…</span>
                </Show>
              </button>
            )}
          </For>
          <Show when={props.canCreate}>
            <hr class="menu-separator" />
            <button
              type="button"
              role="menuitem"
              class="menu-item"
              onClick={() => {
                close();
                props.onCreate();
              }}
            >
              <span class="check" aria-hidden="true">
                +
              </span>
              <span class="menu-item-label">Create organization</span>
            </button>
          </Show>
        </>
      )}
    </Menu>
  );
}
