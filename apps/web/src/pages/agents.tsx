import { useMutation, useQuery } from '@tanstack/solid-query';
import { createSignal, For, onCleanup, Show } from 'solid-js';
import { ConfirmModal } from '../components/modal';
import { ErrorNotice, Loading, SuccessNotice } from '../components/notices';
import { type Agent, agentQueries, type RegisteredAgent, reportExample, showsAgents } from '../lib/agents';
import { formatDate, formatDateTime } from '../lib/format';
import { queries, queryClient } from '../lib/queries';
import { createResourcesLive } from '../lib/resources';
import { trpc } from '../lib/trpc';
import { allows, type CurrentOrg } from '../lib/types';

/** Agents: the org's registered agents, whether they report, registering one (its token shown once) and removing one. */
export function AgentsPage() {
  const org = useQuery(() => queries.orgCurrent());
  return (
    <section class="page">
      <header class="page-head">
        <div>
          <h1>Agents</h1>
          <p class="muted">
            An agent runs next to your infrastructure and reports its hosts, VMs, containers and storage with its own
            token, which reaches this organization only.
          </p>
        </div>
      </header>
      <Show when={org.data} fallback={org.isError ? <ErrorNotice error={org.error} /> : <Loading />}>
        {(current) => (
          <Show
            when={showsAgents(current())}
            fallback={
              <div class="notice notice-muted" data-testid="agents-unavailable">
                {current().modules.includes('agents')
                  ? 'Your role in this organization does not allow seeing its agents.'
                  : 'Agents are not enabled for this organization.'}
              </div>
            }
          >
            <Agents org={current()} />
          </Show>
        )}
      </Show>
    </section>
  );
}

