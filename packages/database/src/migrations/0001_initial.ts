import { sql, type Kysely } from 'kysely';

// The whole access model in one migration: later changes get their own numbered files.
// Natural keys (connector + Graph object id / entitlement key) let the sync worker upsert in bulk
// without first resolving surrogate ids, and let a grant arrive before its principal's resource row.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db);

  await sql`
    CREATE TABLE connectors (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      display_name text NOT NULL,
      tenant_id text,
      client_id text,
      auth_method text NOT NULL CHECK (auth_method IN ('CLIENT_SECRET','CERTIFICATE','OAUTH')),
      -- AES-256-GCM envelope (see secret-box.ts); never selected by read paths that serve the API.
      secret_ciphertext text,
      skip_ad_groups boolean NOT NULL DEFAULT false,
      graph_base_url text NOT NULL DEFAULT 'https://graph.microsoft.com',
      authority_host text NOT NULL DEFAULT 'https://login.microsoftonline.com',
      status text NOT NULL DEFAULT 'NOT_CONNECTED' CHECK (status IN ('NOT_CONNECTED','SYNCING','CONNECTED','ERROR')),
      status_message text,
      granted_permissions text[] NOT NULL DEFAULT '{}',
      missing_permissions text[] NOT NULL DEFAULT '{}',
      owners text[] NOT NULL DEFAULT '{}',
      incremental_interval_seconds integer NOT NULL DEFAULT 900 CHECK (incremental_interval_seconds >= 60),
      full_interval_seconds integer NOT NULL DEFAULT 86400 CHECK (full_interval_seconds >= 300),
      last_full_sync_at timestamptz,
      last_incremental_sync_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX connectors_created_idx ON connectors (created_at, id)`.execute(db);
  await sql`CREATE INDEX connectors_owners_idx ON connectors USING gin (owners)`.execute(db);

  await sql`
    CREATE TABLE resources (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      connector_id uuid NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
      type text NOT NULL CHECK (type IN ('USER','MANAGED_IDENTITY','GROUP','ENTERPRISE_APPLICATION','DIRECTORY_ROLE')),
      external_id text NOT NULL,
      display_name text NOT NULL DEFAULT '',
      profile jsonb NOT NULL DEFAULT '{}',
      -- lower(displayName || upn || mail): one trigram index serves the contract's search argument.
      search_text text NOT NULL DEFAULT '',
      last_seen_run_id uuid,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (connector_id, external_id)
    )`.execute(db);
  await sql`CREATE INDEX resources_type_page_idx ON resources (connector_id, type, id)`.execute(db);
  await sql`CREATE INDEX resources_page_idx ON resources (connector_id, id)`.execute(db);
  await sql`CREATE INDEX resources_search_idx ON resources USING gin (search_text gin_trgm_ops)`.execute(db);

  await sql`
    CREATE TABLE entitlements (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      connector_id uuid NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
      -- '<RESOURCE_TYPE>:<graph id>:<slug>', e.g. 'GROUP:3f0…:member'
      key text NOT NULL,
      resource_external_id text NOT NULL,
      resource_type text NOT NULL,
      slug text NOT NULL,
      display_name text NOT NULL,
      grantable boolean NOT NULL DEFAULT true,
      -- app role id for enterprise-app role entitlements (the default-access id for 'assigned')
      app_role_id text,
      -- what provisioning needs to know: { allowedMemberTypes, unifiedGroup, roleAssignable, ... }
      metadata jsonb NOT NULL DEFAULT '{}',
      last_seen_run_id uuid,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (connector_id, key)
    )`.execute(db);
  await sql`CREATE INDEX entitlements_resource_idx ON entitlements (connector_id, resource_external_id)`.execute(db);

  await sql`
    CREATE TABLE grants (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      connector_id uuid NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
      entitlement_key text NOT NULL,
      principal_external_id text NOT NULL,
      -- USER | GROUP | SERVICE_PRINCIPAL as Graph reported the principal
      principal_kind text NOT NULL,
      direct boolean NOT NULL,
      -- inherited grants: the group-membership entitlement keys the grant comes through, outermost first
      via text[] NOT NULL DEFAULT '{}',
      expires_at timestamptz,
      -- appRoleAssignment.id / unifiedRoleAssignment.id / eligibility schedule id: revoke costs one call
      graph_assignment_id text,
      source text NOT NULL DEFAULT 'sync' CHECK (source IN ('sync','provisioning')),
      last_seen_run_id uuid,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (connector_id, entitlement_key, principal_external_id, direct)
    )`.execute(db);
  await sql`CREATE INDEX grants_entitlement_page_idx ON grants (connector_id, entitlement_key, id)`.execute(db);
  await sql`CREATE INDEX grants_principal_page_idx ON grants (connector_id, principal_external_id, id)`.execute(db);
  await sql`CREATE INDEX grants_connector_page_idx ON grants (connector_id, id)`.execute(db);
  await sql`CREATE INDEX grants_expiry_idx ON grants (expires_at) WHERE expires_at IS NOT NULL AND direct`.execute(db);

  await sql`
    CREATE TABLE sync_runs (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      connector_id uuid NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
      mode text NOT NULL CHECK (mode IN ('FULL','INCREMENTAL')),
      status text NOT NULL DEFAULT 'QUEUED' CHECK (status IN ('QUEUED','RUNNING','SUCCEEDED','FAILED','CANCELLED')),
      progress text,
      stats jsonb NOT NULL DEFAULT '{}',
      error text,
      -- resumable position: completed stages, delta links in flight, cursors
      checkpoint jsonb NOT NULL DEFAULT '{}',
      attempt integer NOT NULL DEFAULT 0,
      worker_id text,
      heartbeat_at timestamptz,
      requested_by text,
      queued_at timestamptz NOT NULL DEFAULT now(),
      started_at timestamptz,
      finished_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX sync_runs_connector_idx ON sync_runs (connector_id, queued_at DESC, id DESC)`.execute(db);
  // One queued-or-running run per connector: a second request joins it instead of racing it.
  await sql`CREATE UNIQUE INDEX sync_runs_one_active_idx ON sync_runs (connector_id) WHERE status IN ('QUEUED','RUNNING')`.execute(db);

  await sql`
    CREATE TABLE delta_state (
      connector_id uuid NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
      stream text NOT NULL,
      delta_link text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (connector_id, stream)
    )`.execute(db);

  await sql`
    CREATE TABLE provisioning_tasks (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      -- request order per (entitlement, principal): grant and revoke apply in this order
      seq bigserial NOT NULL,
      connector_id uuid NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
      action text NOT NULL CHECK (action IN ('GRANT','REVOKE')),
      entitlement_id uuid NOT NULL,
      entitlement_key text NOT NULL,
      principal_id uuid NOT NULL,
      principal_external_id text NOT NULL,
      status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING','RUNNING','SUCCEEDED','FAILED')),
      error text,
      requested_by text NOT NULL,
      reason text,
      expires_at timestamptz,
      idempotency_key text NOT NULL UNIQUE,
      graph_request_id text,
      graph_assignment_id text,
      attempt integer NOT NULL DEFAULT 0,
      requested_at timestamptz NOT NULL DEFAULT now(),
      started_at timestamptz,
      completed_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX provisioning_tasks_pair_idx ON provisioning_tasks (connector_id, entitlement_key, principal_external_id, seq)`.execute(
    db,
  );
  await sql`CREATE INDEX provisioning_tasks_open_idx ON provisioning_tasks (status, requested_at) WHERE status IN ('PENDING','RUNNING')`.execute(
    db,
  );

  // No foreign key to connectors: audit rows outlive the connector they describe.
  await sql`
    CREATE TABLE audit_events (
      id bigserial PRIMARY KEY,
      at timestamptz NOT NULL DEFAULT now(),
      actor text NOT NULL,
      action text NOT NULL,
      connector_id uuid,
      details jsonb NOT NULL DEFAULT '{}'
    )`.execute(db);
  await sql`CREATE INDEX audit_events_connector_idx ON audit_events (connector_id, id DESC)`.execute(db);
  await sql`
    CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_events is append-only';
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`.execute(db);

  await sql`
    CREATE TABLE connector_logs (
      id bigserial PRIMARY KEY,
      connector_id uuid NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
      sync_run_id uuid REFERENCES sync_runs(id) ON DELETE SET NULL,
      at timestamptz NOT NULL DEFAULT now(),
      level text NOT NULL CHECK (level IN ('INFO','WARN','ERROR')),
      message text NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX connector_logs_page_idx ON connector_logs (connector_id, id DESC)`.execute(db);

  await sql`
    CREATE TABLE admin_consent_states (
      state text PRIMARY KEY,
      connector_id uuid NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
      subject text NOT NULL,
      expires_at timestamptz NOT NULL,
      used_at timestamptz
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'admin_consent_states',
    'connector_logs',
    'audit_events',
    'provisioning_tasks',
    'delta_state',
    'sync_runs',
    'grants',
    'entitlements',
    'resources',
    'connectors',
  ]) {
    await sql`DROP TABLE IF EXISTS ${sql.raw(t)} CASCADE`.execute(db);
  }
  await sql`DROP FUNCTION IF EXISTS audit_events_append_only()`.execute(db);
}
