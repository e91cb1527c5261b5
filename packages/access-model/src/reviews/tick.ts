import { sql, type Kysely } from 'kysely';
import type { Bus } from '@warden/bus';
import type { Database } from '@warden/database';
import { completeAccessReview, finishRemediation, remediateReview } from './complete';
import { ReviewError } from './errors';
import { publishReviewUpdated } from './events';
import { verifyRemediations } from './verify';

export interface ReviewTickResult {
  /** Campaigns whose creating process died before committing: their partitions' items deleted. */
  abandoned: number;
  completed: number;
  requested: number;
  finished: number;
  regranted: number;
}

/**
 * One pass of the review timer (the governance worker runs it every few seconds; every step reads
 * its work from the database, so a restart continues where the last pass stopped):
 * ACTIVE reviews past dueAt are completed by the system; COMPLETING reviews get their revokes
 * requested and, once every revoke finished, become COMPLETED; their subscribers hear of progress;
 * successful revokes are verified against the next sync.
 */
export async function reviewTick(
  db: Kysely<Database>,
  bus: Bus,
  now: Date = new Date(),
  batch = 500,
  /** Test failpoint, see remediateReview. */
  afterRequest?: (itemIds: string[], taskIds: string[]) => Promise<void>,
): Promise<ReviewTickResult> {
  const result: ReviewTickResult = { abandoned: 0, completed: 0, requested: 0, finished: 0, regranted: 0 };
  result.abandoned = await sweepAbandonedCreations(db, now);
  const due = await db
    .selectFrom('access_reviews')
    .select('id')
    .where('status', '=', 'ACTIVE')
    .where('due_at', '<=', now)
    .orderBy('due_at')
    .limit(50)
    .execute();
  for (const r of due) {
    try {
      await completeAccessReview(db, bus, null, r.id);
      result.completed++;
    } catch (err) {
      // Another worker (or an admin) completed or cancelled it between the read and the lock.
      if (!(err instanceof ReviewError && err.code === 'CONFLICT')) throw err;
    }
  }
  const completing = await db
    .selectFrom('access_reviews')
    .selectAll()
    .where('status', '=', 'COMPLETING')
    .orderBy('completed_at')
    .limit(50)
    .execute();
  for (const r of completing) {
    result.requested += await remediateReview(db, bus, r.id, batch, afterRequest);
    if (await finishRemediation(db, bus, r.id)) result.finished++;
    // Progress (remediated / failed) moves with the provisioning worker; subscribers re-read it.
    else publishReviewUpdated(bus, r);
  }
  result.regranted = await verifyRemediations(db, bus);
  return result;
}

/** A creation still under way after this long is taken for dead (its process is gone). */
export const ABANDONED_CREATION_MS = 3_600_000;

/**
 * Deletes the items of campaigns whose creating process died between the partitions' commits and
 * the review's (createAccessReview): their access_review_creations row outlived them and no review
 * has that id. A live creation that took longer than that finds its row gone and rolls back.
 */
async function sweepAbandonedCreations(db: Kysely<Database>, now: Date): Promise<number> {
  const swept = await sql<{ review_id: string }>`
    WITH gone AS (
      DELETE FROM access_review_creations c
      WHERE c.started_at < ${new Date(now.getTime() - ABANDONED_CREATION_MS)}
        AND NOT EXISTS (SELECT 1 FROM access_reviews r WHERE r.id = c.review_id)
      RETURNING c.review_id
    ),
    items AS (DELETE FROM access_review_items i USING gone WHERE i.review_id = gone.review_id)
    SELECT review_id FROM gone`.execute(db);
  return swept.rows.length;
}
