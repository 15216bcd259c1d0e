import { A } from '@solidjs/router';
import { createSignal, Show } from 'solid-js';
import { isSuperadmin, type Me, mayCreateOrgs, type SystemConfig } from '../lib/types';
import { CreateOrgDialog } from './create-org-dialog';
import { ModuleNav } from './module-nav';
import { OrgStatusBanner } from './org-status-banner';
import { OrgSwitcher } from './org-switcher';
import { UserMenu } from './user-menu';

/**
 * Product name, the active organization (as the switcher when multi-tenant mode is on and the
 * user has two or more orgs), navigation and the user menu.
 */
export function AppHeader(props: { me: Me; config: SystemConfig | undefined }) {
  const [creating, setCreating] = createSignal(false);
  const showSwitcher = () => props.config?.multiTenantEnabled === true && props.me.memberships.length >= 2;

  return (
    <header class="topbar">
      <div class="topbar-inner">
        <A href="/" class="brand" end>
          <span class="brand-mark" aria-hidden="true" />
          <span class="brand-text">Tenantry</span>
        </A>
        <span class="topbar-divider" aria-hidden="true" />
        <Show
          when={showSwitcher()}
          fallback={
            <span class="org-static">
              <span class="sr-only">Organization: </span>
              <span class="org-static-name" data-testid="active-org">
                {props.me.activeOrg?.name ?? 'No organization'}
              </span>
            </span>
          }
        >
          <OrgSwitcher
            me={props.me}
            canCreate={mayCreateOrgs(props.me, props.config)}
            onCreate={() => setCreating(true)}
          />
        </Show>
        <nav class="topnav" aria-label="Main">
          <A href="/" end>
            Home
          </A>
          <ModuleNav />
          <A href="/settings">Settings</A>
          <Show when={isSuperadmin(props.me)}>
            <A href="/admin/tenants">Admin</A>
          </Show>
        </nav>
        <div class="topbar-end">
          <UserMenu me={props.me} />
        </div>
      </div>
      <Show when={creating()}>
        <CreateOrgDialog onClose={() => setCreating(false)} />
      </Show>
      <OrgStatusBanner />
    </header>
  );
}
