import { A } from '@solidjs/router';
import { type JSX, Show } from 'solid-js';
import { errorCode, errorMessage } from '../lib/trpc';

/** The server's message for a failed request; a missing license links to where it is activated. */
export function ErrorNotice(props: { error: unknown; class?: string }) {
  return (
    <div role="alert" class={`notice notice-error ${props.class ?? ''}`}>
      <span>{errorMessage(props.error)}</span>
      <Show when={errorCode(props.error) === 'LICENSE_REQUIRED'}>
        {' '}
        <A href="/settings/plans">Activate a license in Plans &amp; Activation</A>
      </Show>
    </div>
  );
}

/** What gated panels show in their place when multi-tenant mode is off. */
export function FeatureUnavailable() {
  return (
    <div class="notice notice-muted" data-testid="feature-unavailable">
      This feature is not available.
    </div>
  );
}

export function SuccessNotice(props: { children: JSX.Element }) {
  return (
    <div role="status" class="notice notice-success">
      {props.children}
    </div>
  );
}

export function Loading(props: { label?: string }) {
  return (
    <p class="loading" aria-live="polite">
      {props.label ?? 'Loading…'}
    </p>
  );
}
