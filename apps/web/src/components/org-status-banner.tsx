import { useMutation, useQuery } from '@tanstack/solid-query';
import { Match, Show, Switch } from 'solid-js';
import { reloadSession } from '../lib/org-session';
import { queries } from '../lib/queries';
import { trpc } from '../lib/trpc';
import { allows } from '../lib/types';
import { ErrorNotice } from './notices';

/**
 * Why an org shows nothing: suspended by the platform administrator, or waiting for its
 * deletion (its owners can restore it until the deletion starts).
 */
export function OrgStatusBanner() {
  const org = useQuery(() => queries.orgCurrent());
  const restore = useMutation(() => ({
    mutationFn: (orgId: string) => trpc.deletions.restore.mutate({ orgId }),
    onSuccess: () => reloadSession(),
  }));
  return (
    <Show when={org.data && org.data.status !== 'active' ? org.data : null}>
      {(o) => (
        <div class="org-banner" role="status" data-testid="org-status-banner">
          <Switch>
            <Match when={o().status === 'suspended'}>
              <strong>This organization is suspended.</strong> Its modules and data are unavailable until the platform
              administrator resumes it. You can still switch to your other organizations.
            </Match>
            <Match when={o().status === 'pending_deletion'}>
              <strong>This organization is scheduled for deletion.</strong> Its data is unavailable.
              <Show when={allows(o(), 'org.delete')}>
                {' '}
                <button
                  type="button"
                  class="button button-small"
                  disabled={restore.isPending}
                  onClick={() => restore.mutate(o().id)}
                >
                  Restore it
                </button>
              </Show>
            </Match>
            <Match when={o().status === 'deleting'}>
              <strong>This organization is being deleted.</strong>
            </Match>
          </Switch>
          <Show when={restore.isError}>
            <ErrorNotice error={restore.error} />
          </Show>
        </div>
      )}
    </Show>
  );
}
