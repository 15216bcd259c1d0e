import { createSignal } from 'solid-js';
import { queries, queryClient } from './queries';
import { trpc } from './trpc';

/**
 * A generation number for everything that shows one organization's data. The app remounts
 * its router whenever it changes, so no component (and no query observer) of the previous
 * org survives a switch.
 */
const [orgGeneration, setOrgGeneration] = createSignal(1);

export { orgGeneration };

const channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel('tenantry-org');

/**
 * After the session's user or active org changed (switch, sign in, sign out): drops every
 * cached query, loads the essentials into the empty cache, then remounts the app on them,
 * so nothing of the old org or user stays on screen or in memory.
 */
export async function reloadSession(): Promise<void> {
  await queryClient.cancelQueries();
  queryClient.clear();
  await Promise.all([
    queryClient.prefetchQuery(queries.config()),
    queryClient.prefetchQuery(queries.me()),
    queryClient.prefetchQuery(queries.orgCurrent()),
  ]);
  setOrgGeneration((g) => g + 1);
}

/** Makes `orgId` the session's active organization and refetches everything for it. */
export async function switchOrg(orgId: string): Promise<void> {
  await trpc.orgs.switch.mutate({ orgId });
  await reloadSession();
  // Other tabs share the session, so their active org has changed too.
  channel?.postMessage({ type: 'org-switched', orgId });
}

/** Shows the sign-in page (without a way back into the signed-out user's pages) on a clean cache. */
function toSignIn(): Promise<void> {
  // The router is remounted by reloadSession and reads the location afresh.
  window.history.replaceState(null, '', '/signin');
  return reloadSession();
}

/** Ends the session and forgets everything cached for it, in this tab and the others. */
export async function signOut(): Promise<void> {
  try {
    await trpc.auth.logout.mutate();
  } finally {
    await toSignIn();
    channel?.postMessage({ type: 'signed-out' });
  }
}

channel?.addEventListener('message', (event: MessageEvent<{ type?: string }>) => {
  if (event.data?.type === 'org-switched') void reloadSession();
  if (event.data?.type === 'signed-out') void toSignIn();
});
