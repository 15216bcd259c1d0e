import { useQuery } from '@tanstack/solid-query';
import { Show } from 'solid-js';
import { ErrorNotice, Loading } from '../../components/notices';
import { formatDate, titleCase } from '../../lib/format';
import { queries } from '../../lib/queries';
import { formatCount, tenantQueries, type Usage } from '../../lib/tenants';
import { allows, type CurrentOrg } from '../../lib/types';

/** Settings → Organization → Billing & Plan: the tier, usage against its limits, and the license. */
export function OrgBillingPanel() {
  const org = useQuery(() => queries.orgCurrent());
  return (
    <Show when={org.data} fallback={org.isError ? null : <Loading />}>
      {(current) => (
        <Show
          when={allows(current(), 'usage.read')}
          fallback={
            <p class="notice notice-muted" data-testid="billing-restricted">
              Owners and admins of {current().name} see its plan and usage.
            </p>
          }
        >
          <Billing org={current()} />
        </Show>
      )}
    </Show>
  );
}

function Billing(props: { org: CurrentOrg }) {
  const usage = useQuery(() => tenantQueries.usage(props.org.id));
  return (
    <Show when={usage.data} fallback={usage.isError ? <ErrorNotice error={usage.error} /> : <Loading />}>
      {(u) => (
        <div class="panel-grid">
          <div class="card" data-testid="billing-plan">
            <h2 class="card-title">Plan</h2>
            <dl class="details">
              <dt>Tier</dt>
              <dd data-testid="billing-tier">{titleCase(u().tier)}</dd>
              <dt>API requests</dt>
              <dd>{formatCount(u().limits.requestsPerMinute)} per minute</dd>
              <dt>License</dt>
              <dd>
                <Show when={u().license} fallback={<span class="muted">No license: community modules only</span>}>
                  {(lic) => (
                    <>
                      {lic().licensee} ({titleCase(lic().tier)}), until {formatDate(lic().expiresAt)}
                    </>
                  )}
                </Show>
              </dd>
            </dl>
            <p class="hint">Limits are set per organization by the platform administrator.</p>
          </div>
          <div class="card" data-testid="billing-usage">
            <h2 class="card-title">Usage</h2>
            <UsageBar label="Members" item={u().members} testId="usage-members" note={pendingNote(u())} />
            <UsageBar label="Agents" item={u().agents} testId="usage-agents" />
            <dl class="details">
              <dt>Resources</dt>
              <dd data-testid="usage-resources">{formatCount(u().resources)}</dd>
            </dl>
          </div>
        </div>
      )}
    </Show>
  );
}

function pendingNote(u: Usage): string | undefined {
  if (u.pendingInvitations === 0) return undefined;
  return `including ${u.pendingInvitations} pending invitation${u.pendingInvitations === 1 ? '' : 's'}`;
}

function UsageBar(props: { label: string; item: Usage['members']; testId: string; note?: string | undefined }) {
  const percent = () => Math.round((props.item.fraction ?? 0) * 100);
  return (
    <div class="usage" data-testid={props.testId}>
      <div class="usage-head">
        <span>{props.label}</span>
        <span class={props.item.atLimit ? 'usage-count usage-full' : 'usage-count'}>
          {props.item.used} / {props.item.limit ?? 'unlimited'}
        </span>
      </div>
      <Show when={props.item.limit !== null}>
        <div
          class="progress"
          role="progressbar"
          aria-label={`${props.label} used`}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={percent()}
        >
          <div
            class={props.item.atLimit ? 'progress-bar progress-bar-full' : 'progress-bar'}
            style={{ width: `${percent()}%` }}
          />
        </div>
      </Show>
      <Show when={props.note}>
        <p class="hint">{props.note}</p>
      </Show>
      <Show when={props.item.atLimit}>
        <p class="hint hint-error">The limit is reached: ask your platform administrator to raise it.</p>
      </Show>
    </div>
  );
}
