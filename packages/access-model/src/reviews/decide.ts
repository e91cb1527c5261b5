import { sql, type Kysely } from 'kysely';
import type { Bus } from '@warden/bus';
import { REVIEW_DECISIONS, type AccessReviewItemRow, type Database, type ReviewDecision } from '@warden/database';
import { appendAuditMany } from '../audit';
import { actorOidIn, isConnectorAdmin, isUuid, ReviewError, type ReviewActor } from './errors';
import { publishReviewUpdated } from './events';

/** Items one call may decide (a reviewer's page of decisions). */
export const MAX_DECISIONS_PER_CALL = 1_000;

/** Why `actor` may not decide this item, or null when it may. */
export function reviewDecisionRefusal(
  actor: ReviewActor,
  item: { principal_external_id: string; reviewer_oids: string[]; reviewer_subjects: string[] },
  connector: { owners: string[]; tenant_id: string | null; consented_tenant_id: string | null },
): string | null {
  const oid = actorOidIn(actor, connector);
  if (oid !== null && item.principal_external_id === oid) return 'nobody decides their own access';
  if (isConnectorAdmin(actor, connector)) return null;
  if (item.reviewer_subjects.includes(actor.subject)) return null;
  if (oid !== null && item.reviewer_oids.includes(oid)) return null;
  return 'you are not a reviewer of this item';
}

/**
 * Records one decision on many items, all or nothing: if the caller may not decide one of them
 * (not its reviewer nor an admin of the connector, or the item is the caller's own access) nothing
 * changes (FORBIDDEN); a review that is not ACTIVE is CONFLICT. Every decision is audited.
 */
export async function decideReviewItems(
  db: Kysely<Database>,
  bus: Bus,
  actor: ReviewActor,
  itemIds: readonly string[],
  decision: ReviewDecision,
  comment?: string | null,
): Promise<AccessReviewItemRow[]> {
  if (!REVIEW_DECISIONS.includes(decision)) throw new ReviewError('BAD_USER_INPUT', `unknown decision ${String(decision)}`);
  const ids = [...new Set(itemIds)];
  if (ids.length === 0) throw new ReviewError('BAD_USER_INPUT', 'itemIds must name at least one item');
  if (ids.length > MAX_DECISIONS_PER_CALL) throw new ReviewError('BAD_USER_INPUT', `at most ${MAX_DECISIONS_PER_CALL} items per call`);
  const badId = ids.find((id) => !isUuid(id));
  if (badId) throw new ReviewError('NOT_FOUND', `review item ${badId} does not exist`);
  const text = comment?.trim() ? comment.trim() : null;
  if (text && text.length > 2_000) throw new ReviewError('BAD_USER_INPUT', 'comment may be at most 2000 characters');

  const { rows, reviews } = await db.transaction().execute(async (trx) => {
    // Locked in id order, so two overlapping batches cannot deadlock.
    const found = await trx
      .selectFrom('access_review_items as i')
      .innerJoin('access_reviews as r', 'r.id', 'i.review_id')
      .innerJoin('connectors as c', 'c.id', 'r.connector_id')
      .select([
        'i.id',
        'i.review_id',
        'i.principal_external_id',
        'i.entitlement_key',
        'i.reviewer_oids',
        'i.reviewer_subjects',
        'i.decision',
        'r.status',
        'r.name',
        'r.connector_id',
        'c.owners',
        'c.tenant_id',
        'c.consented_tenant_id',
      ])
      .where('i.id', 'in', ids)
      .orderBy('i.id')
      .forUpdate('i')
      .execute();
    if (found.length !== ids.length) {
      const known = new Set(found.map((f) => f.id));
      throw new ReviewError('NOT_FOUND', `review item ${ids.find((id) => !known.has(id))} does not exist`);
    }
    for (const item of found) {
      const refusal = reviewDecisionRefusal(actor, item, item);
      if (refusal) throw new ReviewError('FORBIDDEN', `${refusal} (item ${item.id}); nothing was decided`);
    }
    const closed = found.find((f) => f.status !== 'ACTIVE');
    if (closed) throw new ReviewError('CONFLICT', `review '${closed.name}' is ${closed.status}: decisions change only while it is ACTIVE`);

    const oidByConnector = new Map(found.map((f) => [f.connector_id, actorOidIn(actor, f)]));
    const updated = await trx
      .updateTable('access_review_items as i')
      .set({
        decision,
        decided_by: actor.subject,
        decided_by_oid: actor.oid ?? null,
        comment: text,
        decided_at: sql`now()`,
      })
      .where('i.id', 'in', ids)
      .returningAll()
      .execute();
    const previous = new Map(found.map((f) => [f.id, f]));
    await appendAuditMany(
      trx,
      updated.map((u) => ({
        actor: actor.subject,
        action: 'access_review.decided',
        connectorId: u.connector_id,
        details: {
          ...(oidByConnector.get(u.connector_id) ? { actorOid: oidByConnector.get(u.connector_id) } : {}),
          reviewId: u.review_id,
          itemId: u.id,
          entitlementKey: u.entitlement_key,
          principalExternalId: u.principal_external_id,
          decision,
          previous: previous.get(u.id)?.decision ?? null,
          comment: text,
        },
      })),
    );
    const reviews = new Map(found.map((f) => [f.review_id, { id: f.review_id, connector_id: f.connector_id, status: f.status }]));
    return { rows: updated, reviews: [...reviews.values()] };
  });
  for (const r of reviews) publishReviewUpdated(bus, r);
  const order = new Map(ids.map((id, i) => [id, i]));
  return rows.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
}
