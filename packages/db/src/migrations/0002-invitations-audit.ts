import { Migration } from '@mikro-orm/migrations';
import { APP_ROLE } from '../app-role.js';

// Same conventions as 0001: hand-written SQL, one statement per addSql, identical on
// PostgreSQL and PGlite. Both tables are tenant tables: org_id leads the primary key and every
// index, and RLS is enabled and forced.

const ORG_MATCH = `org_id = nullif(current_setting('app.org_id', true), '')::uuid`;

/** Invitations and the tamper-evident audit log. */
export class Migration0002InvitationsAudit extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE invitations (
        org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        id uuid NOT NULL,
        email text NOT NULL CHECK (email = lower(email) AND email <> ''),
        role text NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'revoked', 'expired')),
        token_hash text NULL,
        send_count integer NOT NULL DEFAULT 0 CHECK (send_count >= 0),
        delivery_state text NOT NULL DEFAULT 'queued' CHECK (delivery_state IN ('queued', 'sent', 'failed')),
        delivery_attempts integer NOT NULL DEFAULT 0 CHECK (delivery_attempts >= 0),
        last_delivery_error text NULL,
        sent_at timestamptz NULL,
        expires_at timestamptz NOT NULL,
        invited_by_id uuid NULL REFERENCES users (id) ON DELETE SET NULL,
        accepted_by_id uuid NULL REFERENCES users (id) ON DELETE SET NULL,
        accepted_at timestamptz NULL,
        revoked_at timestamptz NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT invitations_pkey PRIMARY KEY (org_id, id),
        -- The stored status and its timestamps never disagree (core derives status from them).
        CONSTRAINT invitations_accepted_at_check CHECK (status <> 'accepted' OR accepted_at IS NOT NULL),
        CONSTRAINT invitations_revoked_at_check CHECK (status <> 'revoked' OR revoked_at IS NOT NULL)
      )`);
    // One pending invitation per email and org: re-inviting resends the pending one.
    this.addSql(
      `CREATE UNIQUE INDEX invitations_pending_email_unique ON invitations (org_id, email) WHERE status = 'pending'`,
    );
    this.addSql('CREATE INDEX invitations_org_id_created_at_index ON invitations (org_id, created_at)');

    this.addSql(`
      CREATE TABLE audit_events (
        org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        seq bigint NOT NULL CHECK (seq >= 1),
        id uuid NOT NULL,
        occurred_at timestamptz NOT NULL DEFAULT now(),
        actor_type text NOT NULL CHECK (actor_type IN ('user', 'token', 'agent', 'system', 'operator')),
        actor_id uuid NULL,
        actor_label text NULL,
        action text NOT NULL CHECK (action <> ''),
        target_type text NULL,
        target_id text NULL,
        ip text NULL,
        details jsonb NOT NULL DEFAULT '{}'::jsonb,
        prev_hash text NOT NULL,
        hash text NOT NULL,
        CONSTRAINT audit_events_pkey PRIMARY KEY (org_id, seq)
      )`);
    this.addSql('CREATE INDEX audit_events_org_id_occurred_at_index ON audit_events (org_id, occurred_at)');
    this.addSql('CREATE INDEX audit_events_org_id_action_seq_index ON audit_events (org_id, action, seq)');

    this.addSql('ALTER TABLE invitations ENABLE ROW LEVEL SECURITY');
    this.addSql('ALTER TABLE invitations FORCE ROW LEVEL SECURITY');
    this.addSql(`CREATE POLICY invitations_select ON invitations FOR SELECT USING (${ORG_MATCH})`);
    this.addSql(`CREATE POLICY invitations_insert ON invitations FOR INSERT WITH CHECK (${ORG_MATCH})`);
    this.addSql(
      `CREATE POLICY invitations_update ON invitations FOR UPDATE USING (${ORG_MATCH}) WITH CHECK (${ORG_MATCH})`,
    );
    this.addSql(`CREATE POLICY invitations_delete ON invitations FOR DELETE USING (${ORG_MATCH})`);

    this.addSql('ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY');
    this.addSql('ALTER TABLE audit_events FORCE ROW LEVEL SECURITY');
    this.addSql(`CREATE POLICY audit_events_select ON audit_events FOR SELECT USING (${ORG_MATCH})`);
    this.addSql(`CREATE POLICY audit_events_insert ON audit_events FOR INSERT WITH CHECK (${ORG_MATCH})`);
    // Append-only for the app: no UPDATE or DELETE privilege, and deliberately no UPDATE or
    // DELETE policy either, so a later stray GRANT still changes no row (no policy = no row).
    // Deleting the org cascades regardless: referential actions bypass row security.
    this.addSql(`REVOKE ALL ON audit_events FROM ${APP_ROLE}`);
    this.addSql(`GRANT SELECT, INSERT ON audit_events TO ${APP_ROLE}`);
    // Explicit although the default privileges of 0001 grant the same.
    this.addSql(`GRANT SELECT, INSERT, UPDATE, DELETE ON invitations TO ${APP_ROLE}`);
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE IF EXISTS audit_events');
    this.addSql('DROP TABLE IF EXISTS invitations');
  }
}
