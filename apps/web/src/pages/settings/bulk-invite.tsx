import { chunked, INVITATION_CHUNK_SIZE, parseInvitationList } from '@tenantry/core';
import { createMemo, createSignal, For, Show } from 'solid-js';
import { Modal } from '../../components/modal';
import { ErrorNotice } from '../../components/notices';
import { titleCase } from '../../lib/format';
import { trpc } from '../../lib/trpc';
import type { CurrentOrg, OrgRole } from '../../lib/types';

/** What the requests of a bulk invitation did, added up. */
interface BulkSummary {
  created: number;
  resent: number;
  /** Addresses of members, not invited again. */
  skipped: string[];
}

const count = (n: number) => n.toLocaleString('en-US');
const plural = (n: number, one: string, many: string) => `${count(n)} ${n === 1 ? one : many}`;
/** Invalid entries listed under the preview; the rest are counted. */
const SHOWN_INVALID = 8;

/**
 * Invites a pasted list of people: addresses one per line or separated by commas or
 * semicolons, optionally `email,role`, read as the CLI reads a file (core's
 * `parseInvitationList`), previewed, then sent in chunks of 100 with a progress bar, and
 * summed up (created, resent, skipped members, or the refusal that stopped it).
 */
export function BulkInviteDialog(props: {
  org: CurrentOrg;
  roles: readonly OrgRole[];
  onClose: () => void;
  /** After the last request (or the refusal): refresh what the list shows. */
  onFinished: () => Promise<void>;
}) {
  const [text, setText] = createSignal('');
  const [defaultRole, setDefaultRole] = createSignal<OrgRole>(
    props.roles.includes('viewer') ? 'viewer' : (props.roles[0] ?? 'viewer'),
  );
  const [phase, setPhase] = createSignal<'editing' | 'sending' | 'done'>('editing');
  const [sent, setSent] = createSignal(0);
  const [total, setTotal] = createSignal(0);
  const [summary, setSummary] = createSignal<BulkSummary>({ created: 0, resent: 0, skipped: [] });
  const [error, setError] = createSignal<unknown>(null);
  const list = createMemo(() => parseInvitationList(text(), { defaultRole: defaultRole(), roles: props.roles }));
  const percent = () => (total() === 0 ? 0 : Math.round((sent() / total()) * 100));

  async function send(event: SubmitEvent) {
    event.preventDefault();
    const entries = list().entries;
    if (entries.length === 0) return;
    setError(null);
    setSent(0);
    setTotal(entries.length);
    setSummary({ created: 0, resent: 0, skipped: [] });
    setPhase('sending');
    // One request after another: each is all or nothing, so a refusal (the member limit) stops
    // at a chunk boundary and what was sent before it stands.
    for (const chunk of chunked(entries, INVITATION_CHUNK_SIZE)) {
      try {
        const res = await trpc.invitations.createMany.mutate({
          orgId: props.org.id,
          invitations: chunk.map(({ email, role }) => ({ email, role })),
        });
        const skipped = res.results.flatMap((r) => (r.outcome === 'skipped' ? [r.email] : []));
        setSummary((s) => ({
          created: s.created + res.created,
          resent: s.resent + res.resent,
          skipped: [...s.skipped, ...skipped],
        }));
        setSent((n) => n + chunk.length);
      } catch (err) {
        setError(err);
        break;
      }
    }
    setPhase('done');
    await props.onFinished();
  }

  return (
    <Modal
      title="Bulk invite"
      class="modal-wide"
      testId="bulk-invite-dialog"
      onClose={() => {
        if (phase() !== 'sending') props.onClose();
      }}
    >
      <form class="form" onSubmit={send}>
        <Show when={phase() === 'editing'}>
          <p class="muted">
            Paste addresses, one per line or separated by commas or semicolons. Put a role after an address (
            <code>ann@example.com,admin</code>) to give that person another role than the default.
          </p>
          <div class="field">
            <label for="bulk-emails">Addresses</label>
            <textarea
              id="bulk-emails"
              rows={8}
              spellcheck={false}
              autocomplete="off"
              placeholder={'ann@example.com\nbob@example.com, admin\ncy@example.com; dee@example.com'}
              value={text()}
              onInput={(e) => setText(e.currentTarget.value)}
            />
          </div>
          <div class="field">
            <label for="bulk-role">Default role</label>
            <select
              id="bulk-role"
              value={defaultRole()}
              onChange={(e) => setDefaultRole(e.currentTarget.value as OrgRole)}
            >
              <For each={props.roles}>{(r) => <option value={r}>{titleCase(r)}</option>}</For>
            </select>
          </div>
          <p class="muted" data-testid="bulk-preview" aria-live="polite">
            {plural(list().entries.length, 'address', 'addresses')} to invite
            <Show when={list().invalid.length > 0}>
              , {plural(list().invalid.length, 'entry', 'entries')} not valid
            </Show>
            <Show when={list().duplicates > 0}>, {plural(list().duplicates, 'repeat', 'repeats')} left out</Show>.
          </p>
          <Show when={list().invalid.length > 0}>
            <ul class="bulk-invalid" data-testid="bulk-invalid">
              <For each={list().invalid.slice(0, SHOWN_INVALID)}>
                {(entry) => (
                  <li>
                    Line {entry.line}: <code>{entry.text}</code> — {entry.reason}
                  </li>
                )}
              </For>
              <Show when={list().invalid.length > SHOWN_INVALID}>
                <li>…and {count(list().invalid.length - SHOWN_INVALID)} more.</li>
              </Show>
            </ul>
          </Show>
        </Show>

        <Show when={phase() !== 'editing'}>
          <div
            class="progress"
            role="progressbar"
            aria-label="Invitations sent"
            aria-valuemin={0}
            aria-valuemax={total()}
            aria-valuenow={sent()}
          >
            <div class="progress-bar" style={{ width: `${percent()}%` }} />
          </div>
          <p class="muted" data-testid="bulk-progress">
            Invited {count(sent())} of {count(total())}
          </p>
        </Show>

        <Show when={phase() === 'done'}>
          <div data-testid="bulk-summary">
            <dl class="details">
              <dt>Created</dt>
              <dd data-testid="bulk-created">{count(summary().created)}</dd>
              <dt>Resent</dt>
              <dd data-testid="bulk-resent">{count(summary().resent)}</dd>
              <dt>Skipped</dt>
              <dd data-testid="bulk-skipped">
                {count(summary().skipped.length)}
                <Show when={summary().skipped.length > 0}>
                  {summary().skipped.length === 1 ? ' (already a member)' : ' (already members)'}
                </Show>
              </dd>
            </dl>
            <Show when={summary().skipped.length > 0}>
              <ul class="chips bulk-skipped" aria-label="Skipped: already members">
                <For each={summary().skipped}>{(email) => <li class="chip">{email}</li>}</For>
              </ul>
            </Show>
          </div>
          <Show when={error()}>
            <p class="muted">
              Stopped after {count(sent())} of {count(total())}: the rest were not sent.
            </p>
            <ErrorNotice error={error()} />
          </Show>
        </Show>

        <div class="actions">
          <Show
            when={phase() === 'editing'}
            fallback={
              <button type="button" class="button" disabled={phase() === 'sending'} onClick={() => props.onClose()}>
                {phase() === 'sending' ? 'Sending…' : 'Done'}
              </button>
            }
          >
            <button type="button" class="button button-secondary" onClick={() => props.onClose()}>
              Cancel
            </button>
            <button type="submit" class="button" disabled={list().entries.length === 0}>
              {list().entries.length > 0
                ? `Send ${plural(list().entries.length, 'invitation', 'invitations')}`
                : 'Send invitations'}
            </button>
          </Show>
        </div>
      </form>
    </Modal>
  );
}
