import { A } from '@solidjs/router';

export function NotFoundPage() {
  return (
    <section class="page">
      <h1>Page not found</h1>
      <p class="muted">There is nothing at this address.</p>
      <A href="/">Back to the home page</A>
    </section>
  );
}
