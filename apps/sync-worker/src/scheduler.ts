import { sql, type Kysely } from 'kysely';
import type { Bus } from '@warden/bus';
import type { Database, SyncMode } from '@warden/database';
import type { Logger } from 'pino';
import { publishRunEvent } from './runs/progress';

export interface ScheduleResult {
  enqueued: { runId: string; connectorId: string; mode: SyncMode }[];
  /** Runs handed out again because no worker is on them (lost message, crashed publisher). */
  republished: number;
}

interface DueRow {
  id: string;
  mode: SyncMode;
}

/**
 * One scheduling pass, safe on any number of replicas at once: connectors are claimed with
 * FOR UPDATE SKIP LOCKED, so each due connector gets exactly one QUEUED run (and the partial unique
 * index backs that up). Full is due when no FULL run was queued within `full_interval_seconds`
 * (or none ever); incremental when no run at all was queued within `incremental_interval_seconds`.
 * Only connectors that can sign in (tenant + credentials; OAUTH: a verified admin consent) are scheduled.
 */
export async function scheduleDueSyncs(
  db: Kysely<Database>,
  bus: Bus,
  opts: { staleRunMs: number; logger?: Logger },
): Promise<ScheduleResult> {
  const enqueued = await db.transaction().execute(async (trx) => {
    const due = await sql<DueRow>`
      SELECT c.id,
             CASE WHEN lf.at IS NULL OR lf.at < now() - make_interval(secs => c.full_interval_seconds) THEN 'FULL' ELSE 'INCREMENTAL' END AS mode
      FROM connectors c
      LEFT JOIN LATERAL (SELECT max(queued_at) AS at FROM sync_runs r WHERE r.connector_id = c.id AND r.mode = 'FULL') lf ON true
      LEFT JOIN LATERAL (SELECT max(queued_at) AS at FROM sync_runs r WHERE r.connector_id = c.id) la ON true
      WHERE c.tenant_id IS NOT NULL
        AND (c.secret_ciphertext IS NOT NULL OR c.auth_method = 'OAUTH')
        -- OAUTH: only after a verified admin consent for the tenant it names (consentComplete).
        AND (c.auth_method <> 'OAUTH'
             OR (c.consent_verified_at IS NOT NULL AND lower(c.consented_tenant_id) = lower(c.tenant_id)))
        AND NOT EXISTS (SELECT 1 FROM sync_runs a WHERE a.connector_id = c.id AND a.status IN ('QUEUED', 'RUNNING'))
        AND (lf.at IS NULL OR lf.at < now() - make_interval(secs => c.full_interval_seconds)
             OR la.at < now() - make_interval(secs => c.incremental_interval_seconds))
      ORDER BY c.created_at
      FOR UPDATE OF c SKIP LOCKED`.execute(trx);
    const out: ScheduleResult['enqueued'] = [];
    for (const d of due.rows) {
      const ins = await sql<{ id: string }>`
        INSERT INTO sync_runs (connector_id, mode, requested_by) VALUES (${d.id}::uuid, ${d.mode}, 'scheduler')
        ON CONFLICT (connector_id) WHERE status IN ('QUEUED', 'RUNNING') DO NOTHING RETURNING id`.execute(trx);
      const id = ins.rows[0]?.id;
      if (id) out.push({ runId: id, connectorId: d.id, mode: d.mode });
    }
    return out;
  });
  for (const e of enqueued) {
    await bus.publishSyncRequested({ v: 1, runId: e.runId, connectorId: e.connectorId, mode: e.mode });
    publishRunEvent(bus, e.runId, e.connectorId, 'QUEUED', null);
    opts.logger?.info(e, 'scheduled sync');
  }

  // Runs nobody works on: queued long ago, or running with a stale heartbeat (its worker died and
  // its message is gone). Republishing is harmless: the handler's lock and status checks make a
  // duplicate message a no-op.
  const staleSecs = Math.ceil(opts.staleRunMs / 1000);
  const stale = await sql<{ id: string; connector_id: string; mode: SyncMode }>`
    SELECT id, connector_id, mode FROM sync_runs
    WHERE (status = 'RUNNING' AND coalesce(heartbeat_at, started_at, queued_at) < now() - make_interval(secs => ${staleSecs}))
       OR (status = 'QUEUED' AND queued_at < now() - make_interval(secs => ${staleSecs * 5}))
    LIMIT 100`.execute(db);
  for (const r of stale.rows) await bus.publishSyncRequested({ v: 1, runId: r.id, connectorId: r.connector_id, mode: r.mode });
  return { enqueued, republished: stale.rows.length };
}
