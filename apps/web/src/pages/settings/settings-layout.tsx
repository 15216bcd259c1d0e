import { A, type RouteSectionProps } from '@solidjs/router';
import { TokensNavLink } from '../../components/module-nav';

/** Settings: a side navigation and the chosen section. */
export function SettingsLayout(props: RouteSectionProps) {
  return (
    <div class="settings">
      <nav class="side-nav" aria-label="Settings">
        <p class="side-nav-title">Settings</p>
        <A href="/settings/organization">Organization</A>
        <A href="/settings/plans">Plans &amp; Activation</A>
        <TokensNavLink />
      </nav>
      <div class="settings-body">{props.children}</div>
    </div>
  );
}
