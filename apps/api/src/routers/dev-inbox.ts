import { DomainError } from '@tenantry/core';
import { z } from 'zod';
import type { Context } from '../context.js';
import type { DevInboxReader } from '../dev-inbox.js';
import { publicProcedure, router } from '../trpc.js';

const summary = z.object({
  id: z.string(),
  receivedAt: z.string(),
  from: z.string(),
  to: z.array(z.string()),
  subject: z.string(),
  messageId: z.string().nullable(),
});

/** The development inbox, or NOT_FOUND: a server with SMTP_URL (production) has none. */
function inboxOf(ctx: Pick<Context, 'devInbox'>): DevInboxReader {
  if (!ctx.devInbox) throw new DomainError('NOT_FOUND');
  return ctx.devInbox;
}

/**
 * The mails of the development inbox (`pnpm start` without SMTP_URL), for the web app's
 * Inbox page. Anyone who reaches the server may read them, as with any local mail catcher:
 * the inbox only exists on a development start.
 */
export const devInboxRouter = router({
  list: publicProcedure
    .meta({
      openapi: { method: 'GET', path: '/dev/inbox', tags: ['dev'], summary: 'Development inbox', protect: false },
    })
    .input(z.void())
    .output(z.object({ mails: z.array(summary) }))
    .query(({ ctx }) => ({ mails: inboxOf(ctx).list() })),

  byId: publicProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/dev/inbox/{id}',
        tags: ['dev'],
        summary: 'A mail of the development inbox',
        protect: false,
      },
    })
    .input(z.strictObject({ id: z.uuid() }))
    .output(summary.extend({ text: z.string(), html: z.string().nullable(), links: z.array(z.string()) }))
    .query(({ ctx, input }) => {
      const mail = inboxOf(ctx).get(input.id);
      if (!mail)
        throw new DomainError('NOT_FOUND', 'That mail is not in the development inbox (it keeps the latest 200).');
      return mail;
    }),
});
