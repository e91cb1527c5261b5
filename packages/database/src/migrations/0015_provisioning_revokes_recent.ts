import { sql, type Kysely } from 'kysely';

// The sync worker must not write back a grant provisioning revoked while Graph's answer was in
// flight (a delta page or an assignment list read before the revoke). Before each write it asks
// for the revokes that succeeded since it read Graph: with this partial index that is a short
// range scan of a connector's recent revokes, not a scan of every task ever run.
//
// Group-in-group memberships (a few hundred of a connector's 600,000 grants at L) are what every
// closure recompute starts from. Found by probing the principal index with every group id, they cost
// an incremental sync ~0.5 s at L; this partial index holds just those rows.
//
// A sync run's stats carry the connector's row counts (resources by type, direct and inherited
// grants). Counting them was two scans of the connector's rows — ~0.5 s of every incremental sync at
// L whatever it changed. Statement triggers now append each statement's net change per connector
// to `connector_row_counts` (insert-only, so concurrent writers never wait on a counter row); the
// sum is the count, and the sync's finishing step folds a connector's rows into one per part.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE connector_row_counts (
      id bigserial PRIMARY KEY,
      connector_id uuid NOT NULL,
      relation text NOT NULL CHECK (relation IN ('resources', 'grants')),
      part text NOT NULL,
      n bigint NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX connector_row_counts_connector_idx ON connector_row_counts (connector_id, id)`.execute(db);
  // resources: part = type (an upsert may change it); grants: part = 'direct' | 'inherited' (part of the conflict key, never updated).
  await sql`
    CREATE FUNCTION warden_count_resources() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO connector_row_counts (connector_id, relation, part, n)
        SELECT connector_id, 'resources', type, count(*) FROM new_rows GROUP BY connector_id, type;
      ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO connector_row_counts (connector_id, relation, part, n)
        SELECT connector_id, 'resources', type, -count(*) FROM old_rows GROUP BY connector_id, type;
      ELSE
        INSERT INTO connector_row_counts (connector_id, relation, part, n)
        SELECT connector_id, 'resources', type, sum(d) FROM (
          SELECT connector_id, type, 1 AS d FROM new_rows UNION ALL SELECT connector_id, type, -1 FROM old_rows
        ) x GROUP BY connector_id, type HAVING sum(d) <> 0;
      END IF;
      RETURN NULL;
    END $$`.execute(db);
  await sql`
    CREATE FUNCTION warden_count_grants() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO connector_row_counts (connector_id, relation, part, n)
        SELECT connector_id, 'grants', CASE WHEN direct THEN 'direct' ELSE 'inherited' END, count(*) FROM new_rows GROUP BY connector_id, direct;
      ELSE
        INSERT INTO connector_row_counts (connector_id, relation, part, n)
        SELECT connector_id, 'grants', CASE WHEN direct THEN 'direct' ELSE 'inherited' END, -count(*) FROM old_rows GROUP BY connector_id, direct;
      END IF;
      RETURN NULL;
    END $$`.execute(db);
  await sql`
    CREATE FUNCTION warden_count_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM connector_row_counts WHERE relation = TG_TABLE_NAME;
      RETURN NULL;
    END $$`.execute(db);
  for (const op of ['INSERT', 'DELETE', 'UPDATE'] as const) {
    const tables =
      op === 'INSERT' ? 'NEW TABLE AS new_rows' : op === 'DELETE' ? 'OLD TABLE AS old_rows' : 'OLD TABLE AS old_rows NEW TABLE AS new_rows';
    await sql`
      CREATE TRIGGER ${sql.raw(`resources_count_${op.toLowerCase()}`)} AFTER ${sql.raw(op)} ON resources
      REFERENCING ${sql.raw(tables)} FOR EACH STATEMENT EXECUTE FUNCTION warden_count_resources()`.execute(db);
    if (op !== 'UPDATE')
      await sql`
        CREATE TRIGGER ${sql.raw(`grants_count_${op.toLowerCase()}`)} AFTER ${sql.raw(op)} ON grants
        REFERENCING ${sql.raw(tables)} FOR EACH STATEMENT EXECUTE FUNCTION warden_count_grants()`.execute(db);
  }
  await sql`CREATE TRIGGER resources_count_truncate AFTER TRUNCATE ON resources FOR EACH STATEMENT EXECUTE FUNCTION warden_count_truncated()`.execute(
    db,
  );
  await sql`CREATE TRIGGER grants_count_truncate AFTER TRUNCATE ON grants FOR EACH STATEMENT EXECUTE FUNCTION warden_count_truncated()`.execute(
    db,
  );
  // The rows already there (the triggers count from now on; migrations run before any worker writes).
  await sql`
    INSERT INTO connector_row_counts (connector_id, relation, part, n)
    SELECT connector_id, 'resources', type, count(*) FROM resources GROUP BY connector_id, type`.execute(db);
  await sql`
    INSERT INTO connector_row_counts (connector_id, relation, part, n)
    SELECT connector_id, 'grants', CASE WHEN direct THEN 'direct' ELSE 'inherited' END, count(*) FROM grants GROUP BY connector_id, direct`.execute(
    db,
  );

  await sql`
    CREATE INDEX grants_group_edges_idx ON grants (connector_id, principal_external_id, entitlement_key)
    WHERE direct AND principal_kind = 'GROUP' AND entitlement_key LIKE 'GROUP:%:member'`.execute(db);
  await sql`
    CREATE INDEX provisioning_tasks_revoked_idx ON provisioning_tasks (connector_id, completed_at)
    WHERE action = 'REVOKE' AND status = 'SUCCEEDED'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['resources_count_insert', 'resources_count_delete', 'resources_count_update', 'resources_count_truncate'])
    await sql`DROP TRIGGER IF EXISTS ${sql.raw(t)} ON resources`.execute(db);
  for (const t of ['grants_count_insert', 'grants_count_delete', 'grants_count_truncate'])
    await sql`DROP TRIGGER IF EXISTS ${sql.raw(t)} ON grants`.execute(db);
  await sql`DROP FUNCTION IF EXISTS warden_count_resources()`.execute(db);
  await sql`DROP FUNCTION IF EXISTS warden_count_grants()`.execute(db);
  await sql`DROP FUNCTION IF EXISTS warden_count_truncated()`.execute(db);
  await sql`DROP TABLE IF EXISTS connector_row_counts`.execute(db);
  await sql`DROP INDEX provisioning_tasks_revoked_idx`.execute(db);
  await sql`DROP INDEX grants_group_edges_idx`.execute(db);
}
