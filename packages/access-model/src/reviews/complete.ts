import { sql, type Kysely } from 'kysely';
import type { Bus } from '@warden/bus';
import type { AccessReviewRow, Database } from '@warden/database';
import { appendAudit } from '../audit';
import { ProvisioningRequestError, requestSystemProvisioningMany } from '../provisioning/request';
import { chunks } from '../util';
import { isConnectorAdmin, isUuid, REVIEW_SYSTEM_ACTOR, ReviewError, type ReviewActor } from './errors';
import { publishReviewUpdated } from './events';

async function loadForAdmin(db: Kysely<Database>, actor: ReviewActor, reviewId: string, what: string) {
  if (!isUuid(reviewId)) throw new ReviewError('NOT_FOUND', `access review ${reviewId} does not exist`);
  const row = await db
    .selectFrom('access_reviews as r')
    .innerJoin('connectors as c', 'c.id', 'r.connector_id')
    .select(['r.id', 'r.name', 'r.status', 'c.owners', 'c.display_name'])
    .where('r.id', '=', reviewId)
    .executeTakeFirst();
  if (!row) throw new ReviewError('NOT_FOUND', `access review ${reviewId} does not exist`);
  if (!isConnectorAdmin(actor, row))
    throw new ReviewError('FORBIDDEN', `${what} a review needs SUPER_ADMIN, or CONNECTOR_ADMIN owning connector '${row.display_name}'`);
  return row;
}

/**
 * Completes an ACTIVE review, by an admin of its connector (completeAccessReview) or by the dueAt
 * timer (`actor` null: the system). One transaction: every undecided item gets the review's
 * `undecided` action (decidedBy 'system', one audit row each), and the review becomes COMPLETING
 * when it has revocations to carry out, COMPLETED otherwise. The revokes themselves are requested by
 * remediateReview (the governance worker), so a crash here loses nothing: the state says what is left.
 */
export async function completeAccessReview(
  db: Kysely<Database>,
  bus: Bus,
  actor: ReviewActor | null,
  reviewId: string,
): Promise<AccessReviewRow> {
  if (actor) await loadForAdmin(db, actor, reviewId, 'completing');
  else if (!isUuid(reviewId)) throw new ReviewError('NOT_FOUND', `access review ${reviewId} does not exist`);
  const by = actor?.subject ?? REVIEW_SYSTEM_ACTOR;
  const review = await db.transaction().execute(async (trx) => {
    const locked = await trx.selectFrom('access_reviews').selectAll().where('id', '=', reviewId).forUpdate().executeTakeFirst();
    if (!locked) throw new ReviewError('NOT_FOUND', `access review ${reviewId} does not exist`);
    if (locked.status !== 'ACTIVE') throw new ReviewError('CONFLICT', `review '${locked.name}' is ${locked.status}, not ACTIVE`);
    // Defaults for what nobody decided, audited one row per item (the audit log records every decision).
    // Hundreds of thousands of rows in one statement: interpreted beats JIT-compiled here too.
    await sql`SET LOCAL jit = off`.execute(trx);
    const defaulted = await sql<{ n: number }>`
      WITH d AS (
        UPDATE access_review_items
        SET decision = CASE ${locked.undecided}::text WHEN 'RECOMMENDATION' THEN coalesce(recommendation, 'KEEP') ELSE ${locked.undecided}::text END,
            decided_by = ${REVIEW_SYSTEM_ACTOR}, decided_at = now()
        WHERE review_id = ${reviewId} AND decision IS NULL
        RETURNING id, entitlement_key, principal_external_id, decision
      ),
      a AS (
        INSERT INTO audit_events (actor, action, connector_id, details)
        SELECT ${REVIEW_SYSTEM_ACTOR}, 'access_review.decided', ${locked.connector_id}::uuid,
          jsonb_build_object('reviewId', ${reviewId}::text, 'itemId', d.id, 'entitlementKey', d.entitlement_key,
            'principalExternalId', d.principal_external_id, 'decision', d.decision, 'default', ${locked.undecided}::text)
        FROM d
        RETURNING 1
      )
      SELECT count(*)::int AS n FROM a`.execute(trx);
    const revokes = await trx
      .selectFrom('access_review_items')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('review_id', '=', reviewId)
      .where('decision', '=', 'REVOKE')
      .executeTakeFirstOrThrow();
    const remediating = locked.auto_revoke && Number(revokes.n) > 0;
    const updated = await trx
      .updateTable('access_reviews')
      .set({
        status: remediating ? 'COMPLETING' : 'COMPLETED',
        completed_at: sql`now()`,
        completed_by: by,
        ...(remediating ? {} : { remediated_at: sql`now()` }),
      })
      .where('id', '=', reviewId)
      .returningAll()
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      actor: by,
      action: 'access_review.completed',
      connectorId: locked.connector_id,
      details: {
        ...(actor?.oid ? { actorOid: actor.oid } : {}),
        reviewId,
        name: locked.name,
        by: actor ? 'person' : 'dueAt',
        defaulted: defaulted.rows[0]?.n ?? 0,
        undecided: locked.undecided,
        revocations: Number(revokes.n),
        autoRevoke: locked.auto_revoke,
      },
    });
    return updated;
  });
  publishReviewUpdated(bus, review);
  return review;
}

