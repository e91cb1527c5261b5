import { sql, type Kysely } from 'kysely';

// Access requests with approvals (issue 14); the workflow is packages/access-model/src/requests.
// - access_policies: how an entitlement may be requested. Every connector has exactly one default
//   policy (entitlement_id NULL, not requestable until an admin says so): a trigger creates it with
//   the connector, and this migration creates it for the connectors that already exist.
// - access_requests: one row per request; the row is the workflow's state (status, current step,
//   the approvers resolved when the step began, when the step began and when it was escalated: the
//   deadlines are those times plus the governance worker's APPROVAL_STEP_TIMEOUT), so any worker
//   replica after any restart finds what is due. The policy's steps are copied in when the request is made: a
//   policy change never reshapes a request in flight.
// - access_request_decisions: every approval or denial, one per (request, step, actor).
// The entitlement and principal are kept by id and by natural key without foreign keys: a sync that
// removes either must not erase the history of who asked for what.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE access_policies (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      connector_id uuid NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
      entitlement_id uuid REFERENCES entitlements(id) ON DELETE CASCADE,
      requestable boolean NOT NULL DEFAULT false,
      steps jsonb NOT NULL DEFAULT '[]'::jsonb,
      max_duration_seconds integer CHECK (max_duration_seconds IS NULL OR max_duration_seconds > 0),
      require_duration boolean NOT NULL DEFAULT false,
      updated_by text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX access_policies_default ON access_policies (connector_id) WHERE entitlement_id IS NULL`.execute(db);
  await sql`CREATE UNIQUE INDEX access_policies_entitlement ON access_policies (entitlement_id) WHERE entitlement_id IS NOT NULL`.execute(
    db,
  );
  await sql`
    CREATE FUNCTION warden_default_access_policy() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO access_policies (connector_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
      RETURN NULL;
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER connectors_default_access_policy AFTER INSERT ON connectors
    FOR EACH ROW EXECUTE FUNCTION warden_default_access_policy()`.execute(db);
  await sql`INSERT INTO access_policies (connector_id) SELECT id FROM connectors ON CONFLICT DO NOTHING`.execute(db);

  await sql`
    CREATE TABLE access_requests (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      connector_id uuid NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
      entitlement_id uuid NOT NULL,
      entitlement_key text NOT NULL,
      principal_id uuid NOT NULL,
      principal_external_id text NOT NULL,
      requested_by text NOT NULL,
      requested_by_oid text,
      justification text NOT NULL,
      duration_seconds integer CHECK (duration_seconds IS NULL OR duration_seconds > 0),
      status text NOT NULL DEFAULT 'PENDING'
        CHECK (status IN ('PENDING', 'DENIED', 'CANCELLED', 'APPROVED', 'ACTIVE', 'FAILED', 'EXPIRED')),
      status_reason text,
      steps jsonb NOT NULL,
      current_step integer,
      approvers jsonb NOT NULL DEFAULT '[]'::jsonb,
      approver_subjects text[] NOT NULL DEFAULT '{}',
      approver_oids text[] NOT NULL DEFAULT '{}',
      former_approvers jsonb NOT NULL DEFAULT '[]'::jsonb,
      step_started_at timestamptz,
      step_escalated_at timestamptz,
      approved_at timestamptz,
      provisioning_task_id uuid REFERENCES provisioning_tasks(id) ON DELETE SET NULL,
      expires_at timestamptz,
      expiry_notified_at timestamptz,
      idempotency_key text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CHECK ((status = 'PENDING') = (current_step IS NOT NULL))
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX access_requests_idempotency ON access_requests (connector_id, requested_by, idempotency_key)`.execute(db);
  // One open request per (entitlement, principal): the CONFLICT of a second one is this index.
  await sql`
    CREATE UNIQUE INDEX access_requests_open ON access_requests (entitlement_id, principal_id)
    WHERE status IN ('PENDING', 'APPROVED')`.execute(db);
  await sql`CREATE INDEX access_requests_list ON access_requests (created_at DESC, id DESC)`.execute(db);
  await sql`CREATE INDEX access_requests_connector ON access_requests (connector_id, created_at DESC, id DESC)`.execute(db);
  await sql`CREATE INDEX access_requests_requested_by ON access_requests (requested_by)`.execute(db);
  await sql`CREATE INDEX access_requests_principal ON access_requests (principal_id)`.execute(db);
  await sql`CREATE INDEX access_requests_approver_subjects ON access_requests USING gin (approver_subjects) WHERE status = 'PENDING'`.execute(
    db,
  );
  await sql`CREATE INDEX access_requests_approver_oids ON access_requests USING gin (approver_oids) WHERE status = 'PENDING'`.execute(db);
  // The timers' schedules: step deadlines, provisioning to follow, access to expire.
  await sql`
    CREATE INDEX access_requests_deadline ON access_requests ((coalesce(step_escalated_at, step_started_at)))
    WHERE status = 'PENDING'`.execute(db);
  await sql`CREATE INDEX access_requests_following ON access_requests (updated_at) WHERE status IN ('APPROVED', 'ACTIVE')`.execute(db);

  await sql`
    CREATE TABLE access_request_decisions (
      id bigserial PRIMARY KEY,
      request_id uuid NOT NULL REFERENCES access_requests(id) ON DELETE CASCADE,
      step integer NOT NULL,
      actor text NOT NULL,
      actor_oid text,
      approved boolean NOT NULL,
      comment text,
      at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (request_id, step, actor)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS access_request_decisions`.execute(db);
  await sql`DROP TABLE IF EXISTS access_requests`.execute(db);
  await sql`DROP TRIGGER IF EXISTS connectors_default_access_policy ON connectors`.execute(db);
  await sql`DROP FUNCTION IF EXISTS warden_default_access_policy()`.execute(db);
  await sql`DROP TABLE IF EXISTS access_policies`.execute(db);
}
