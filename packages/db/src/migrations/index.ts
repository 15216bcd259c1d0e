import type { MigrationObject } from '@mikro-orm/core';
import { Migration0001Initial } from './0001-initial.js';
import { Migration0002InvitationsAudit } from './0002-invitations-audit.js';
import { Migration0003TokensAgentsResourcesShares } from './0003-tokens-agents-resources-shares.js';
import { Migration0005Alerts } from './0005-alerts.js';
import { Migration0006OrgDeletions } from './0006-org-deletions.js';
import { Migration0007ScopeOncePerStatement } from './0007-scope-once-per-statement.js';

/** Every migration, in order. Names are recorded in `mikro_orm_migrations`: never rename one. */
export const migrationsList: MigrationObject[] = [
  { name: '0001-initial', class: Migration0001Initial },
  { name: '0002-invitations-audit', class: Migration0002InvitationsAudit },
  { name: '0003-tokens-agents-resources-shares', class: Migration0003TokensAgentsResourcesShares },
  { name: '0005-alerts', class: Migration0005Alerts },
  { name: '0006-org-deletions', class: Migration0006OrgDeletions },
  { name: '0007-scope-once-per-statement', class: Migration0007ScopeOncePerStatement },
];
