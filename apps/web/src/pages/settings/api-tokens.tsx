import { useMutation, useQuery } from '@tanstack/solid-query';
import { createSignal, For, Show } from 'solid-js';
import { Modal } from '../../components/modal';
import { ErrorNotice, Loading, SuccessNotice } from '../../components/notices';
import { formatDate, formatDateTime, titleCase } from '../../lib/format';
import { queries, queryClient } from '../../lib/queries';
import { type ApiToken, type CreatedApiToken, showsTokens, tokenQueries } from '../../lib/tokens';
import { trpc } from '../../lib/trpc';
import { type Me, ORG_ROLES, type OrgRole } from '../../lib/types';

const EXPIRIES = [
  { value: 0, label: 'Never' },
  { value: 30, label: '30 days' },
  { value: 90, label: '90 days' },
  { value: 365, label: '1 year' },
];

/** Settings → API tokens: the signed-in user's tokens, bound to one or several of their organizations. */
export function ApiTokensPage() {
  const org = useQuery(() => queries.orgCurrent());
  const me = useQuery(() => queries.me());
  return (
    <section class="page">
      <header class="page-head">
        <div>
          <h1>API tokens</h1>
          <p class="muted">
            Tokens let scripts and integrations call the API as you (<code>Authorization: Bearer …</code>), in the
            organizations you bind them to and with no more than your role there.
          </p>
        </div>
      </header>
      <Show when={org.data && me.data} fallback={org.isError ? <ErrorNotice error={org.error} /> : <Loading />}>
        <Show
          when={showsTokens(org.data)}
          fallback={
            <div class="notice notice-muted" data-testid="tokens-unavailable">
              API tokens are not enabled for this organization.
            </div>
          }
        >
          <Tokens me={me.data!} activeOrgId={org.data!.id} />
        </Show>
      </Show>
    </section>
  );
}

