import { Migration } from '@mikro-orm/migrations';
import { APP_ROLE } from '../app-role.js';

// Same conventions as 0001–0003: hand-written SQL, one statement per addSql, identical on
// PostgreSQL and PGlite. Tenant tables: org_id NOT NULL leads the primary key and every index,
// foreign keys between tenant tables include org_id, RLS is enabled and forced.
//
// Alerts point at a resource by (org_id, resource_id) WITHOUT a foreign key to `resources`
// (see 0003): the code that removes resources removes their alert states and resolves their
// alerts (`forgetAlertsOfResources`).

const ORG_MATCH = `org_id = nullif(current_setting('app.org_id', true), '')::uuid`;
const METRICS = `'cpu', 'memory', 'disk', 'status'`;
const STATUSES = `'online', 'offline', 'running', 'stopped', 'paused', 'degraded', 'unknown'`;

/** Alert rules, the breach state of each (rule, resource) pair, and alerts. */
export class Migration0005Alerts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE alert_rules (
        org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        id uuid NOT NULL,
        name text NOT NULL CHECK (name <> '' AND length(name) <= 100),
        metric text NOT NULL CHECK (metric IN (${METRICS})),
        comparison text NOT NULL CHECK (comparison IN ('gt', 'gte', 'lt', 'lte', 'eq', 'neq')),
        threshold double precision NULL CHECK (threshold >= 0 AND threshold <= 1),
        status_value text NULL CHECK (status_value IN (${STATUSES})),
        duration_seconds integer NOT NULL DEFAULT 0 CHECK (duration_seconds >= 0 AND duration_seconds <= 604800),
        resource_types text[] NOT NULL DEFAULT '{}'
          CHECK (resource_types <@ ARRAY['host', 'vm', 'container', 'storage']::text[]),
        name_pattern text NULL CHECK (name_pattern <> '' AND length(name_pattern) <= 200),
        resource_ids uuid[] NOT NULL DEFAULT '{}' CHECK (cardinality(resource_ids) <= 100),
        recipients text[] NOT NULL DEFAULT '{}' CHECK (cardinality(recipients) <= 20),
        enabled boolean NOT NULL DEFAULT true,
        created_by_id uuid NULL REFERENCES users (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT alert_rules_pkey PRIMARY KEY (org_id, id),
        -- Core's checkAlertRule, restated so no write path can store a rule that cannot evaluate.
        CONSTRAINT alert_rules_condition_check CHECK (
          (metric = 'status' AND comparison IN ('eq', 'neq') AND status_value IS NOT NULL AND threshold IS NULL)
          OR (metric <> 'status' AND comparison IN ('gt', 'gte', 'lt', 'lte') AND threshold IS NOT NULL
              AND status_value IS NULL))
      )`);
    this.addSql('CREATE INDEX alert_rules_org_id_name_id_index ON alert_rules (org_id, name, id)');

    // A (rule, resource) pair whose condition holds, since when. Deleted when it stops holding.
    this.addSql(`
      CREATE TABLE alert_states (
        org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        rule_id uuid NOT NULL,
        resource_id uuid NOT NULL,
        breaching_since timestamptz NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT alert_states_pkey PRIMARY KEY (org_id, rule_id, resource_id),
        CONSTRAINT alert_states_rule_fkey FOREIGN KEY (org_id, rule_id)
          REFERENCES alert_rules (org_id, id) ON DELETE CASCADE
      )`);
    this.addSql('CREATE INDEX alert_states_org_id_resource_id_index ON alert_states (org_id, resource_id)');

    // One row per episode: fired once, resolved once. The rule and resource are copied in,
    // so the history reads the same after either is changed or removed.
    this.addSql(`
      CREATE TABLE alerts (
        org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        id uuid NOT NULL,
        rule_id uuid NULL,
        resource_id uuid NOT NULL,
        rule_name text NOT NULL,
        condition text NOT NULL,
        metric text NOT NULL CHECK (metric IN (${METRICS})),
        resource_name text NOT NULL,
        resource_type text NOT NULL,
        status text NOT NULL DEFAULT 'firing' CHECK (status IN ('firing', 'resolved')),
        fired_value jsonb NOT NULL,
        resolved_value jsonb NULL,
        recipients text[] NOT NULL DEFAULT '{}',
        breaching_since timestamptz NOT NULL,
        fired_at timestamptz NOT NULL DEFAULT now(),
        resolved_at timestamptz NULL,
        resolution text NULL
          CHECK (resolution IN ('recovered', 'rule_disabled', 'rule_changed', 'rule_removed', 'resource_removed')),
        fired_notified_at timestamptz NULL,
        resolved_notified_at timestamptz NULL,
        CONSTRAINT alerts_pkey PRIMARY KEY (org_id, id),
        CONSTRAINT alerts_rule_fkey FOREIGN KEY (org_id, rule_id)
          REFERENCES alert_rules (org_id, id) ON DELETE SET NULL (rule_id),
        CONSTRAINT alerts_resolved_check CHECK ((status = 'resolved') = (resolved_at IS NOT NULL AND resolution IS NOT NULL))
      )`);
    // At most one firing alert per (rule, resource): a second fire of one episode, even from a
    // concurrent report, hits this index (INSERT … ON CONFLICT DO NOTHING) and fires nothing.
    this.addSql(
      `CREATE UNIQUE INDEX alerts_org_id_rule_id_resource_id_firing_unique ON alerts (org_id, rule_id, resource_id) WHERE status = 'firing'`,
    );
    // The list (newest first, cursor on fired_at then id), overall and per status.
    this.addSql('CREATE INDEX alerts_org_id_fired_at_id_index ON alerts (org_id, fired_at, id)');
    this.addSql('CREATE INDEX alerts_org_id_status_fired_at_id_index ON alerts (org_id, status, fired_at, id)');
    this.addSql('CREATE INDEX alerts_org_id_resource_id_index ON alerts (org_id, resource_id)');
    this.addSql('CREATE INDEX alerts_org_id_rule_id_index ON alerts (org_id, rule_id)');

    for (const table of ['alert_rules', 'alert_states', 'alerts']) {
      this.addSql(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      this.addSql(`ALTER TABLE ${table} FORCE ROW LEVEL SECURITY`);
      this.addSql(`CREATE POLICY ${table}_select ON ${table} FOR SELECT USING (${ORG_MATCH})`);
      this.addSql(`CREATE POLICY ${table}_insert ON ${table} FOR INSERT WITH CHECK (${ORG_MATCH})`);
      this.addSql(
        `CREATE POLICY ${table}_update ON ${table} FOR UPDATE USING (${ORG_MATCH}) WITH CHECK (${ORG_MATCH})`,
      );
      this.addSql(`CREATE POLICY ${table}_delete ON ${table} FOR DELETE USING (${ORG_MATCH})`);
    }
    // Explicit although the default privileges of 0001 grant the same.
    this.addSql(`GRANT SELECT, INSERT, UPDATE, DELETE ON alert_rules, alert_states, alerts TO ${APP_ROLE}`);
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE IF EXISTS alerts');
    this.addSql('DROP TABLE IF EXISTS alert_states');
    this.addSql('DROP TABLE IF EXISTS alert_rules');
  }
}
