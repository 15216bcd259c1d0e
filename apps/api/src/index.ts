import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from './root.js';

export type { AppRouter } from './root.js';
/** Inputs of every procedure, e.g. `RouterInputs['orgs']['create']`. */
export type RouterInputs = inferRouterInputs<AppRouter>;
/** Outputs of every procedure, e.g. `RouterOutputs['auth']['me']`. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export {
  type EvaluateOptions,
  type EvaluationActor,
  type EvaluationResult,
  evaluateAlertsOnReport,
  type ReportedResource,
} from './alerts/evaluate.js';
export { type Context, createInnerContext } from './context.js';
export { DevInbox, type DevInboxOptions, type DevInboxReader, type DevMail, type DevMailSummary } from './dev-inbox.js';
export { type ApiEnv, loadApiEnv } from './env.js';
export { createJobQueues, type JobQueues } from './jobs.js';
export { LicenseService, type LicenseState } from './license.js';
export { createLogger } from './logger.js';
export { openApiRedis } from './redis.js';
export { appRouter, createCaller } from './root.js';
export { type CreateAppOptions, createApp, createOpenApiDocument } from './server.js';