/** Cancels an ACTIVE review (nothing is revoked); admins of its connector. */
export async function cancelAccessReview(db: Kysely<Database>, bus: Bus, actor: ReviewActor, reviewId: string): Promise<AccessReviewRow> {
  await loadForAdmin(db, actor, reviewId, 'cancelling');
  const review = await db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable('access_reviews')
      .set({ status: 'CANCELLED', cancelled_at: sql`now()` })
      .where('id', '=', reviewId)
      .where('status', '=', 'ACTIVE')
      .returningAll()
      .executeTakeFirst();
    if (!updated) {
      const now = await trx.selectFrom('access_reviews').select(['name', 'status']).where('id', '=', reviewId).executeTakeFirstOrThrow();
      throw new ReviewError('CONFLICT', `review '${now.name}' is ${now.status}: only an ACTIVE review can be cancelled`);
    }
    await appendAudit(trx, {
      actor: actor.subject,
      action: 'access_review.cancelled',
      connectorId: updated.connector_id,
      details: { ...(actor.oid ? { actorOid: actor.oid } : {}), reviewId, name: updated.name },
    });
    return updated;
  });
  publishReviewUpdated(bus, review);
  return review;
}

/** The idempotency key of an item's remediation: one task per item and attempt, whoever asks, however often. */
export function remediationKey(itemId: string, attempt: number): string {
  return `access-review:${itemId}:${attempt}`;
}

/** Revokes requested per transaction: one INSERT of tasks, one of audit rows, one UPDATE linking them. */
export const REMEDIATION_BATCH = 100;

/**
 * Requests the revokes of a COMPLETING review (at most `limit` items per call), REMEDIATION_BATCH at
 * a time through requestSystemProvisioningMany, keyed by item and attempt, so a worker killed at any
 * point and run again (or two workers at once) gets the same tasks back: no revoke is lost or
 * doubled. Set-based, so Graph's burst of writes is used at once instead of one request per item.
 * Items that cannot become a task (the entitlement is not grantable) keep the refusal as their
 * remediation error.
 */
export async function remediateReview(
  db: Kysely<Database>,
  bus: Bus,
  reviewId: string,
  limit = 500,
  /** Test failpoint: runs after a batch of revokes was requested and before its items link them (crash tests). */
  afterRequest?: (itemIds: string[], taskIds: string[]) => Promise<void>,
): Promise<number> {
  const review = await db
    .selectFrom('access_reviews')
    .select(['id', 'name', 'status', 'auto_revoke'])
    .where('id', '=', reviewId)
    .executeTakeFirst();
  if (!review || review.status !== 'COMPLETING' || !review.auto_revoke) return 0;
  const items = await db
    .selectFrom('access_review_items')
    .select(['id', 'entitlement_id', 'principal_id', 'remediation_attempts'])
    .where('review_id', '=', reviewId)
    .where('decision', '=', 'REVOKE')
    .where('remediation_task_id', 'is', null)
    .where('remediation_error', 'is', null)
    .orderBy('id')
    .limit(limit)
    .execute();
  for (const batch of chunks(items, REMEDIATION_BATCH)) {
    const outcomes = await requestSystemProvisioningMany(
      db,
      bus,
      batch.map((item) => ({
        action: 'REVOKE' as const,
        entitlementId: item.entitlement_id,
        principalId: item.principal_id,
        reason: `access review '${review.name}'`,
        idempotencyKey: remediationKey(item.id, item.remediation_attempts),
      })),
      {
        auditDetails: { onBehalfOf: `access-review:${review.id}`, accessReviewId: review.id },
        auditDetailsOf: (i) => ({ accessReviewItemId: batch[i]!.id }),
      },
    );
    const conflict = outcomes.find((o): o is ProvisioningRequestError => o instanceof ProvisioningRequestError && o.code === 'CONFLICT');
    if (conflict) throw conflict;
    const linked = batch.flatMap((item, i) => {
      const o = outcomes[i]!;
      return o instanceof ProvisioningRequestError ? [] : [{ id: item.id, task: o.id }];
    });
    const refused = batch.flatMap((item, i) => {
      const o = outcomes[i]!;
      return o instanceof ProvisioningRequestError ? [{ id: item.id, error: o.message }] : [];
    });
    await afterRequest?.(
      linked.map((l) => l.id),
      linked.map((l) => l.task),
    );
    await db.transaction().execute(async (trx) => {
      if (linked.length)
        await sql`
          UPDATE access_review_items i SET remediation_task_id = v.task
          FROM unnest(${linked.map((l) => l.id)}::uuid[], ${linked.map((l) => l.task)}::uuid[]) AS v(id, task)
          WHERE i.id = v.id AND i.remediation_task_id IS NULL`.execute(trx);
      if (refused.length)
        await sql`
          UPDATE access_review_items i SET remediation_error = v.error
          FROM unnest(${refused.map((r) => r.id)}::uuid[], ${refused.map((r) => r.error)}::text[]) AS v(id, error)
          WHERE i.id = v.id`.execute(trx);
    });
  }
  return items.length;
}

