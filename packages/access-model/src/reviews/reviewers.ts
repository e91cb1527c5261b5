import { sql, type Kysely } from 'kysely';
import type { Database } from '@warden/database';

/** One reviewer with undecided items: a platform user (subject) or an Entra user (resources.id). */
export interface PendingReviewer {
  subject: string | null;
  resourceId: string | null;
  pending: number;
}

/** The reviewers of a review who still have undecided items, with how many (reminders). */
export async function pendingReviewers(db: Kysely<Database>, reviewId: string): Promise<PendingReviewer[]> {
  const r = await sql<PendingReviewer>`
    WITH pending AS (
      SELECT reviewer_oids, reviewer_subjects FROM access_review_items WHERE review_id = ${reviewId} AND decision IS NULL
    )
    SELECT s AS subject, NULL::uuid AS "resourceId", count(*)::int AS pending
    FROM pending, unnest(reviewer_subjects) s GROUP BY s
    UNION ALL
    SELECT NULL, u.id, count(*)::int
    FROM pending, unnest(reviewer_oids) o
    JOIN access_reviews r ON r.id = ${reviewId}
    JOIN resources u ON u.connector_id = r.connector_id AND u.external_id = o
    GROUP BY u.id
    ORDER BY 1, 2`.execute(db);
  return r.rows;
}