function Tokens(props: { me: Me; activeOrgId: string }) {
  const tokens = useQuery(() => tokenQueries.list());
  const [created, setCreated] = createSignal<CreatedApiToken | null>(null);
  const [revoking, setRevoking] = createSignal<ApiToken | null>(null);
  const [notice, setNotice] = createSignal<string | null>(null);
  const revoke = useMutation(() => ({
    mutationFn: (token: ApiToken) => trpc.tokens.revoke.mutate({ tokenId: token.id }),
    onSuccess: async (_data, token) => {
      await queryClient.invalidateQueries({ queryKey: ['tokens'] });
      setRevoking(null);
      setNotice(`The token ${token.name} was revoked: it stops working at once.`);
    },
  }));
  const stateOf = (t: ApiToken) =>
    t.revokedAt ? 'revoked' : t.expiresAt && new Date(t.expiresAt) <= new Date() ? 'expired' : 'active';

  return (
    <div class="stack">
      <CreateTokenForm
        me={props.me}
        activeOrgId={props.activeOrgId}
        onCreated={async (token) => {
          setNotice(null);
          setCreated(token);
          await queryClient.invalidateQueries({ queryKey: ['tokens'] });
        }}
      />
      <Show when={created()}>{(token) => <SecretOnce token={token()} onDone={() => setCreated(null)} />}</Show>
      <Show when={notice()}>
        <SuccessNotice>{notice()}</SuccessNotice>
      </Show>
      <div class="card card-flush">
        <h2 class="card-title card-title-padded">Your tokens</h2>
        <Show when={tokens.data} fallback={tokens.isError ? <ErrorNotice error={tokens.error} /> : <Loading />}>
          {(list) => (
            <Show when={list().tokens.length > 0} fallback={<p class="muted card-body">You have no API tokens.</p>}>
              <div class="table-wrap">
                <table class="table" data-testid="tokens-table">
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Organizations</th>
                      <th scope="col" class="col-secondary">
                        Created
                      </th>
                      <th scope="col">Last used</th>
                      <th scope="col">Expires</th>
                      <th scope="col">State</th>
                      <th scope="col">
                        <span class="sr-only">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={list().tokens}>
                      {(t) => (
                        <tr data-testid={`token-${t.name}`}>
                          <td>{t.name}</td>
                          <td>
                            <ul class="chips">
                              <For each={t.orgs}>
                                {(o) => (
                                  <li class="chip">
                                    {o.name} · {o.role}
                                  </li>
                                )}
                              </For>
                            </ul>
                          </td>
                          <td class="col-secondary">{formatDate(t.createdAt)}</td>
                          <td>{t.lastUsedAt ? formatDateTime(t.lastUsedAt) : 'Never'}</td>
                          <td>{t.expiresAt ? formatDate(t.expiresAt) : 'Never'}</td>
                          <td>
                            <span class={stateOf(t) === 'active' ? 'badge badge-accent' : 'badge'}>{stateOf(t)}</span>
                          </td>
                          <td class="cell-actions">
                            <Show when={stateOf(t) === 'active'}>
                              <button
                                type="button"
                                class="button button-small button-danger-quiet"
                                aria-label={`Revoke ${t.name}`}
                                onClick={() => {
                                  revoke.reset();
                                  setRevoking(t);
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
          )}
        </Show>
      </div>
      <Show when={revoking()}>
        {(t) => (
          <Modal title="Revoke API token" onClose={() => setRevoking(null)} testId="revoke-token-dialog">
            <p>
              Revoke <strong>{t().name}</strong>? Anything using it is refused from now on, in every organization it
              reaches.
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
                onClick={() => revoke.mutate(t())}
              >
                {revoke.isPending ? 'Revoking…' : 'Revoke token'}
              </button>
            </div>
          </Modal>
        )}
      </Show>
    </div>
  );
}

function CreateTokenForm(props: { me: Me; activeOrgId: string; onCreated: (t: CreatedApiToken) => Promise<void> }) {
  const [name, setName] = createSignal('');
  const [orgIds, setOrgIds] = createSignal<string[]>([props.activeOrgId]);
  const [role, setRole] = createSignal<OrgRole | ''>('');
  const [expiry, setExpiry] = createSignal(90);
  const create = useMutation(() => ({
    mutationFn: () =>
      trpc.tokens.create.mutate({
        name: name().trim(),
        orgIds: orgIds(),
        ...(role() ? { role: role() as OrgRole } : {}),
        ...(expiry() > 0 ? { expiresInDays: expiry() } : {}),
      }),
    onSuccess: async (token) => {
      setName('');
      await props.onCreated(token);
    },
  }));
  const toggle = (id: string, on: boolean) =>
    setOrgIds(on ? [...new Set([...orgIds(), id])] : orgIds().filter((x) => x !== id));

  return (
    <form
      class="card form"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate();
      }}
    >
      <h2 class="card-title">Create a token</h2>
      <div class="form-row">
        <div class="field field-grow">
          <label for="token-name">Name</label>
          <input
            id="token-name"
            required
            maxLength={100}
            placeholder="backup script"
            value={name()}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="token-role">Role</label>
          <select id="token-role" value={role()} onChange={(e) => setRole(e.currentTarget.value as OrgRole | '')}>
            <option value="">My role in each</option>
            <For each={ORG_ROLES}>{(r) => <option value={r}>{titleCase(r)}</option>}</For>
          </select>
        </div>
        <div class="field">
          <label for="token-expiry">Expires</label>
          <select id="token-expiry" value={expiry()} onChange={(e) => setExpiry(Number(e.currentTarget.value))}>
            <For each={EXPIRIES}>{(x) => <option value={x.value}>{x.label}</option>}</For>
          </select>
        </div>
      </div>
      <fieldset class="field fieldset">
        <legend>Organizations it reaches</legend>
        <div class="checkbox-row">
          <For each={props.me.memberships}>
            {(m) => (
              <label class="checkbox">
                <input
                  type="checkbox"
                  checked={orgIds().includes(m.orgId)}
                  onChange={(e) => toggle(m.orgId, e.currentTarget.checked)}
                />
                {m.name} <span class="hint">({m.role})</span>
              </label>
            )}
          </For>
        </div>
      </fieldset>
      <Show when={create.isError}>
        <ErrorNotice error={create.error} />
      </Show>
      <div class="actions">
        <button type="submit" class="button" disabled={create.isPending || !name().trim() || orgIds().length === 0}>
          {create.isPending ? 'Creating…' : 'Create token'}
        </button>
      </div>
    </form>
  );
}

/** The secret of a new token, shown this once, with a copy button. */
function SecretOnce(props: { token: CreatedApiToken; onDone: () => void }) {
  const [copied, setCopied] = createSignal(false);
  let field!: HTMLInputElement;
  async function copy() {
    try {
      await navigator.clipboard.writeText(props.token.token);
    } catch {
      // Without clipboard access (plain http), select the text for a manual copy.
      field.select();
      document.execCommand('copy');
    }
    setCopied(true);
  }
  return (
    <div class="card secret-card" data-testid="token-secret-card">
      <h2 class="card-title">Token {props.token.name} created</h2>
      <p>Copy it now: it is shown only this once and cannot be read again.</p>
      <div class="form-row">
        <div class="field field-grow">
          <label for="token-secret">Token</label>
          <input
            id="token-secret"
            ref={field}
            class="mono"
            readOnly
            value={props.token.token}
            data-testid="token-secret"
          />
        </div>
        <button type="button" class="button" onClick={() => void copy()}>
          {copied() ? 'Copied' : 'Copy'}
        </button>
        <button type="button" class="button button-secondary" onClick={props.onDone}>
          Done
        </button>
      </div>
      <p class="hint">
        Reaches: {props.token.orgs.map((o) => `${o.name} (${o.role})`).join(', ')}
        {props.token.expiresAt ? ` · expires ${formatDate(props.token.expiresAt)}` : ' · never expires'}
      </p>
    </div>
  );
}