/** COMPLETING → COMPLETED once no revoke of the review is waiting to be requested or still running. */
export async function finishRemediation(db: Kysely<Database>, bus: Bus, reviewId: string): Promise<AccessReviewRow | null> {
  const done = await db.transaction().execute(async (trx) => {
    const open = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM access_review_items i
      LEFT JOIN provisioning_tasks t ON t.id = i.remediation_task_id
      WHERE i.review_id = ${reviewId} AND i.decision = 'REVOKE'
        AND ((i.remediation_task_id IS NULL AND i.remediation_error IS NULL) OR t.status IN ('PENDING', 'RUNNING'))`.execute(trx);
    if ((open.rows[0]?.n ?? 0) > 0) return null;
    const updated = await trx
      .updateTable('access_reviews')
      .set({ status: 'COMPLETED', remediated_at: sql`now()` })
      .where('id', '=', reviewId)
      .where('status', '=', 'COMPLETING')
      .returningAll()
      .executeTakeFirst();
    if (!updated) return null;
    const counts = await remediationCounts(trx, reviewId);
    await appendAudit(trx, {
      actor: REVIEW_SYSTEM_ACTOR,
      action: 'access_review.remediated',
      connectorId: updated.connector_id,
      details: { reviewId, name: updated.name, ...counts },
    });
    return updated;
  });
  if (done) publishReviewUpdated(bus, done);
  return done;
}

async function remediationCounts(db: Kysely<Database>, reviewId: string): Promise<{ remediated: number; remediationFailed: number }> {
  const r = await sql<{ ok: number; failed: number }>`
    SELECT count(*) FILTER (WHERE t.status = 'SUCCEEDED')::int AS ok,
           count(*) FILTER (WHERE t.status = 'FAILED' OR i.remediation_error IS NOT NULL)::int AS failed
    FROM access_review_items i LEFT JOIN provisioning_tasks t ON t.id = i.remediation_task_id
    WHERE i.review_id = ${reviewId} AND i.decision = 'REVOKE'`.execute(db);
  return { remediated: r.rows[0]?.ok ?? 0, remediationFailed: r.rows[0]?.failed ?? 0 };
}

/**
 * Tries failed remediations again (admins of the connector): each item gets a new attempt, hence a
 * new task key, and the review goes back to COMPLETING until the new revokes finished.
 */
export async function retryRemediations(db: Kysely<Database>, bus: Bus, actor: ReviewActor, reviewId: string): Promise<number> {
  await loadForAdmin(db, actor, reviewId, 'retrying remediation of');
  const { review, retried } = await db.transaction().execute(async (trx) => {
    const locked = await trx.selectFrom('access_reviews').selectAll().where('id', '=', reviewId).forUpdate().executeTakeFirstOrThrow();
    if (locked.status !== 'COMPLETED' && locked.status !== 'COMPLETING')
      throw new ReviewError('CONFLICT', `review '${locked.name}' is ${locked.status}: only a completed review has remediations`);
    const retried = await sql<{ id: string }>`
      UPDATE access_review_items i
      SET remediation_task_id = NULL, remediation_error = NULL, remediation_attempts = i.remediation_attempts + 1
      FROM access_review_items x LEFT JOIN provisioning_tasks t ON t.id = x.remediation_task_id
      WHERE x.id = i.id AND i.review_id = ${reviewId} AND i.decision = 'REVOKE'
        AND (t.status = 'FAILED' OR x.remediation_error IS NOT NULL)
      RETURNING i.id`.execute(trx);
    if (retried.rows.length === 0) return { review: locked, retried: 0 };
    const review = await trx
      .updateTable('access_reviews')
      .set({ status: 'COMPLETING', remediated_at: null })
      .where('id', '=', reviewId)
      .returningAll()
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      actor: actor.subject,
      action: 'access_review.remediation_retried',
      connectorId: review.connector_id,
      details: { ...(actor.oid ? { actorOid: actor.oid } : {}), reviewId, items: retried.rows.map((r) => r.id) },
    });
    return { review, retried: retried.rows.length };
  });
  if (retried > 0) {
    publishReviewUpdated(bus, review);
    await remediateReview(db, bus, reviewId, retried);
  }
  return retried;
}
