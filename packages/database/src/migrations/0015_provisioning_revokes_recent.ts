import { sql, type Kysely } from 'kysely';

// The sync worker must not write back a grant provisioning revoked while Graph's answer was in
// flight (a delta page or an assignment list read before the revoke). Before each write it asks
// for the revokes that succeeded since it read Graph: with this partial index that is a short
// range scan of a connector's recent revokes, not a scan of every task ever run.
//
// Group-in-group memberships (a few hundred of a connector's 600,000 grants at L) are what every
// closure recompute starts from. Found by probing the principal index with every group id, they cost
// an incremental sync ~0.5 s at L; this partial index holds just those rows.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE INDEX grants_group_edges_idx ON grants (connector_id, principal_external_id, entitlement_key)
    WHERE direct AND principal_kind = 'GROUP' AND entitlement_key LIKE 'GROUP:%:member'`.execute(db);
  await sql`
    CREATE INDEX provisioning_tasks_revoked_idx ON provisioning_tasks (connector_id, completed_at)
    WHERE action = 'REVOKE' AND status = 'SUCCEEDED'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX provisioning_tasks_revoked_idx`.execute(db);
  await sql`DROP INDEX grants_group_edges_idx`.execute(db);
}
