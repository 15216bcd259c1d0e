import { Show } from 'solid-js';
import { isSuperadmin, type Me } from '../lib/types';

/**
 * Platform administration links of the user menu, for superadmins only. The job dashboard is
 * its own page served by the API (`/admin/jobs`), so it is a plain link, not an app route.
 */
export function AdminMenuLinks(props: { me: Me }) {
  return (
    <Show when={isSuperadmin(props.me)}>
      <hr class="menu-separator" />
      <div class="menu-heading">Platform</div>
      <a role="menuitem" class="menu-item menu-link" href="/admin/jobs" rel="external" data-testid="job-dashboard-link">
        <span class="check" aria-hidden="true" />
        <span class="menu-item-label">Job dashboard</span>
      </a>
    </Show>
  );
}
