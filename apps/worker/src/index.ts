export { resumeOrgDeletions } from './deletion/recovery.js';
export { DeletionInterrupted, runOrgDeletion } from './deletion/run-deletion.js';
export {
  listQueueNames,
  sweepOrgFiles,
  sweepOrgQueuedJobs,
  sweepOrgRedisKeys,
  unlinkKeysMatching,
} from './deletion/sweeps.js';
export { EnvError, loadWorkerEnv, redactUrl, type WorkerEnv } from './env.js';
export {
  DEFAULT_QUEUE_PREFIX,
  failedAttemptOutcome,
  JOB_OUTCOMES,
  JOB_OUTCOMES_TTL_SECONDS,
  type JobOutcome,
  JobOutcomeCounter,
  jobOutcomesKey,
  readJobOutcomes,
} from './job-outcomes.js';
export { createLogger } from './logger.js';
// `closeInvitationTransports` is the former name: the transports are shared by every mail.
export {
  closeMailTransports,
  closeMailTransports as closeInvitationTransports,
  DEFAULT_MAIL_FROM,
  escapeHtml,
  MailError,
  type MailMessage,
  SMTP_POOL_SIZE,
  sendMail,
} from './mail.js';
export { type AlertMailContext, alertMail, processAlertNotification } from './processors/alert-notification.js';
export { type InvitationEmailOutcome, invitationMail, processInvitationEmail } from './processors/invitation-email.js';
export { processInvitationExpiry, processInvitationExpirySweep } from './processors/invitation-expiry.js';
export { type OrgDeletionResult, processOrgDeletion } from './processors/org-deletion.js';
export {
  type JobProcessor,
  type ProcessorContext,
  type QueueRegistration,
  registerQueue,
} from './queue-registration.js';
export {
  ALERT_NOTIFICATION_JOB_OPTIONS,
  ALERT_NOTIFICATION_QUEUE,
  type AlertNotificationEvent,
  type AlertNotificationJob,
  alertNotificationJobId,
} from './queues/alert-notification.js';
export {
  INVITATION_EMAIL_CONCURRENCY,
  INVITATION_EMAIL_JOB_OPTIONS,
  INVITATION_EMAIL_QUEUE,
  type InvitationEmailJob,
  invitationEmailJobId,
  invitationMessageId,
  openInvitationEmailQueue,
} from './queues/invitation-email.js';
export {
  INVITATION_EXPIRY_JOB_OPTIONS,
  INVITATION_EXPIRY_QUEUE,
  INVITATION_EXPIRY_SCHEDULER,
  INVITATION_EXPIRY_SWEEP_QUEUE,
  type InvitationExpiryJob,
  invitationExpiryJobId,
} from './queues/invitation-expiry.js';
export {
  enqueueOrgDeletion,
  ORG_DELETION_JOB_OPTIONS,
  ORG_DELETION_QUEUE,
  ORG_DELETION_WORKER_OPTIONS,
  type OrgDeletionJob,
  orgDeletionJobId,
} from './queues/org-deletion.js';
export { connectRedis, pingRedis, REDIS_CONNECT_TIMEOUT_MS, RedisUnavailableError } from './redis.js';
export { REGISTRY } from './registry.js';
export {
  readSchedulerRuns,
  recordSchedulerRun,
  SCHEDULER_RUNS_KEY,
  type SchedulerRun,
} from './scheduler-health.js';
export { type RunningWorker, type StartWorkerOptions, startWorker } from './worker.js';
export { countOnlineWorkers } from './workers-online.js';
