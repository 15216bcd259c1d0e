import { A, useParams } from '@solidjs/router';
import { useQuery } from '@tanstack/solid-query';
import { For, Match, Show, Switch } from 'solid-js';
import { ErrorNotice, Loading } from '../components/notices';
import { formatDateTime } from '../lib/format';
import { queries } from '../lib/queries';
import { errorCode } from '../lib/trpc';
import type { DevMail } from '../lib/types';

// The HTML body is shown in a sandboxed frame: no scripts, a unique origin, nothing loaded
// from elsewhere (the policy blocks remote images and fonts), links opening in a new tab.
const FRAME_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:";

function htmlDocument(html: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${FRAME_POLICY}"><base target="_blank"><style>body{font:15px/1.5 system-ui,sans-serif;color:#1b1f27;margin:1rem}</style></head><body>${html}</body></html>`;
}

/**
 * `/dev/inbox` (and `/dev/inbox/:id`): the mails this server sent while SMTP_URL is unset
 * (`pnpm start`), newest first, with one mail's text, its HTML body rendered safely and its links.
 */
export function DevInboxPage() {
  const params = useParams<{ id?: string }>();
  const list = useQuery(() => ({ ...queries.devInbox(), refetchInterval: 2000, retry: false }));
  return (
    <div class="shell">
      <header class="topbar">
        <div class="topbar-inner">
          <A href="/" class="brand" end>
            <span class="brand-mark" aria-hidden="true" />
            <span class="brand-text">Tenantry</span>
          </A>
          <span class="topbar-divider" aria-hidden="true" />
          <span class="org-static-name">Dev inbox</span>
        </div>
      </header>
      <main class="main">
        <section class="page" data-testid="dev-inbox">
          <header class="page-head">
            <div>
              <h1>Dev inbox</h1>
              <p class="muted">
                Every mail this server sent while no SMTP server is configured (SMTP_URL unset), kept in memory: nothing
                was delivered anywhere.
              </p>
            </div>
          </header>
          <Switch fallback={<Loading />}>
            <Match when={list.isError && errorCode(list.error) === 'NOT_FOUND'}>
              <div class="notice notice-muted" data-testid="dev-inbox-off">
                This server sends mail through its SMTP server (SMTP_URL), so it has no development inbox.
              </div>
            </Match>
            <Match when={list.isError}>
              <ErrorNotice error={list.error} />
            </Match>
            <Match when={list.data}>
              {(data) => (
                <div class="inbox">
                  <div class="card card-flush inbox-list">
                    <Show
                      when={data().mails.length > 0}
                      fallback={<p class="muted card-empty">No mail yet. Invitations you send appear here.</p>}
                    >
                      <ul data-testid="dev-inbox-list">
                        <For each={data().mails}>
                          {(mail) => (
                            <li>
                              <A
                                href={`/dev/inbox/${mail.id}`}
                                class="inbox-item"
                                classList={{ 'inbox-item-active': params.id === mail.id }}
                              >
                                <span class="inbox-subject">{mail.subject || '(no subject)'}</span>
                                <span class="inbox-meta">
                                  To {mail.to.join(', ')} · {formatDateTime(mail.receivedAt)}
                                </span>
                              </A>
                            </li>
                          )}
                        </For>
                      </ul>
                    </Show>
                  </div>
                  <div class="inbox-view">
                    <Show when={params.id} fallback={<p class="muted">Choose a mail to read it.</p>} keyed>
                      {(id) => <MailView id={id} />}
                    </Show>
                  </div>
                </div>
              )}
            </Match>
          </Switch>
        </section>
      </main>
    </div>
  );
}

function MailView(props: { id: string }) {
  const mail = useQuery(() => ({ ...queries.devMail(props.id), retry: false }));
  return (
    <Show when={mail.data} fallback={mail.isError ? <ErrorNotice error={mail.error} /> : <Loading />}>
      {(m) => <MailContent mail={m()} />}
    </Show>
  );
}

function MailContent(props: { mail: DevMail }) {
  return (
    <article class="card stack" data-testid="dev-mail">
      <h2 class="card-title" data-testid="dev-mail-subject">
        {props.mail.subject || '(no subject)'}
      </h2>
      <dl class="details">
        <dt>From</dt>
        <dd>{props.mail.from}</dd>
        <dt>To</dt>
        <dd data-testid="dev-mail-to">{props.mail.to.join(', ')}</dd>
        <dt>Received</dt>
        <dd>{formatDateTime(props.mail.receivedAt)}</dd>
      </dl>
      <Show when={props.mail.links.length > 0}>
        <div>
          <h3 class="inbox-heading">Links</h3>
          <ul class="inbox-links" data-testid="dev-mail-links">
            <For each={props.mail.links}>
              {(link) => (
                <li>
                  <a href={link} rel="noreferrer">
                    {link}
                  </a>
                </li>
              )}
            </For>
          </ul>
        </div>
      </Show>
      <Show when={props.mail.html}>
        {(html) => (
          <div>
            <h3 class="inbox-heading">HTML</h3>
            <iframe
              class="inbox-frame"
              title="HTML body of the mail"
              sandbox="allow-popups allow-popups-to-escape-sandbox"
              referrerPolicy="no-referrer"
              srcdoc={htmlDocument(html())}
              data-testid="dev-mail-html"
            />
          </div>
        )}
      </Show>
      <div>
        <h3 class="inbox-heading">Text</h3>
        <pre class="inbox-text" data-testid="dev-mail-text">
          {props.mail.text}
        </pre>
      </div>
    </article>
  );
}
