import { sql, type Kysely } from 'kysely';

// Idempotency keys used to be global: anyone who could request provisioning could take the key the
// expiry scan was going to use (`expiry:<connector>:…`) and so suppress the revoke of somebody's
// just-in-time access. A key now belongs to whoever used it, on one connector, in one namespace:
// 'user' keys are the callers' own (requested_by = the token subject), 'system' keys are the
// system's own work (the expiry scan) and no caller input can reach that namespace.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE provisioning_tasks
      ADD COLUMN namespace text NOT NULL DEFAULT 'user' CHECK (namespace IN ('user', 'system'))`.execute(db);
  // Existing expiry revokes written by the system: requested by 'system' under an `expiry:` key AND
  // audited as 'grant.expired' by 'system' in the task's own transaction. A caller whose token
  // subject happened to be 'system' and who used such a key was audited as 'revoke.requested' or
  // 'grant.requested', so that task stays a user key.
  await sql`
    UPDATE provisioning_tasks t SET namespace = 'system'
    WHERE t.requested_by = 'system'
      AND t.idempotency_key LIKE 'expiry:%'
      AND EXISTS (
        SELECT 1 FROM audit_events a
        WHERE a.connector_id = t.connector_id AND a.actor = 'system' AND a.action = 'grant.expired'
          AND a.details->>'taskId' = t.id::text)`.execute(db);
  // Keys were globally unique, so every existing row fits the narrower key.
  await sql`ALTER TABLE provisioning_tasks DROP CONSTRAINT provisioning_tasks_idempotency_key_key`.execute(db);
  await sql`
    ALTER TABLE provisioning_tasks
      ADD CONSTRAINT provisioning_tasks_key_unique UNIQUE (connector_id, namespace, requested_by, idempotency_key)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE provisioning_tasks DROP CONSTRAINT IF EXISTS provisioning_tasks_key_unique`.execute(db);
  // Going back to global keys: keep the oldest task of a key as is, suffix the others.
  await sql`
    UPDATE provisioning_tasks t SET idempotency_key = t.idempotency_key || ':' || t.id::text
    WHERE EXISTS (SELECT 1 FROM provisioning_tasks o WHERE o.idempotency_key = t.idempotency_key AND o.seq < t.seq)`.execute(db);
  await sql`ALTER TABLE provisioning_tasks ADD CONSTRAINT provisioning_tasks_idempotency_key_key UNIQUE (idempotency_key)`.execute(db);
  await sql`ALTER TABLE provisioning_tasks DROP COLUMN namespace`.execute(db);
}
