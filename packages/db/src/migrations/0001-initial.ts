import { Migration } from '@mikro-orm/migrations';
import { APP_ROLE } from '../app-role.js';

// Hand-written SQL: the role, grants, RLS policies and partial indexes are the point of this
// migration and the schema generator cannot express them. Every statement is added on its own
// so that PGlite (which runs multi-statement strings through a different path) and PostgreSQL
// execute exactly the same thing.

/** Tables, the app role and its grants, RLS on memberships, and the default organization. */
export class Migration0001Initial extends Migration {
  override async up(): Promise<void> {
    // Idempotent and race-safe: several databases of one cluster may migrate at once (tests),
    // and the role is cluster-global. A DBA may also have created it beforehand (as LOGIN).
    this.addSql(`
      DO $$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${APP_ROLE}') THEN
          CREATE ROLE ${APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
        END IF;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
      END
      $$`);
    // A non-superuser owner needs membership to `SET ROLE` to the app role on its own
    // connections; a superuser may switch to any role already.
    this.addSql(`
      DO $$
      BEGIN
        IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
           AND NOT pg_has_role(current_user, '${APP_ROLE}', 'MEMBER') THEN
          EXECUTE format('GRANT ${APP_ROLE} TO %I', current_user);
        END IF;
      END
      $$`);

    this.addSql(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email text NOT NULL CHECK (email = lower(email)),
        name text NOT NULL,
        password_hash text NOT NULL,
        platform_role text NOT NULL DEFAULT 'user' CHECK (platform_role IN ('superadmin', 'user')),
        default_org_id uuid NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql('CREATE UNIQUE INDEX users_email_unique ON users (email)');

    this.addSql(`
      CREATE TABLE organizations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        slug text NOT NULL,
        name text NOT NULL,
        description text NULL,
        logo_url text NULL,
        billing_email text NULL,
        tier text NOT NULL DEFAULT 'free' CHECK (tier IN ('free', 'pro', 'enterprise')),
        max_members integer NULL CHECK (max_members >= 0),
        max_agents integer NULL CHECK (max_agents >= 0),
        feature_overrides jsonb NOT NULL DEFAULT '{}'::jsonb,
        is_admin_tenancy boolean NOT NULL DEFAULT false,
        status text NOT NULL DEFAULT 'active'
          CHECK (status IN ('active', 'suspended', 'pending_deletion', 'deleting')),
        created_by_id uuid NULL REFERENCES users (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql('CREATE UNIQUE INDEX organizations_slug_unique ON organizations (slug)');
    // At most one admin tenancy: a partial unique index over the single `true` value.
    this.addSql(
      'CREATE UNIQUE INDEX organizations_admin_tenancy_unique ON organizations (is_admin_tenancy) WHERE is_admin_tenancy',
    );
    this.addSql(
      'ALTER TABLE users ADD CONSTRAINT users_default_org_id_fkey FOREIGN KEY (default_org_id) REFERENCES organizations (id) ON DELETE SET NULL',
    );

    this.addSql(`
      CREATE TABLE sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        token_hash text NOT NULL,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        active_org_id uuid NULL REFERENCES organizations (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        ip text NULL,
        user_agent text NULL
      )`);
    this.addSql('CREATE UNIQUE INDEX sessions_token_hash_unique ON sessions (token_hash)');
    this.addSql('CREATE INDEX sessions_user_id_index ON sessions (user_id)');

    // Tenant table: org_id leads the primary key (and so every index), ready for distribution
    // by org_id.
    this.addSql(`
      CREATE TABLE memberships (
        org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        role text NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
        is_shadow boolean NOT NULL DEFAULT false,
        added_by_id uuid NULL REFERENCES users (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT memberships_pkey PRIMARY KEY (org_id, user_id)
      )`);

    this.addSql(`
      CREATE TABLE platform_settings (
        key text PRIMARY KEY,
        value jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);

    // The database wall. FORCE makes the policies bind the table owner too; only superusers
    // (migrations on PGlite) pass around them.
    this.addSql('ALTER TABLE memberships ENABLE ROW LEVEL SECURITY');
    this.addSql('ALTER TABLE memberships FORCE ROW LEVEL SECURITY');
    // Read: the active org's rows, plus the acting user's own rows in any org (org switcher).
    this.addSql(`
      CREATE POLICY memberships_select ON memberships FOR SELECT
        USING (org_id = nullif(current_setting('app.org_id', true), '')::uuid
               OR user_id = nullif(current_setting('app.user_id', true), '')::uuid)`);
    // Writes: the active org only.
    this.addSql(`
      CREATE POLICY memberships_insert ON memberships FOR INSERT
        WITH CHECK (org_id = nullif(current_setting('app.org_id', true), '')::uuid)`);
    this.addSql(`
      CREATE POLICY memberships_update ON memberships FOR UPDATE
        USING (org_id = nullif(current_setting('app.org_id', true), '')::uuid)
        WITH CHECK (org_id = nullif(current_setting('app.org_id', true), '')::uuid)`);
    this.addSql(`
      CREATE POLICY memberships_delete ON memberships FOR DELETE
        USING (org_id = nullif(current_setting('app.org_id', true), '')::uuid)`);

    this.addSql(`GRANT USAGE ON SCHEMA public TO ${APP_ROLE}`);
    this.addSql(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON users, sessions, organizations, memberships, platform_settings TO ${APP_ROLE}`,
    );
    // Tables and sequences created by later migrations (run by the same owner) are granted
    // automatically.
    this.addSql(
      `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${APP_ROLE}`,
    );
    this.addSql(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ${APP_ROLE}`);

    // The default org gets a random id like any other: no sentinel ids anywhere.
    this.addSql(`INSERT INTO organizations (slug, name, tier) VALUES ('default', 'Default', 'enterprise')`);
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE IF EXISTS platform_settings');
    this.addSql('DROP TABLE IF EXISTS memberships');
    this.addSql('DROP TABLE IF EXISTS sessions');
    this.addSql('ALTER TABLE users DROP CONSTRAINT IF EXISTS users_default_org_id_fkey');
    this.addSql('DROP TABLE IF EXISTS organizations');
    this.addSql('DROP TABLE IF EXISTS users');
  }
}
