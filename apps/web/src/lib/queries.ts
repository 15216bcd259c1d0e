import { QueryClient, queryOptions } from '@tanstack/solid-query';
import { errorCode, isClientError, trpc } from './trpc';

/** The one cache of server state. Switching organizations clears it (see `org-session.ts`). */
export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      retry: (failures, error) => failures < 2 && !isClientError(error),
    },
  },
});

/** Query options by name, so pages, prefetching and invalidation share one key per query. */
export const queries = {
  config: () =>
    queryOptions({
      queryKey: ['system', 'config'],
      queryFn: ({ signal }) => trpc.system.config.query(undefined, { signal }),
      staleTime: 60_000,
    }),
  /** The signed-in user, their active org and memberships; `null` when signed out. */
  me: () =>
    queryOptions({
      queryKey: ['auth', 'me'],
      queryFn: async ({ signal }) => {
        try {
          return await trpc.auth.me.query(undefined, { signal });
        } catch (error) {
          if (errorCode(error) === 'UNAUTHENTICATED') return null;
          throw error;
        }
      },
    }),
  orgCurrent: () =>
    queryOptions({
      queryKey: ['org', 'current'],
      queryFn: ({ signal }) => trpc.org.current.query(undefined, { signal }),
    }),
  members: (orgId: string) =>
    queryOptions({
      queryKey: ['members', orgId],
      queryFn: ({ signal }) => trpc.members.list.query({ orgId }, { signal }),
    }),
  license: () =>
    queryOptions({
      queryKey: ['admin', 'license'],
      queryFn: ({ signal }) => trpc.admin.license.get.query(undefined, { signal }),
    }),
  invitations: (orgId: string) =>
    queryOptions({
      queryKey: ['invitations', orgId],
      queryFn: ({ signal }) => trpc.invitations.list.query({ orgId }, { signal }),
    }),
  /** What an invitation link shows; reading it never consumes the token. */
  invitationByToken: (token: string) =>
    queryOptions({
      queryKey: ['invitation', token],
      queryFn: ({ signal }) => trpc.invitations.byToken.query({ token }, { signal }),
      staleTime: 0,
    }),
  devInbox: () =>
    queryOptions({
      queryKey: ['dev-inbox'],
      queryFn: ({ signal }) => trpc.devInbox.list.query(undefined, { signal }),
      staleTime: 0,
    }),
  devMail: (id: string) =>
    queryOptions({
      queryKey: ['dev-inbox', id],
      queryFn: ({ signal }) => trpc.devInbox.byId.query({ id }, { signal }),
      staleTime: 60_000,
    }),
};
