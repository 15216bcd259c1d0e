import { A } from '@solidjs/router';
import { useQuery } from '@tanstack/solid-query';
import { createSignal, For, Show } from 'solid-js';
import { CreateOrgDialog } from '../components/create-org-dialog';
import { ErrorNotice, Loading } from '../components/notices';
import { formatDate, titleCase } from '../lib/format';
import { queries } from '../lib/queries';
import { allows, mayCreateOrgs } from '../lib/types';

/** The active organization at a glance (or a word for users who belong to none yet). */
export function HomePage() {
  const me = useQuery(() => queries.me());
  const config = useQuery(() => queries.config());
  const [creating, setCreating] = createSignal(false);
  return (
    <Show when={me.data?.memberships.length === 0} fallback={<OrgHome />}>
      <section class="page">
        <h1>Welcome to Tenantry</h1>
        <p class="notice notice-muted">
          You are not a member of any organization yet. Ask an administrator of your organization to add you
          <Show when={mayCreateOrgs(me.data, config.data)}>, or create your own</Show>.
        </p>
        <Show when={mayCreateOrgs(me.data, config.data)}>
          <div>
            <button type="button" class="button" onClick={() => setCreating(true)}>
              Create organization
            </button>
          </div>
        </Show>
        <Show when={creating()}>
          <CreateOrgDialog onClose={() => setCreating(false)} />
        </Show>
      </section>
    </Show>
  );
}

function OrgHome() {
  const org = useQuery(() => queries.orgCurrent());
  const members = useQuery(() => ({
    ...queries.members(org.data?.id ?? ''),
    enabled: allows(org.data, 'members.read') && org.data?.status === 'active',
  }));

  return (
    <Show when={org.data} fallback={org.isError ? <ErrorNotice error={org.error} /> : <Loading />}>
      {(current) => (
        <section class="page" data-testid="home">
          <header class="page-head">
            <div>
              <p class="eyebrow">Organization</p>
              <h1 data-testid="home-org-name">{current().name}</h1>
              <Show when={current().description}>
                <p class="muted">{current().description}</p>
              </Show>
            </div>
          </header>
          <div class="cards">
            <div class="card stat">
              <span class="stat-label">Your role</span>
              <span class="stat-value" data-testid="home-role">
                {titleCase(current().role)}
              </span>
            </div>
            <div class="card stat">
              <span class="stat-label">Members</span>
              <span class="stat-value" data-testid="home-member-count">
                <Show when={members.data} fallback={members.isError || current().status !== 'active' ? '—' : '…'}>
                  {(list) => list().members.length}
                </Show>
              </span>
              <Show when={allows(current(), 'members.read') && current().status === 'active'}>
                <A href="/settings/organization/access" class="stat-link">
                  Manage access
                </A>
              </Show>
            </div>
            <div class="card stat">
              <span class="stat-label">Plan tier</span>
              <span class="stat-value">{titleCase(current().tier)}</span>
            </div>
            <div class="card stat">
              <span class="stat-label">Created</span>
              <span class="stat-value stat-value-small">{formatDate(current().createdAt)}</span>
            </div>
          </div>
          <Show when={members.isError}>
            <ErrorNotice error={members.error} />
          </Show>
          <div class="card">
            <h2 class="card-title">Modules</h2>
            <Show when={current().modules.length > 0} fallback={<p class="muted">No modules are enabled.</p>}>
              <ul class="chips">
                <For each={current().modules}>{(m) => <li class="chip">{m.replace('_', ' ')}</li>}</For>
              </ul>
            </Show>
          </div>
        </section>
      )}
    </Show>
  );
}
