export { EnvError, loadWorkerEnv, redactUrl, type WorkerEnv } from './env.js';
export {
  DEFAULT_QUEUE_PREFIX,
  failedAttemptOutcome,
  JOB_OUTCOMES,
  JOB_OUTCOMES_TTL_SECONDS,
  type JobOutcome,
  jobOutcomesKey,
  readJobOutcomes,
  recordJobOutcome,
} from './job-outcomes.js';
export { createLogger } from './logger.js';
export { closeInvitationTransports, invitationMail, processInvitationEmail } from './processors/invitation-email.js';
export {
  type JobProcessor,
  type ProcessorContext,
  type QueueRegistration,
  registerQueue,
} from './queue-registration.js';
export {
  INVITATION_EMAIL_JOB_OPTIONS,
  INVITATION_EMAIL_QUEUE,
  type InvitationEmailJob,
  invitationEmailJobId,
  openInvitationEmailQueue,
} from './queues/invitation-email.js';
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
