import { sql, type Kysely } from 'kysely';
import { appendAudit } from '../audit';
import type { Bus } from '@warden/bus';
import { consentComplete, type Database, type SyncMode, type SyncRunRow } from '@warden/database';

export interface SyncRequest {
  connectorId: string;
  mode: SyncMode;
  /** Token subject of the caller, or 'scheduler'. */
  requestedBy: string;
  /** Append a `sync.requested` audit row with the new run (administrative requests). */
  audit?: boolean;
  /** More about the actor for that row's details (the gateway's `actorOid`). */
  auditDetails?: Record<string, unknown>;
}

/** The connector cannot be synced yet; `code` says why (callers map it to their own error shape). */
export class SyncRefused extends Error {
  constructor(
    readonly code: 'CONNECTOR_NOT_FOUND' | 'CONSENT_INCOMPLETE',
    message: string,
  ) {
    super(message);
    this.name = 'SyncRefused';
  }
}

/**
 * A sync run on request — the gateway's triggerSync, tests and benchmarks call this (the
 * scheduler enqueues due connectors in one set-based statement of its own). Creates a QUEUED run and publishes SyncRequested, or returns the
 * connector's queued/running run when there is one (a second trigger joins it; the partial unique
 * index settles races between replicas). `created` says which.
 */
export async function requestSync(db: Kysely<Database>, bus: Bus, req: SyncRequest): Promise<{ run: SyncRunRow; created: boolean }> {
  // An OAUTH connector signs in with the deployment's own app: without a verified admin consent for
  // its tenant it must never be synced (the tenant could be anyone's that consented to the app).
  const connector = await db
    .selectFrom('connectors')
    .select(['auth_method', 'tenant_id', 'consented_tenant_id', 'consent_verified_at', 'display_name'])
    .where('id', '=', req.connectorId)
    .executeTakeFirst();
  if (!connector) throw new SyncRefused('CONNECTOR_NOT_FOUND', `connector ${req.connectorId} does not exist`);
  if (!consentComplete(connector)) {
    throw new SyncRefused(
      'CONSENT_INCOMPLETE',
      `connector '${connector.display_name}' has no completed admin consent yet; finish beginAdminConsent before syncing`,
    );
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const run = await db.transaction().execute(async (trx) => {
      const inserted = await sql<SyncRunRow>`
        INSERT INTO sync_runs (connector_id, mode, requested_by)
        VALUES (${req.connectorId}::uuid, ${req.mode}, ${req.requestedBy})
        ON CONFLICT (connector_id) WHERE status IN ('QUEUED', 'RUNNING') DO NOTHING
        RETURNING *`.execute(trx);
      const row = inserted.rows[0];
      if (row && req.audit) {
        await appendAudit(trx, {
          actor: req.requestedBy,
          action: 'sync.requested',
          connectorId: req.connectorId,
          details: { ...req.auditDetails, runId: row.id, mode: req.mode },
        });
      }
      return row;
    });
    if (run) {
      await bus.publishSyncRequested({ v: 1, runId: run.id, connectorId: run.connector_id, mode: run.mode });
      bus.publishSyncRunUpdated({
        v: 1,
        runId: run.id,
        connectorId: run.connector_id,
        status: 'QUEUED',
        progress: null,
        at: new Date().toISOString(),
      });
      return { run, created: true };
    }
    const active = await db
      .selectFrom('sync_runs')
      .selectAll()
      .where('connector_id', '=', req.connectorId)
      .where('status', 'in', ['QUEUED', 'RUNNING'])
      .executeTakeFirst();
    if (active) {
      // Re-publishing a queued run is harmless (JetStream de-duplicates by run id) and recovers a
      // publish lost in a crash.
      if (active.status === 'QUEUED')
        await bus.publishSyncRequested({ v: 1, runId: active.id, connectorId: active.connector_id, mode: active.mode });
      return { run: active, created: false };
    }
    // The active run finished between the two statements: try again.
  }
  throw new Error(`could not queue or find an active sync run for connector ${req.connectorId}`);
}
