import { sql, type Kysely } from 'kysely';
import type { Bus } from '@warden/bus';
import type { Database } from '@warden/database';
import type { Logger } from 'pino';
import { LOCK_SPACE } from './claim';

/**
 * Re-publishes tasks that have no message on their way: PENDING rows whose publish was lost (the
 * requester died between commit and publish) and RUNNING rows whose owner is gone (no advisory
 * lock). NATS redelivery covers the usual crash; this covers the rest. The message id changes
 * every two minutes, so replicas sweeping together publish once (JetStream de-duplicates).
 */
export async function sweepOrphanedTasks(deps: { db: Kysely<Database>; bus: Bus; logger: Logger }, olderThanMs = 60_000): Promise<number> {
  const { rows } = await sql<{ id: string; connector_id: string }>`
    SELECT t.id, t.connector_id
    FROM provisioning_tasks t
    WHERE t.status IN ('PENDING', 'RUNNING')
      AND coalesce(t.started_at, t.requested_at) < now() - make_interval(secs => ${olderThanMs / 1000})
      AND NOT EXISTS (
        SELECT 1 FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.classid = ${LOCK_SPACE}::oid AND l.objsubid = 2
          AND l.objid = hashtext(t.id::text)::oid)
      AND NOT EXISTS (
        SELECT 1 FROM provisioning_tasks p
        WHERE p.connector_id = t.connector_id AND p.entitlement_key = t.entitlement_key
          AND p.principal_external_id = t.principal_external_id AND p.seq < t.seq
          AND p.status IN ('PENDING', 'RUNNING'))
    ORDER BY t.seq
    LIMIT 1000`.execute(deps.db);
  const window = Math.floor(Date.now() / 120_000);
  for (const t of rows) {
    await deps.bus.publishProvisioningRequested({ v: 1, taskId: t.id, connectorId: t.connector_id }, `${t.id}:sweep:${window}`);
  }
  if (rows.length > 0) deps.logger.info({ count: rows.length }, 're-published provisioning tasks without a live message');
  return rows.length;
}
