import { sql, type Kysely } from 'kysely';
import type { Bus, Database, SyncMode, SyncRunRow } from '@warden/schema';
import { publishRunEvent } from './progress';

export interface SyncRequest {
  connectorId: string;
  mode: SyncMode;
  /** Token subject of the caller, or 'scheduler'. */
  requestedBy: string;
}

/**
 * Creates a QUEUED run and publishes SyncRequested, or returns the connector's queued/running run
 * when there is one (a second trigger joins it; the partial unique index settles races between
 * replicas). `created` says which.
 */
export async function requestSync(db: Kysely<Database>, bus: Bus, req: SyncRequest): Promise<{ run: SyncRunRow; created: boolean }> {
  const inserted = await sql<SyncRunRow>`
    INSERT INTO sync_runs (connector_id, mode, requested_by)
    VALUES (${req.connectorId}::uuid, ${req.mode}, ${req.requestedBy})
    ON CONFLICT (connector_id) WHERE status IN ('QUEUED', 'RUNNING') DO NOTHING
    RETURNING *`.execute(db);
  const run = inserted.rows[0];
  if (run) {
    await bus.publishSyncRequested({ v: 1, runId: run.id, connectorId: run.connector_id, mode: run.mode });
    publishRunEvent(bus, run.id, run.connector_id, 'QUEUED', null);
    return { run, created: true };
  }
  const active = await db
    .selectFrom('sync_runs')
    .selectAll()
    .where('connector_id', '=', req.connectorId)
    .where('status', 'in', ['QUEUED', 'RUNNING'])
    .executeTakeFirst();
  if (active) return { run: active, created: false };
  // The active run finished between the two statements: try once more.
  return requestSync(db, bus, req);
}