function Agents(props: { org: CurrentOrg }) {
  const agents = useQuery(() => agentQueries.list(props.org.id));
  const [registered, setRegistered] = createSignal<RegisteredAgent | null>(null);
  const [removing, setRemoving] = createSignal<Agent | null>(null);
  const [notice, setNotice] = createSignal<string | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['agents', props.org.id] });

  // A report marks its agent seen: refresh the list (at most every 2 s) while reports arrive.
  let pending: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(pending));
  createResourcesLive(props.org.id, () => {
    if (pending) return;
    pending = setTimeout(() => {
      pending = undefined;
      void refresh();
    }, 2_000);
  });

  const remove = useMutation(() => ({
    mutationFn: (agent: Agent) => trpc.agents.remove.mutate({ agentId: agent.id }),
    onSuccess: async (_data, agent) => {
      await Promise.all([refresh(), queryClient.invalidateQueries({ queryKey: ['resources', props.org.id] })]);
      setRemoving(null);
      if (registered()?.id === agent.id) setRegistered(null);
      setNotice(`The agent ${agent.name} was removed with its resources; its token no longer works.`);
    },
  }));

  return (
    <div class="stack">
      <Show when={allows(props.org, 'agents.register')}>
        <RegisterAgentForm
          onRegistered={async (agent) => {
            setNotice(null);
            setRegistered(agent);
            await refresh();
          }}
        />
      </Show>
      <Show when={registered()}>
        {(agent) => <AgentTokenOnce agent={agent()} onDone={() => setRegistered(null)} />}
      </Show>
      <Show when={notice()}>
        <SuccessNotice>{notice()}</SuccessNotice>
      </Show>
      <div class="card card-flush">
        <h2 class="card-title card-title-padded">Registered agents</h2>
        <Show
          when={agents.data}
          fallback={agents.isError ? <ErrorNotice error={agents.error} class="notice-inset" /> : <Loading />}
        >
          {(list) => (
            <Show
              when={list().agents.length > 0}
              fallback={
                <p class="muted card-body" data-testid="agents-empty">
                  No agents yet
                  {allows(props.org, 'agents.register')
                    ? ': register one above and point it at this server with its token.'
                    : ': an admin or owner of this organization can register one.'}
                </p>
              }
            >
              <div class="table-wrap">
                <table class="table" data-testid="agents-table">
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">State</th>
                      <th scope="col">Last seen</th>
                      <th scope="col">Resources</th>
                      <th scope="col" class="col-secondary">
                        Version
                      </th>
                      <th scope="col" class="col-secondary">
                        Address
                      </th>
                      <th scope="col" class="col-secondary">
                        Registered
                      </th>
                      <th scope="col">
                        <span class="sr-only">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={list().agents}>
                      {(a) => (
                        <tr data-testid={`agent-${a.name}`}>
                          <td>{a.name}</td>
                          <td>
                            <span
                              class={`status ${a.online ? 'status-tone-good' : 'status-tone-bad'}`}
                              data-testid="agent-state"
                            >
                              {a.online ? 'Online' : 'Offline'}
                            </span>
                          </td>
                          <td>{a.lastSeenAt ? formatDateTime(a.lastSeenAt) : 'Never'}</td>
                          <td data-testid="agent-resources">{a.resources}</td>
                          <td class="col-secondary">{a.version ?? '—'}</td>
                          <td class="col-secondary mono">{a.lastIp ?? '—'}</td>
                          <td class="col-secondary">{formatDate(a.createdAt)}</td>
                          <td class="cell-actions">
                            <Show when={allows(props.org, 'agents.remove')}>
                              <button
                                type="button"
                                class="button button-small button-danger-quiet"
                                aria-label={`Remove ${a.name}`}
                                onClick={() => {
                                  remove.reset();
                                  setRemoving(a);
                                }}
                              >
                                Remove
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
      <Show when={removing()}>
        {(a) => (
          <ConfirmModal
            title="Remove agent"
            testId="remove-agent-dialog"
            confirmLabel="Remove agent"
            pendingLabel="Removing…"
            mutation={remove}
            onConfirm={() => remove.mutate(a())}
            onClose={() => setRemoving(null)}
          >
            <p>
              Remove <strong>{a().name}</strong>? Its token stops working at once, and the{' '}
              {a().resources === 1 ? 'resource it reports is' : `${a().resources} resources it reports are`} removed
              with it, also from the organizations they are shared with.
            </p>
          </ConfirmModal>
        )}
      </Show>
    </div>
  );
}

function RegisterAgentForm(props: { onRegistered: (agent: RegisteredAgent) => Promise<void> }) {
  const [name, setName] = createSignal('');
  const register = useMutation(() => ({
    mutationFn: () => trpc.agents.register.mutate({ name: name().trim() }),
    onSuccess: async (agent) => {
      setName('');
      await props.onRegistered(agent);
    },
  }));
  return (
    <form
      class="card form"
      onSubmit={(e) => {
        e.preventDefault();
        register.mutate();
      }}
    >
      <h2 class="card-title">Register an agent</h2>
      <div class="form-row">
        <div class="field field-grow">
          <label for="agent-name">Name</label>
          <input
            id="agent-name"
            required
            maxLength={100}
            placeholder="rack-1"
            value={name()}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </div>
        <button type="submit" class="button" disabled={register.isPending || !name().trim()}>
          {register.isPending ? 'Registering…' : 'Register agent'}
        </button>
      </div>
      <Show when={register.isError}>
        <ErrorNotice error={register.error} />
      </Show>
    </form>
  );
}

/** The token of a new agent, shown this once, with a copy button and the report to try it with. */
function AgentTokenOnce(props: { agent: RegisteredAgent; onDone: () => void }) {
  const [copied, setCopied] = createSignal(false);
  let field!: HTMLInputElement;
  async function copy() {
    try {
      await navigator.clipboard.writeText(props.agent.token);
    } catch {
      // Without clipboard access (plain http), select the text for a manual copy.
      field.select();
      document.execCommand('copy');
    }
    setCopied(true);
  }
  return (
    <div class="card secret-card" data-testid="agent-token-card">
      <h2 class="card-title">Agent {props.agent.name} registered</h2>
      <p>Copy its token now: it is shown only this once and cannot be read again.</p>
      <div class="form-row">
        <div class="field field-grow">
          <label for="agent-token">Agent token</label>
          <input
            id="agent-token"
            ref={field}
            class="mono"
            readOnly
            value={props.agent.token}
            data-testid="agent-token"
          />
        </div>
        <button type="button" class="button" onClick={() => void copy()}>
          {copied() ? 'Copied' : 'Copy'}
        </button>
        <button type="button" class="button button-secondary" onClick={props.onDone}>
          Done
        </button>
      </div>
      <p class="hint">The agent reports with it like this (usage as fractions from 0 to 1):</p>
      <pre class="code-block" data-testid="agent-curl">
        {reportExample(window.location.origin, props.agent.token)}
      </pre>
    </div>
  );
}
