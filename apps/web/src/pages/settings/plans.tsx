import { useMutation, useQuery } from '@tanstack/solid-query';
import { createSignal, For, Match, Show, Switch } from 'solid-js';
import { ErrorNotice, Loading, SuccessNotice } from '../../components/notices';
import { formatDate, titleCase } from '../../lib/format';
import { queries, queryClient } from '../../lib/queries';
import { trpc } from '../../lib/trpc';
import { isSuperadmin, type LicenseStatus } from '../../lib/types';

const STATUS_LABEL: Record<LicenseStatus['status'], string> = {
  none: 'No license',
  valid: 'Active',
  expired: 'Expired',
  invalid: 'Invalid',
};

/** Settings → Plans & Activation: the platform license (superadmins only). */
export function PlansPage() {
  const me = useQuery(() => queries.me());
  const config = useQuery(() => queries.config());
  return (
    <section class="page">
      <header class="page-head">
        <div>
          <h1>Plans &amp; Activation</h1>
          <p class="muted">The license of this Tenantry server unlocks multi-tenant organizations and modules.</p>
        </div>
      </header>
      <Show when={config.data}>
        {(cfg) => (
          <p class="notice notice-muted">
            Multi-tenant mode is <strong>{cfg().multiTenantEnabled ? 'on' : 'off'}</strong> on this server
            {cfg().multiTenantEnabled ? '' : ' (set MULTI_TENANT_ENABLED=true and restart to turn it on)'}, and it is{' '}
            <strong>{cfg().licensed ? 'licensed' : 'not licensed'}</strong>.
          </p>
        )}
      </Show>
      <Show
        when={isSuperadmin(me.data)}
        fallback={
          <div class="card" data-testid="license-restricted">
            <h2 class="card-title">License</h2>
            <p>
              Only a platform administrator can see and activate the license of this server. If your organization needs
              a feature that is not licensed, ask the person who runs Tenantry for you.
            </p>
          </div>
        }
      >
        <LicensePanel />
      </Show>
    </section>
  );
}

function LicensePanel() {
  const license = useQuery(() => queries.license());
  const [key, setKey] = createSignal('');
  const activate = useMutation(() => ({
    mutationFn: () => trpc.admin.license.activate.mutate({ key: key().trim() }),
    onSuccess: async (result) => {
      setKey('');
      queryClient.setQueryData(queries.license().queryKey, result);
      // What the license unlocks (config.licensed, org modules) changes with it.
      await queryClient.invalidateQueries({ predicate: (q) => q.queryKey[0] !== 'admin' });
    },
  }));

  return (
    <div class="panel-grid">
      <div class="card" data-testid="license-status">
        <h2 class="card-title">Current license</h2>
        <Show when={license.data} fallback={license.isError ? <ErrorNotice error={license.error} /> : <Loading />}>
          {(status) => (
            <>
              <p>
                <span class={`status status-${status().status}`}>{STATUS_LABEL[status().status]}</span>
              </p>
              <Show when={status().message}>
                <p class="muted">{status().message}</p>
              </Show>
              <Show
                when={status().license}
                fallback={<p class="muted">No license is active. Paste a license key to activate one.</p>}
              >
                {(lic) => (
                  <dl class="details">
                    <dt>Licensee</dt>
                    <dd data-testid="license-licensee">{lic().licensee}</dd>
                    <dt>Tier</dt>
                    <dd>{titleCase(lic().tier)}</dd>
                    <dt>Features</dt>
                    <dd>
                      <ul class="chips">
                        <For each={lic().features}>{(f) => <li class="chip">{f}</li>}</For>
                      </ul>
                    </dd>
                    <dt>Expires</dt>
                    <dd>{formatDate(lic().expiresAt)}</dd>
                    <dt>Max tenants</dt>
                    <dd>{lic().maxTenants ?? 'Unlimited'}</dd>
                    <dt>Source</dt>
                    <dd>
                      <Switch fallback={lic().source}>
                        <Match when={lic().source === 'env'}>LICENSE_KEY environment variable</Match>
                        <Match when={lic().source === 'activated'}>Activated in the app</Match>
                      </Switch>
                    </dd>
                  </dl>
                )}
              </Show>
            </>
          )}
        </Show>
      </div>
      <form
        class="card form"
        onSubmit={(e) => {
          e.preventDefault();
          activate.mutate();
        }}
      >
        <h2 class="card-title">Activate a license</h2>
        <div class="field">
          <label for="license-key">License key</label>
          <textarea
            id="license-key"
            rows={6}
            class="mono"
            spellcheck={false}
            autocomplete="off"
            placeholder="eyJhbGciOiJFZERTQSJ9…"
            value={key()}
            onInput={(e) => {
              activate.reset();
              setKey(e.currentTarget.value);
            }}
          />
        </div>
        <Show when={activate.isError}>
          <ErrorNotice error={activate.error} />
        </Show>
        <Show when={activate.isSuccess && activate.data}>
          {(result) => (
            <SuccessNotice>
              License activated
              {result().license
                ? ` for ${result().license?.licensee} (${titleCase(result().license?.tier ?? '')})`
                : ''}
              .
            </SuccessNotice>
          )}
        </Show>
        <div class="actions">
          <button type="submit" class="button" disabled={activate.isPending || !key().trim()}>
            {activate.isPending ? 'Activating…' : 'Activate'}
          </button>
        </div>
      </form>
    </div>
  );
}
