/** The typed Tenantry client for integrations (see README.md). */

export type { RouterInputs, RouterOutputs } from '@tenantry/api';
export { type AgentOptions, type AgentReport, type ReportedResource, reportResources } from './agent.js';
export {
  type CallContext,
  type ClientExtras,
  type ClientOptions,
  createClient,
  type TenantryClient,
} from './client.js';
export { isTenantryError, TenantryError, type TenantryErrorCode, type TenantryIssue } from './errors.js';
