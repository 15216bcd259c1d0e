import { checkSlug, slugify } from '@tenantry/core';
import { createSignal, Show } from 'solid-js';
import { switchOrg } from '../lib/org-session';
import { queryClient } from '../lib/queries';
import { trpc } from '../lib/trpc';
import { Modal } from './modal';
import { ErrorNotice } from './notices';

/** Creates an organization (name, slug derived from it unless edited, description) and switches to it. */
export function CreateOrgDialog(props: { onClose: () => void }) {
  const [name, setName] = createSignal('');
  const [slugInput, setSlugInput] = createSignal('');
  const [slugEdited, setSlugEdited] = createSignal(false);
  const [description, setDescription] = createSignal('');
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<unknown>(null);

  const slug = () => (slugEdited() ? slugInput() : name().trim() ? slugify(name()) : '');
  const slugProblem = () => {
    const value = slug();
    if (!value) return null;
    const check = checkSlug(value);
    return check.ok ? null : check.reason;
  };

  async function submit(event: SubmitEvent) {
    event.preventDefault();
    setError(null);
    setPending(true);
    let created: { id: string } | undefined;
    try {
      created = await trpc.orgs.create.mutate({
        name: name().trim(),
        slug: slug() || undefined,
        description: description().trim() || undefined,
      });
      await switchOrg(created.id);
      props.onClose();
    } catch (err) {
      setError(err);
      // The org may exist even though the switch failed: show it in the switcher.
      if (created) void queryClient.invalidateQueries({ queryKey: ['auth', 'me'] });
    } finally {
      setPending(false);
    }
  }

  return (
    <Modal title="Create organization" onClose={props.onClose} testId="create-org-dialog">
      <form class="form" onSubmit={submit}>
        <p class="muted">You become the owner of the new organization, and the app switches to it.</p>
        <div class="field">
          <label for="org-name">Name</label>
          <input
            id="org-name"
            name="name"
            required
            maxLength={100}
            autocomplete="off"
            value={name()}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="org-slug">Slug</label>
          <input
            id="org-slug"
            name="slug"
            maxLength={48}
            autocomplete="off"
            spellcheck={false}
            aria-describedby="org-slug-hint"
            aria-invalid={slugProblem() ? true : undefined}
            value={slug()}
            onInput={(e) => {
              setSlugEdited(true);
              setSlugInput(e.currentTarget.value);
            }}
          />
          <p id="org-slug-hint" class={slugProblem() ? 'hint hint-error' : 'hint'}>
            {slugProblem() ?? 'Used in URLs and API calls; it cannot be changed later.'}
          </p>
        </div>
        <div class="field">
          <label for="org-description">Description</label>
          <textarea
            id="org-description"
            name="description"
            rows={3}
            maxLength={500}
            value={description()}
            onInput={(e) => setDescription(e.currentTarget.value)}
          />
        </div>
        <Show when={error()}>
          <ErrorNotice error={error()} />
        </Show>
        <div class="actions">
          <button type="button" class="button button-secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="button" disabled={pending() || !name().trim() || !!slugProblem()}>
            {pending() ? 'Creating…' : 'Create organization'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
