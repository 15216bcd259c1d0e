import { Show } from 'solid-js';
import { titleCase } from '../lib/format';
import type { LiveState, Resource, ResourceStatus, ResourceType } from '../lib/resources';
import { errorMessage } from '../lib/trpc';

const TYPE_LABELS: Record<ResourceType, string> = {
  host: 'Host',
  vm: 'VM',
  container: 'Container',
  storage: 'Storage',
};

/** "vm" → "VM". */
export function typeLabel(type: ResourceType): string {
  return TYPE_LABELS[type] ?? type;
}

const TONES: Record<ResourceStatus, 'good' | 'bad' | 'warn' | 'idle'> = {
  online: 'good',
  running: 'good',
  degraded: 'warn',
  paused: 'warn',
  offline: 'bad',
  stopped: 'bad',
  unknown: 'idle',
};

/** A resource's status as a coloured pill. */
export function StatusPill(props: { status: ResourceStatus }) {
  return (
    <span class={`status status-tone-${TONES[props.status] ?? 'idle'}`} data-testid="resource-status">
      {titleCase(props.status)}
    </span>
  );
}

/** A usage fraction (0–1) as a bar with its percentage; a dash when the agent did not report it. */
export function UsageBar(props: { value: number | null; label: string }) {
  const percent = () => Math.round((props.value ?? 0) * 100);
  return (
    <Show when={props.value !== null} fallback={<span class="muted">—</span>}>
      <span class="meter" title={`${props.label} ${percent()}%`}>
        <span class="meter-track" aria-hidden="true">
          <span
            class={`meter-fill ${percent() >= 90 ? 'meter-high' : percent() >= 75 ? 'meter-warn' : ''}`}
            style={{ width: `${Math.min(100, Math.max(0, percent()))}%` }}
          />
        </span>
        <span class="meter-value">{percent()}%</span>
      </span>
    </Show>
  );
}

/** "Shared · Acme": the resource belongs to another org, which shared it with this one. */
export function SharedBadge(props: { shared: NonNullable<Resource['shared']> }) {
  return (
    <span
      class="badge badge-shared"
      data-testid="shared-badge"
      title={`Shared by ${props.shared.fromOrgName} as ${props.shared.role}`}
    >
      Shared · {props.shared.fromOrgName}
    </span>
  );
}

const LIVE_LABELS: Record<LiveState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  failed: 'Not live',
};

/** Whether the page follows the agents' reports as they arrive. */
export function LiveIndicator(props: { state: LiveState; error?: unknown }) {
  return (
    <span
      class={`live live-${props.state}`}
      data-testid="live-indicator"
      data-state={props.state}
      title={
        props.state === 'failed'
          ? `Live updates stopped: ${errorMessage(props.error)} Reload the page to try again.`
          : props.state === 'live'
            ? 'Changes appear as agents report them.'
            : 'Connecting to live updates.'
      }
    >
      {LIVE_LABELS[props.state]}
    </span>
  );
}
