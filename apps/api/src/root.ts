import { adminRouter } from './routers/admin.js';
import { agentsRouter } from './routers/agents.js';
import { alertRulesRouter } from './routers/alert-rules.js';
import { alertsRouter } from './routers/alerts.js';
import { auditRouter } from './routers/audit.js';
import { authRouter } from './routers/auth.js';
import { devInboxRouter } from './routers/dev-inbox.js';
import { invitationsRouter } from './routers/invitations.js';
import { logoRouter } from './routers/logo.js';
import { membersRouter } from './routers/members.js';
import { orgRouter } from './routers/org.js';
import { deletionsRouter, usageRouter } from './routers/org-lifecycle.js';
import { orgsRouter } from './routers/orgs.js';
import { resourcesRouter } from './routers/resources.js';
import { sharesRouter } from './routers/shares.js';
import { systemRouter } from './routers/system.js';
import { tokensRouter } from './routers/tokens.js';
import { createCallerFactory, router } from './trpc.js';

/** Every procedure of the API; REST paths come from each procedure's `meta.openapi`. */
export const appRouter = router({
  system: systemRouter,
  auth: authRouter,
  orgs: orgsRouter,
  org: orgRouter,
  members: membersRouter,
  invitations: invitationsRouter,
  tokens: tokensRouter,
  admin: adminRouter,
  usage: usageRouter,
  deletions: deletionsRouter,
  logo: logoRouter,
  alertRules: alertRulesRouter,
  alerts: alertsRouter,
  audit: auditRouter,
  devInbox: devInboxRouter,
  agents: agentsRouter,
  resources: resourcesRouter,
  shares: sharesRouter,
});

/** The router's type: the only thing the web app and the SDK import from the API. */
export type AppRouter = typeof appRouter;

/** In-process callers (tests, scripts): `createCaller(ctx).orgs.list()`. */
export const createCaller = createCallerFactory(appRouter);
