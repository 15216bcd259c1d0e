import { Queue } from 'bullmq';

/** Queue of invitation mails. The API enqueues one job per (invitation, send_count). */
export const INVITATION_EMAIL_QUEUE = 'invitation-email';

/** Data of an invitation mail job (built by the API's invitations router). */
export interface InvitationEmailJob {
  orgId: string;
  invitationId: string;
  /** The send the token belongs to; a resend moves on and makes this job stale. */
  sendCount: number;
  /** The raw token (only its hash is stored). */
  token: string;
  email: string;
  orgName: string;
  inviterName: string;
  role: string;
  /** `${PUBLIC_URL}/invite/${token}` */
  link: string;
}

/** Invitation mails one worker process sends at once. */
export const INVITATION_EMAIL_CONCURRENCY = 10;

/** Job options the producer uses: 5 attempts with exponential backoff. */
export const INVITATION_EMAIL_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential' as const, delay: 1000 },
};

/** Deterministic job id: a retried request never enqueues a second mail for one token. */
export function invitationEmailJobId(invitationId: string, sendCount: number): string {
  return `invite-${invitationId}-${sendCount}`;
}

/**
 * The Message-ID of the mail of (invitation, send): the same on every attempt, so a mail that
 * a crash made the worker send twice is one message to the receiving side.
 */
export function invitationMessageId(invitationId: string, sendCount: number, link: string): string {
  let host = 'tenantry.local';
  try {
    host = new URL(link).hostname || host;
  } catch {
    // keep the fallback domain
  }
  return `<invite-${invitationId}-${sendCount}@${host}>`;
}

/**
 * A producer queue for invitation mails on the Redis at `redisUrl` (the API and tests use it;
 * `name` and `prefix` let tests isolate themselves). Close it with `queue.close()`.
 */
export function openInvitationEmailQueue(
  redisUrl: string,
  { name = INVITATION_EMAIL_QUEUE, prefix }: { name?: string; prefix?: string } = {},
): Queue<InvitationEmailJob> {
  const url = new URL(redisUrl);
  return new Queue<InvitationEmailJob>(name, {
    connection: {
      host: url.hostname,
      port: Number(url.port || 6379),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(url.pathname.length > 1 ? { db: Number(url.pathname.slice(1)) } : {}),
      ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
      maxRetriesPerRequest: null,
    },
    ...(prefix ? { prefix } : {}),
  });
}
