import { useMutation } from '@tanstack/solid-query';
import { createSignal, Show } from 'solid-js';
import { queryClient } from '../lib/queries';
import { trpc } from '../lib/trpc';
import { allows, type CurrentOrg } from '../lib/types';
import { ErrorNotice } from './notices';

const TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;
type LogoType = (typeof TYPES)[number];
const MAX_BYTES = 256 * 1024;

async function toBase64(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** The org's logo, stored with the org's files; admins upload or remove it. */
export function OrgLogoCard(props: { org: CurrentOrg }) {
  const [problem, setProblem] = createSignal<string | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['org', 'current'] });
  const upload = useMutation(() => ({
    mutationFn: async (file: File) =>
      trpc.logo.put.mutate({ orgId: props.org.id, contentType: file.type as LogoType, data: await toBase64(file) }),
    onSuccess: refresh,
  }));
  const remove = useMutation(() => ({
    mutationFn: () => trpc.logo.remove.mutate({ orgId: props.org.id }),
    onSuccess: refresh,
  }));
  const canEdit = () => allows(props.org, 'org.update');

  return (
    <div class="card" data-testid="org-logo-card">
      <h2 class="card-title">Logo</h2>
      <Show when={props.org.logoUrl} fallback={<p class="muted">No logo yet.</p>}>
        {(src) => <img class="org-logo" src={src()} alt={`${props.org.name} logo`} data-testid="org-logo" />}
      </Show>
      <Show when={canEdit()}>
        <div class="actions actions-start">
          <label class="button button-secondary button-small file-button">
            {upload.isPending ? 'Uploading…' : 'Upload logo'}
            <input
              type="file"
              class="sr-only"
              accept={TYPES.join(',')}
              data-testid="org-logo-input"
              onChange={(e) => {
                const file = e.currentTarget.files?.[0];
                e.currentTarget.value = '';
                setProblem(null);
                if (!file) return;
                if (!(TYPES as readonly string[]).includes(file.type) || file.size > MAX_BYTES) {
                  setProblem('Choose a PNG, JPEG, GIF or WebP image of at most 256 KB.');
                  return;
                }
                upload.mutate(file);
              }}
            />
          </label>
          <Show when={props.org.logoUrl}>
            <button
              type="button"
              class="button button-small button-danger-quiet"
              disabled={remove.isPending}
              onClick={() => remove.mutate()}
            >
              Remove
            </button>
          </Show>
        </div>
        <p class="hint">PNG, JPEG, GIF or WebP, at most 256 KB.</p>
      </Show>
      <Show when={problem()}>
        <p class="hint hint-error">{problem()}</p>
      </Show>
      <Show when={upload.isError}>
        <ErrorNotice error={upload.error} />
      </Show>
      <Show when={remove.isError}>
        <ErrorNotice error={remove.error} />
      </Show>
    </div>
  );
}
