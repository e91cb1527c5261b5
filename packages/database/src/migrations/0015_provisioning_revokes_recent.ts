import { sql, type Kysely } from 'kysely';

// The sync worker must not write back a grant provisioning revoked while Graph's answer was in
// flight (a delta page or an assignment list read before the revoke). Before each write it asks
// for the revokes that succeeded since it read Graph: with this partial index that is a short
// range scan of a connector's recent revokes, not a scan of every task ever run.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE INDEX provisioning_tasks_revoked_idx ON provisioning_tasks (connector_id, completed_at)
    WHERE action = 'REVOKE' AND status = 'SUCCEEDED'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX provisioning_tasks_revoked_idx`.execute(db);
}
