import { createUniqueId, type JSX, onCleanup, onMount } from 'solid-js';

/**
 * A modal dialog on the native `<dialog>` element (focus trap, Escape and the top layer come
 * from the browser). Render it while it should be open; it closes by calling `onClose`.
 */
export function Modal(props: { title: string; onClose: () => void; children: JSX.Element; testId?: string }) {
  let dialog!: HTMLDialogElement;
  const titleId = createUniqueId();
  onMount(() => dialog.showModal());
  onCleanup(() => {
    if (dialog.open) dialog.close();
  });
  return (
    <dialog
      ref={dialog}
      class="modal"
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
