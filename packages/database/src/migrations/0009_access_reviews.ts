import { sql, type Kysely } from 'kysely';

// Access reviews (certification campaigns), packages/access-model/src/reviews:
// - access_reviews: one campaign over the direct grants of a connector's entitlements.
// - access_review_items: one row per direct grant as it stood when the review started, snapshotted
//   in the creating transaction with its reviewers and recommendation. Reviewers are kept as arrays
//   (Entra users by Graph object id within the review's connector, platform users by token subject)
//   so a campaign of 600k items is one INSERT ... SELECT and a reviewer's queue one GIN probe.
// - remediation: the REVOKE task that carried out a REVOKE decision (provisioning_tasks), and the
//   verification after the next sync (verified_at, regranted_at).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE access_reviews (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      connector_id uuid NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
      name text NOT NULL,
      status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE','COMPLETING','COMPLETED','CANCELLED')),
      reviewers text NOT NULL CHECK (reviewers IN ('MANAGER','RESOURCE_OWNER','CONNECTOR_OWNER','USERS')),
      fallback_subjects text[] NOT NULL,
      due_at timestamptz NOT NULL,
      auto_revoke boolean NOT NULL,
      undecided text NOT NULL CHECK (undecided IN ('KEEP','REVOKE','RECOMMENDATION')),
      inactive_days integer NOT NULL CHECK (inactive_days > 0),
      -- what was asked for: { entitlementIds?: string[], resourceTypes?: string[] }
      scope jsonb NOT NULL,
      created_by text NOT NULL,
      created_by_oid text,
      created_at timestamptz NOT NULL DEFAULT now(),
      completed_at timestamptz,
      completed_by text,
      cancelled_at timestamptz,
      -- COMPLETING -> COMPLETED once every remediation task finished
      remediated_at timestamptz,
      -- reminders sent (the governance worker's reminder loop; null = not yet)
      reminded_start_at timestamptz,
      reminded_due_at timestamptz,
      escalated_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX access_reviews_page_idx ON access_reviews (created_at DESC, id DESC)`.execute(db);
  await sql`CREATE INDEX access_reviews_connector_idx ON access_reviews (connector_id, created_at DESC, id DESC)`.execute(db);
  await sql`CREATE INDEX access_reviews_open_idx ON access_reviews (due_at) WHERE status IN ('ACTIVE','COMPLETING')`.execute(db);

  // Item ids grow with a sequence (high half) and carry 64 random bits (low half): a campaign of
  // 600k items appends to its indexes instead of writing all over them, and ids stay unguessable.
  await sql`CREATE SEQUENCE access_review_items_seq`.execute(db);
  await sql`
    CREATE TABLE access_review_items (
      id uuid PRIMARY KEY DEFAULT (lpad(to_hex(nextval('access_review_items_seq')), 16, '0') || substr(md5(random()::text), 1, 16))::uuid,
      review_id uuid NOT NULL REFERENCES access_reviews(id) ON DELETE CASCADE,
      connector_id uuid NOT NULL,
      entitlement_id uuid NOT NULL,
      entitlement_key text NOT NULL,
      principal_id uuid NOT NULL,
      principal_external_id text NOT NULL,
      principal_kind text NOT NULL,
      -- Entra users (Graph object ids in the review's connector) and platform users (token subjects)
      reviewer_oids text[] NOT NULL DEFAULT '{}',
      reviewer_subjects text[] NOT NULL DEFAULT '{}',
      -- both, as one searchable set: 'o:<oid>' and 's:<subject>' (one GIN index instead of two)
      reviewer_keys text[] NOT NULL DEFAULT '{}',
      -- true when the rule resolved to nobody (or only the principal) and the fallback decides
      fallback boolean NOT NULL DEFAULT false,
      recommendation text CHECK (recommendation IN ('KEEP','REVOKE')),
      recommendation_reason text,
      last_sign_in_at timestamptz,
      -- group principals: how many principals hold the entitlement through this membership
      inherited_count integer,
      decision text CHECK (decision IN ('KEEP','REVOKE')),
      decided_by text,
      decided_by_oid text,
      comment text,
      decided_at timestamptz,
      remediation_task_id uuid,
      remediation_attempts integer NOT NULL DEFAULT 0,
      -- a REVOKE that could not become a task (e.g. the entitlement is not grantable)
      remediation_error text,
      verified_at timestamptz,
      regranted_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX access_review_items_page_idx ON access_review_items (review_id, id)`.execute(db);
  // A large pending list: a whole campaign's entries are appended in its one INSERT and merged later.
  await sql`CREATE INDEX access_review_items_reviewers_idx ON access_review_items USING gin (reviewer_keys) WITH (gin_pending_list_limit = 65536)`.execute(
    db,
  );
  await sql`CREATE INDEX access_review_items_task_idx ON access_review_items (remediation_task_id) WHERE remediation_task_id IS NOT NULL`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS access_review_items`.execute(db);
  await sql`DROP TABLE IF EXISTS access_reviews`.execute(db);
  await sql`DROP SEQUENCE IF EXISTS access_review_items_seq`.execute(db);
}
