import { Migration } from '@mikro-orm/migrations';
import { APP_ROLE } from '../app-role.js';

// Same conventions as 0001/0002: hand-written SQL, one statement per addSql, identical on
// PostgreSQL and PGlite. Tenant tables: org_id NOT NULL leads the primary key and every index,
// foreign keys between tenant tables include org_id, RLS is enabled and forced.
//
// No foreign key references `resources`: an org can hold a million of them, and every such
// reference would cost a trigger-driven lookup per deleted row when the org is deleted.
// The rows that point at a resource (shares, alerts) are removed by the code that removes it.

const CUR_ORG = `nullif(current_setting('app.org_id', true), '')::uuid`;
const CUR_USER = `nullif(current_setting('app.user_id', true), '')::uuid`;
const ORG_MATCH = `org_id = ${CUR_ORG}`;

/** A resource of another org is reachable when the active org holds an incoming share of it. */
const SHARED_TO_CURRENT = (roles: string | null) => `EXISTS (
  SELECT 1 FROM incoming_shares s
  WHERE s.org_id = ${CUR_ORG} AND s.resource_org_id = resources.org_id AND s.resource_id = resources.id
  ${roles ? `AND s.role IN (${roles})` : ''})`;

/** API tokens, agents, resources and sharing. */
export class Migration0003TokensAgentsResourcesShares extends Migration {
  override async up(): Promise<void> {
    // Per-org override of the request budget (core's TIER_LIMITS.requestsPerMinute).
    this.addSql(
      'ALTER TABLE organizations ADD COLUMN max_requests_per_minute integer NULL CHECK (max_requests_per_minute > 0)',
    );
    this.addSql('ALTER TABLE organizations ADD COLUMN suspended_at timestamptz NULL');

    // Global: a user's API token. Bound to orgs through api_token_orgs; only its hash is kept.
    this.addSql(`
      CREATE TABLE api_tokens (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        name text NOT NULL CHECK (name <> '' AND length(name) <= 100),
        token_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NULL,
        last_used_at timestamptz NULL,
        revoked_at timestamptz NULL
      )`);
    this.addSql('CREATE UNIQUE INDEX api_tokens_token_hash_unique ON api_tokens (token_hash)');
    this.addSql('CREATE INDEX api_tokens_user_id_index ON api_tokens (user_id)');

    // Tenant: which orgs a token reaches, with which role. Like memberships, a user may read
    // their own bindings in any org (the token list); writes stay in the active org.
    this.addSql(`
      CREATE TABLE api_token_orgs (
        org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        token_id uuid NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        role text NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT api_token_orgs_pkey PRIMARY KEY (org_id, token_id)
      )`);

    // Tenant: an agent reporting the org's resources, with its own org-bound token.
    this.addSql(`
      CREATE TABLE agents (
        org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        id uuid NOT NULL,
        name text NOT NULL CHECK (name <> '' AND length(name) <= 100),
        token_hash text NOT NULL,
        created_by_id uuid NULL REFERENCES users (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NULL,
        last_ip text NULL,
        version text NULL,
        CONSTRAINT agents_pkey PRIMARY KEY (org_id, id)
      )`);
    this.addSql('CREATE UNIQUE INDEX agents_org_id_name_unique ON agents (org_id, name)');

    // Tenant: a monitored host, VM, container or storage, as its agent last reported it.
    this.addSql(`
      CREATE TABLE resources (
        org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        id uuid NOT NULL,
        agent_id uuid NOT NULL,
        type text NOT NULL CHECK (type IN ('host', 'vm', 'container', 'storage')),
        name text NOT NULL CHECK (name <> '' AND length(name) <= 200),
        status text NOT NULL CHECK (status IN ('online', 'offline', 'running', 'stopped', 'paused', 'degraded', 'unknown')),
        cpu real NULL CHECK (cpu >= 0 AND cpu <= 1),
        memory real NULL CHECK (memory >= 0 AND memory <= 1),
        disk real NULL CHECK (disk >= 0 AND disk <= 1),
        notes text NULL CHECK (length(notes) <= 2000),
        tags text[] NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        reported_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT resources_pkey PRIMARY KEY (org_id, id),
        CONSTRAINT resources_agent_fkey FOREIGN KEY (org_id, agent_id) REFERENCES agents (org_id, id) ON DELETE CASCADE
      )`);
    this.addSql('CREATE UNIQUE INDEX resources_org_id_agent_id_name_unique ON resources (org_id, agent_id, name)');
    // The list: by name, then id (cursor), optionally within a type or a status.
    this.addSql('CREATE INDEX resources_org_id_name_id_index ON resources (org_id, name, id)');
    this.addSql('CREATE INDEX resources_org_id_type_name_id_index ON resources (org_id, type, name, id)');
    this.addSql('CREATE INDEX resources_org_id_status_name_id_index ON resources (org_id, status, name, id)');

    // Tenant (the granting org): a resource shared with another org. For a re-share by an
    // org holding an admin share, resource_org_id is the owner and parent_share_id the share
    // it was re-shared through (removing that one removes this one).
    this.addSql(`
      CREATE TABLE shares (
        org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        id uuid NOT NULL,
        target_org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        resource_org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        resource_id uuid NOT NULL,
        resource_type text NOT NULL CHECK (resource_type IN ('host', 'vm', 'container', 'storage')),
        role text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
        parent_share_id uuid NULL,
        created_by_id uuid NULL REFERENCES users (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT shares_pkey PRIMARY KEY (org_id, id),
        CONSTRAINT shares_not_self CHECK (target_org_id <> org_id AND target_org_id <> resource_org_id)
      )`);
    this.addSql(
      'CREATE UNIQUE INDEX shares_org_id_resource_target_unique ON shares (org_id, resource_org_id, resource_id, target_org_id)',
    );
    this.addSql('CREATE INDEX shares_org_id_parent_share_id_index ON shares (org_id, parent_share_id)');

    // Tenant (the receiving org): its side of a share, so that every lookup of either org
    // starts with its own org_id. Written together with the share, in the target's scope.
    this.addSql(`
      CREATE TABLE incoming_shares (
        org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        share_id uuid NOT NULL,
        granting_org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        resource_org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        resource_id uuid NOT NULL,
        resource_type text NOT NULL CHECK (resource_type IN ('host', 'vm', 'container', 'storage')),
        role text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT incoming_shares_pkey PRIMARY KEY (org_id, share_id),
        CONSTRAINT incoming_shares_share_fkey FOREIGN KEY (granting_org_id, share_id) REFERENCES shares (org_id, id) ON DELETE CASCADE
      )`);
    this.addSql(
      'CREATE UNIQUE INDEX incoming_shares_org_id_resource_unique ON incoming_shares (org_id, resource_org_id, resource_id, share_id)',
    );

    // --- the database wall -------------------------------------------------------------
    for (const table of ['api_token_orgs', 'agents', 'resources', 'shares', 'incoming_shares']) {
      this.addSql(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      this.addSql(`ALTER TABLE ${table} FORCE ROW LEVEL SECURITY`);
    }

    this.addSql(
      `CREATE POLICY api_token_orgs_select ON api_token_orgs FOR SELECT USING (${ORG_MATCH} OR user_id = ${CUR_USER})`,
    );
    this.addSql(`CREATE POLICY api_token_orgs_insert ON api_token_orgs FOR INSERT WITH CHECK (${ORG_MATCH})`);
    this.addSql(
      `CREATE POLICY api_token_orgs_update ON api_token_orgs FOR UPDATE USING (${ORG_MATCH}) WITH CHECK (${ORG_MATCH})`,
    );
    // A user may also drop their own bindings anywhere (revoking a token they own).
    this.addSql(
      `CREATE POLICY api_token_orgs_delete ON api_token_orgs FOR DELETE USING (${ORG_MATCH} OR user_id = ${CUR_USER})`,
    );

    for (const table of ['agents', 'shares', 'incoming_shares']) {
      this.addSql(`CREATE POLICY ${table}_select ON ${table} FOR SELECT USING (${ORG_MATCH})`);
      this.addSql(`CREATE POLICY ${table}_insert ON ${table} FOR INSERT WITH CHECK (${ORG_MATCH})`);
      this.addSql(
        `CREATE POLICY ${table}_update ON ${table} FOR UPDATE USING (${ORG_MATCH}) WITH CHECK (${ORG_MATCH})`,
      );
      this.addSql(`CREATE POLICY ${table}_delete ON ${table} FOR DELETE USING (${ORG_MATCH})`);
    }

    // Resources: the org's own, plus those shared with it (read; update with an editor or
    // admin share). Only the owning org inserts and deletes them.
    this.addSql(
      `CREATE POLICY resources_select ON resources FOR SELECT USING (${ORG_MATCH} OR ${SHARED_TO_CURRENT(null)})`,
    );
    this.addSql(`CREATE POLICY resources_insert ON resources FOR INSERT WITH CHECK (${ORG_MATCH})`);
    this.addSql(
      `CREATE POLICY resources_update ON resources FOR UPDATE
        USING (${ORG_MATCH} OR ${SHARED_TO_CURRENT(`'editor', 'admin'`)})
        WITH CHECK (${ORG_MATCH} OR ${SHARED_TO_CURRENT(`'editor', 'admin'`)})`,
    );
    this.addSql(`CREATE POLICY resources_delete ON resources FOR DELETE USING (${ORG_MATCH})`);

    this.addSql(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON api_tokens, api_token_orgs, agents, shares, incoming_shares TO ${APP_ROLE}`,
    );
    // A sharee with an editor share may update a resource of another org, so the app may never
    // change which org (or agent) a resource belongs to: UPDATE is granted column by column.
    this.addSql(`REVOKE ALL ON resources FROM ${APP_ROLE}`);
    this.addSql(`GRANT SELECT, INSERT, DELETE ON resources TO ${APP_ROLE}`);
    this.addSql(
      `GRANT UPDATE (type, status, cpu, memory, disk, notes, tags, updated_at, reported_at) ON resources TO ${APP_ROLE}`,
    );
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE IF EXISTS incoming_shares');
    this.addSql('DROP TABLE IF EXISTS shares');
    this.addSql('DROP TABLE IF EXISTS resources');
    this.addSql('DROP TABLE IF EXISTS agents');
    this.addSql('DROP TABLE IF EXISTS api_token_orgs');
    this.addSql('DROP TABLE IF EXISTS api_tokens');
    this.addSql('ALTER TABLE organizations DROP COLUMN IF EXISTS suspended_at');
    this.addSql('ALTER TABLE organizations DROP COLUMN IF EXISTS max_requests_per_minute');
  }
}
