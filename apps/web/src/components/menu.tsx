import { createSignal, createUniqueId, type JSX, onCleanup, Show } from 'solid-js';

interface MenuProps {
  /** Content of the button that opens the menu. */
  button: JSX.Element;
  /** Accessible name of the menu list. */
  label: string;
  buttonClass?: string;
  testId?: string;
  align?: 'start' | 'end';
  children: (close: () => void) => JSX.Element;
}

const ITEM = '[role="menuitem"],[role="menuitemradio"]';

/** A menu button (WAI-ARIA menu pattern): arrows move, Escape closes, a click outside closes. */
export function Menu(props: MenuProps) {
  const [open, setOpen] = createSignal(false);
  const id = createUniqueId();
  let root!: HTMLDivElement;
  let button!: HTMLButtonElement;
  let list: HTMLDivElement | undefined;

  const items = () => Array.from(list?.querySelectorAll<HTMLElement>(ITEM) ?? []);
  const onOutside = (event: MouseEvent) => {
    if (!root.contains(event.target as Node)) hide();
  };
  function show() {
    setOpen(true);
    document.addEventListener('mousedown', onOutside);
    queueMicrotask(() => {
      const all = items();
      (all.find((el) => el.getAttribute('aria-checked') === 'true') ?? all[0])?.focus();
    });
  }
  function hide() {
    setOpen(false);
    document.removeEventListener('mousedown', onOutside);
  }
  const close = () => {
    hide();
    button.focus();
  };
  onCleanup(() => document.removeEventListener('mousedown', onOutside));

  const onKeyDown = (event: KeyboardEvent) => {
    const all = items();
    const at = all.indexOf(document.activeElement as HTMLElement);
    const focus = (i: number) => all[(i + all.length) % all.length]?.focus();
    if (event.key === 'Escape') close();
    else if (event.key === 'ArrowDown') focus(at + 1);
    else if (event.key === 'ArrowUp') focus(at - 1);
    else if (event.key === 'Home') focus(0);
    else if (event.key === 'End') focus(all.length - 1);
    else if (event.key === 'Tab') hide();
    else return;
    if (event.key !== 'Tab') event.preventDefault();
  };

  return (
    <div class="menu" ref={root}>
      <button
        ref={button}
        type="button"
        class={props.buttonClass ?? 'menu-button'}
        aria-haspopup="menu"
        aria-expanded={open()}
        aria-controls={open() ? id : undefined}
        data-testid={props.testId}
        onClick={() => (open() ? hide() : show())}
        onKeyDown={(event) => {
          if (event.key === 'ArrowDown' && !open()) {
            event.preventDefault();
            show();
          }
        }}
      >
        {props.button}
      </button>
      <Show when={open()}>
        <div
          ref={list}
          id={id}
          role="menu"
          aria-label={props.label}
          class={`menu-list ${props.align === 'end' ? 'menu-list-end' : ''}`}
          onKeyDown={onKeyDown}
        >
          {props.children(close)}
        </div>
      </Show>
    </div>
  );
}
