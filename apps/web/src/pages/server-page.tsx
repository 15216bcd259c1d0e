import { useLocation } from '@solidjs/router';
import { onMount } from 'solid-js';

/**
 * Pages the API serves itself (the job dashboard at `/admin/jobs`). Reached by a navigation
 * inside the app (e.g. back from sign-in), they are loaded from the server for real.
 */
export function ServerPage() {
  // The router's location: the browser's may not show the new path yet when this mounts.
  const location = useLocation();
  onMount(() => window.location.replace(`${location.pathname}${location.search}`));
  return <p class="muted">Opening…</p>;
}
