import { createUniqueId, type JSX, onCleanup, onMount, Show } from 'solid-js';
import { ErrorNotice } from './notices';

/**
 * A modal dialog on the native `<dialog>` element (focus trap, Escape and the top layer come
 * from the browser). Render it while it should be open; it closes by calling `onClose`.
 */
export function Modal(props: {
  title: string;
  onClose: () => void;
  children: JSX.Element;
  testId?: string;
  /** Extra classes of the dialog (e.g. `modal-wide`). */
  class?: string;
}) {
  let dialog!: HTMLDialogElement;
  const titleId = createUniqueId();
  onMount(() => dialog.showModal());
  onCleanup(() => {
    if (dialog.open) dialog.close();
  });
  return (
    <dialog
      ref={dialog}
      class={props.class ? `modal ${props.class}` : 'modal'}
      aria-labelledby={titleId}
      data-testid={props.testId}
      onCancel={(event) => {
        event.preventDefault();
        props.onClose();
      }}
    >
      <h2 id={titleId} class="modal-title">
        {props.title}
      </h2>
      {props.children}
    </dialog>
  );
}

/**
 * A confirmation of a destructive action: the question, the mutation's error if it failed,
 * Cancel, and the danger button (disabled and relabelled while the mutation runs).
 */
export function ConfirmModal(props: {
  title: string;
  testId?: string;
  children: JSX.Element;
  confirmLabel: string;
  pendingLabel: string;
  mutation: { isPending: boolean; isError: boolean; error: unknown };
  onConfirm: () => void;
  onClose: () => void;
}) {
  return (
    <Modal title={props.title} onClose={props.onClose} {...(props.testId ? { testId: props.testId } : {})}>
      {props.children}
      <Show when={props.mutation.isError}>
        <ErrorNotice error={props.mutation.error} />
      </Show>
      <div class="actions">
        <button type="button" class="button button-secondary" onClick={() => props.onClose()}>
          Cancel
        </button>
        <button
          type="button"
          class="button button-danger"
          disabled={props.mutation.isPending}
          onClick={() => props.onConfirm()}
        >
          {props.mutation.isPending ? props.pendingLabel : props.confirmLabel}
        </button>
      </div>
    </Modal>
  );
}
