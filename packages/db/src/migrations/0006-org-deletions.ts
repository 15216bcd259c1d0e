import { Migration } from '@mikro-orm/migrations';
import { APP_ROLE } from '../app-role.js';

// Same conventions as 0001–0003: hand-written SQL, one statement per addSql, identical on
// PostgreSQL and PGlite.
//
// org_deletions and org_deletion_tables are global: they record the deletion of an org and
// outlive it, so they carry no org_id (the deletion empties every table that has one) and no
// foreign key to organizations. Platform admins read them; the owner who asked reads their own.

const CUR_ORG = `nullif(current_setting('app.org_id', true), '')::uuid`;

/** Cascade deletion of organizations: its recorded steps and per-table progress. */
export class Migration0006OrgDeletions extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE org_deletions (
        id uuid PRIMARY KEY,
        deleted_org_id uuid NOT NULL,
        org_slug text NOT NULL,
        org_name text NOT NULL,
        requested_by_id uuid NULL REFERENCES users (id) ON DELETE SET NULL,
        requested_as text NOT NULL CHECK (requested_as IN ('owner', 'platform_admin')),
        -- What a restore puts back (a suspended org stays suspended).
        org_status_before text NOT NULL CHECK (org_status_before IN ('active', 'suspended')),
        status text NOT NULL DEFAULT 'scheduled'
          CHECK (status IN ('scheduled', 'running', 'completed', 'cancelled', 'failed')),
        step text NOT NULL DEFAULT 'prepare'
          CHECK (step IN ('prepare', 'jobs', 'rows', 'tokens', 'users', 'organization', 'redis', 'files', 'report')),
        run_after timestamptz NOT NULL DEFAULT now(),
        member_user_ids uuid[] NOT NULL DEFAULT '{}',
        token_ids uuid[] NOT NULL DEFAULT '{}',
        users_done integer NOT NULL DEFAULT 0,
        users_deleted integer NOT NULL DEFAULT 0,
        users_repointed integer NOT NULL DEFAULT 0,
        sessions_cleared integer NOT NULL DEFAULT 0,
        tokens_deleted integer NOT NULL DEFAULT 0,
        jobs_removed integer NOT NULL DEFAULT 0,
        redis_keys_deleted integer NOT NULL DEFAULT 0,
        files_deleted integer NOT NULL DEFAULT 0,
        batches integer NOT NULL DEFAULT 0,
        longest_batch_ms real NOT NULL DEFAULT 0,
        attempts integer NOT NULL DEFAULT 0,
        error text NULL,
        report jsonb NULL,
        requested_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz NULL,
        finished_at timestamptz NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql('CREATE INDEX org_deletions_deleted_org_id_index ON org_deletions (deleted_org_id)');
    // One open deletion per org: a second request answers ORG_DELETION_IN_PROGRESS.
    this.addSql(
      `CREATE UNIQUE INDEX org_deletions_open_unique ON org_deletions (deleted_org_id) WHERE status IN ('scheduled', 'running')`,
    );
    this.addSql('CREATE INDEX org_deletions_requested_at_index ON org_deletions (requested_at)');

    this.addSql(`
      CREATE TABLE org_deletion_tables (
        deletion_id uuid NOT NULL REFERENCES org_deletions (id) ON DELETE CASCADE,
        table_name text NOT NULL,
        position integer NOT NULL,
        total bigint NOT NULL CHECK (total >= 0),
        deleted bigint NOT NULL DEFAULT 0 CHECK (deleted >= 0),
        done boolean NOT NULL DEFAULT false,
        -- The table's rows go with the organizations row (the app may not delete them itself).
        by_cascade boolean NOT NULL DEFAULT false,
        CONSTRAINT org_deletion_tables_pkey PRIMARY KEY (deletion_id, table_name)
      )`);
    this.addSql(`GRANT SELECT, INSERT, UPDATE, DELETE ON org_deletions, org_deletion_tables TO ${APP_ROLE}`);

    // The audit log stays append-only for the app, except for an org being deleted: its
    // entries go in batches like every other table, in its own scope.
    this.addSql(`GRANT DELETE ON audit_events TO ${APP_ROLE}`);
    this.addSql(`
      CREATE POLICY audit_events_delete ON audit_events FOR DELETE
        USING (org_id = ${CUR_ORG}
               AND EXISTS (SELECT 1 FROM organizations o WHERE o.id = ${CUR_ORG} AND o.status = 'deleting'))`);
  }

  override async down(): Promise<void> {
    this.addSql('DROP POLICY IF EXISTS audit_events_delete ON audit_events');
    this.addSql(`REVOKE DELETE ON audit_events FROM ${APP_ROLE}`);
    this.addSql('DROP TABLE IF EXISTS org_deletion_tables');
    this.addSql('DROP TABLE IF EXISTS org_deletions');
  }
}
