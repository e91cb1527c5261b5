import { sql, type Kysely } from 'kysely';
import type { Bus } from '@warden/bus';
import type { Database } from '@warden/database';
import { appendAuditMany } from '../audit';
import { REVIEW_SYSTEM_ACTOR } from './errors';
import { publishReviewUpdated } from './events';

/**
 * Verifies remediations against the tenant as the next sync saw it: every item whose revoke
 * succeeded and that a successful sync run started after is checked once. If the direct grant is
 * back (someone re-added it in Entra), the item is flagged (regranted_at) and the audit log says so
 * (`access_review.regrant_detected`); otherwise it is marked verified. Cheap when there is nothing to
 * check (a partial index on remediation_task_id), so the governance worker runs it on every tick;
 * returns the items flagged.
 */
export async function verifyRemediations(db: Kysely<Database>, bus: Bus): Promise<number> {
  const flagged = await db.transaction().execute(async (trx) => {
    const r = await sql<{
      id: string;
      review_id: string;
      connector_id: string;
      entitlement_key: string;
      principal_external_id: string;
      regranted: boolean;
      status: 'ACTIVE' | 'COMPLETING' | 'COMPLETED' | 'CANCELLED';
      run_id: string;
    }>`
      WITH due AS (
        SELECT i.id, run.id AS run_id,
          EXISTS (SELECT 1 FROM grants g WHERE g.connector_id = i.connector_id AND g.entitlement_key = i.entitlement_key
                    AND g.principal_external_id = i.principal_external_id AND g.direct) AS regranted
        FROM access_review_items i
        JOIN provisioning_tasks t ON t.id = i.remediation_task_id AND t.status = 'SUCCEEDED'
        JOIN LATERAL (
          SELECT s.id FROM sync_runs s
          WHERE s.connector_id = i.connector_id AND s.status = 'SUCCEEDED' AND s.started_at > t.completed_at
          ORDER BY s.started_at LIMIT 1
        ) run ON true
        WHERE i.remediation_task_id IS NOT NULL AND i.verified_at IS NULL
        ORDER BY i.id
        LIMIT 5000
        FOR UPDATE OF i SKIP LOCKED
      )
      UPDATE access_review_items i
      SET verified_at = now(), regranted_at = CASE WHEN due.regranted THEN now() END
      FROM due, access_reviews r
      WHERE i.id = due.id AND r.id = i.review_id
      RETURNING i.id, i.review_id, i.connector_id, i.entitlement_key, i.principal_external_id, due.regranted, r.status, due.run_id`.execute(
      trx,
    );
    const back = r.rows.filter((x) => x.regranted);
    await appendAuditMany(
      trx,
      back.map((x) => ({
        actor: REVIEW_SYSTEM_ACTOR,
        action: 'access_review.regrant_detected',
        connectorId: x.connector_id,
        details: {
          reviewId: x.review_id,
          itemId: x.id,
          entitlementKey: x.entitlement_key,
          principalExternalId: x.principal_external_id,
          syncRunId: x.run_id,
          message: 'the grant revoked by this review is back in the tenant',
        },
      })),
    );
    return back;
  });
  const reviews = new Map(flagged.map((x) => [x.review_id, { id: x.review_id, connector_id: x.connector_id, status: x.status }]));
  for (const review of reviews.values()) publishReviewUpdated(bus, review);
  return flagged.length;
}
