import { resumeOrgDeletions } from './deletion/recovery.js';
import { processAlertNotification } from './processors/alert-notification.js';
import { processInvitationEmail } from './processors/invitation-email.js';
import { processInvitationExpiry, processInvitationExpirySweep } from './processors/invitation-expiry.js';
import { processOrgDeletion } from './processors/org-deletion.js';
import { type QueueRegistration, registerQueue } from './queue-registration.js';
import { ALERT_NOTIFICATION_QUEUE } from './queues/alert-notification.js';
import { INVITATION_EMAIL_CONCURRENCY, INVITATION_EMAIL_QUEUE } from './queues/invitation-email.js';
import {
  INVITATION_EXPIRY_QUEUE,
  INVITATION_EXPIRY_SCHEDULER,
  INVITATION_EXPIRY_SWEEP_QUEUE,
} from './queues/invitation-expiry.js';
import { ORG_DELETION_QUEUE, ORG_DELETION_WORKER_OPTIONS } from './queues/org-deletion.js';

/**
 * Every queue the worker consumes. A queue lives in two files: `queues/<name>.ts` exports
 * its name and typed job data (producers in the API import it), `processors/<name>.ts` its
 * processor. Adding it here is one line: `registerQueue(INVITATIONS_QUEUE, processInvitation)`.
 */
// biome-ignore lint/suspicious/noExplicitAny: registrations differ in job data; each is typed where it is built
export const REGISTRY: readonly QueueRegistration<any>[] = [
  // A mail job takes well under a second: one whose worker died is picked up again within ~15 s.
  registerQueue(INVITATION_EMAIL_QUEUE, processInvitationEmail, {
    concurrency: INVITATION_EMAIL_CONCURRENCY,
    lockDuration: 15_000,
    stalledInterval: 5_000,
  }),
  registerQueue(INVITATION_EXPIRY_SWEEP_QUEUE, processInvitationExpirySweep, {
    scheduler: { id: INVITATION_EXPIRY_SCHEDULER, every: (env) => env.INVITATION_EXPIRY_INTERVAL },
  }),
  registerQueue(INVITATION_EXPIRY_QUEUE, processInvitationExpiry, { concurrency: 4 }),
  registerQueue(ORG_DELETION_QUEUE, processOrgDeletion, {
    ...ORG_DELETION_WORKER_OPTIONS,
    onStart: resumeOrgDeletions,
  }),
  registerQueue(ALERT_NOTIFICATION_QUEUE, processAlertNotification, { concurrency: 10 }),
];
