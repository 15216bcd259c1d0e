import { A, type RouteSectionProps } from '@solidjs/router';
import { useQuery } from '@tanstack/solid-query';
import { createSignal, Show } from 'solid-js';
import { CreateOrgDialog } from '../../components/create-org-dialog';
import { ErrorNotice, FeatureUnavailable, Loading } from '../../components/notices';
import { queries } from '../../lib/queries';
import { showsSharing } from '../../lib/shares';
import { mayCreateOrgs } from '../../lib/types';

/**
 * Settings → Organization: the Overview, Access, Sharing and Billing panels of the active org,
 * or "This feature is not available." when multi-tenant mode is off.
 */
export function OrganizationSettings(props: RouteSectionProps) {
  const config = useQuery(() => queries.config());
  const me = useQuery(() => queries.me());
  const org = useQuery(() => queries.orgCurrent());
  const [creating, setCreating] = createSignal(false);

  return (
    <section class="page">
      <header class="page-head">
        <div>
          <h1>Organization</h1>
          <Show when={config.data?.multiTenantEnabled && org.data}>
            {(o) => <p class="muted">Settings of {o().name}</p>}
          </Show>
        </div>
        <Show when={mayCreateOrgs(me.data, config.data)}>
          <button type="button" class="button" onClick={() => setCreating(true)}>
            Create organization
          </button>
        </Show>
      </header>
      <Show when={config.data} fallback={config.isError ? <ErrorNotice error={config.error} /> : <Loading />}>
        {(cfg) => (
          <Show when={cfg().multiTenantEnabled} fallback={<FeatureUnavailable />}>
            <Show when={me.data?.memberships.length === 0}>
              <p class="notice notice-muted">
                You are not a member of any organization yet: ask an administrator of your organization to add you.
              </p>
            </Show>
            <Show when={!cfg().licensed}>
              <div class="notice notice-warning">
                Multi-tenant requires an Enterprise license: until one is active, only the default organization works.{' '}
                <A href="/settings/plans">Go to Plans &amp; Activation</A>
              </div>
            </Show>
            <Show when={me.data?.memberships.length !== 0}>
              <nav class="tabs" aria-label="Organization settings">
                <A href="/settings/organization" end>
                  Overview
                </A>
                <A href="/settings/organization/access">Access</A>
                <Show when={showsSharing(org.data)}>
                  <A href="/settings/organization/sharing">Sharing</A>
                </Show>
                <A href="/settings/organization/billing">Billing &amp; Plan</A>
              </nav>
              <Show when={org.isError}>
                <ErrorNotice error={org.error} />
              </Show>
              <div class="tab-panel">{props.children}</div>
            </Show>
          </Show>
        )}
      </Show>
      <Show when={creating()}>
        <CreateOrgDialog onClose={() => setCreating(false)} />
      </Show>
    </section>
  );
}
