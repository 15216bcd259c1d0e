import { A } from '@solidjs/router';
import { useQuery } from '@tanstack/solid-query';
import { Show } from 'solid-js';
import { showsAgents } from '../lib/agents';
import { alertQueries, showsAlerts } from '../lib/alerts';
import { showsAudit } from '../lib/audit';
import { queries } from '../lib/queries';
import { showsResources } from '../lib/resources';
import { showsTokens } from '../lib/tokens';

/**
 * The header links of the org's modules: Resources and Agents, Alerts (with the firing count)
 * and Audit log, each when the org has it.
 */
export function ModuleNav() {
  const org = useQuery(() => queries.orgCurrent());
  return (
    <>
      <Show when={showsResources(org.data)}>
        <A href="/resources">Resources</A>
      </Show>
      <Show when={showsAgents(org.data)}>
        <A href="/agents">Agents</A>
      </Show>
      <Show when={showsAlerts(org.data) && org.data}>
        {(current) => (
          <A href="/alerts">
            Alerts
            <FiringBadge orgId={current().id} />
          </A>
        )}
      </Show>
      <Show when={showsAudit(org.data)}>
        <A href="/audit">Audit log</A>
      </Show>
    </>
  );
}

/** The number of firing alerts, refreshed every 30 s; nothing when none fire. */
function FiringBadge(props: { orgId: string }) {
  const summary = useQuery(() => alertQueries.summary(props.orgId));
  const firing = () => summary.data?.firing ?? 0;
  return (
    <Show when={firing() > 0}>
      <span class="nav-badge" data-testid="alerts-badge" title={`${firing()} firing`}>
        {firing()}
        <span class="sr-only"> firing</span>
      </span>
    </Show>
  );
}

/** Settings → API tokens, when the org has the module. */
export function TokensNavLink() {
  const org = useQuery(() => queries.orgCurrent());
  return (
    <Show when={showsTokens(org.data)}>
      <A href="/settings/tokens">API tokens</A>
    </Show>
  );
}
