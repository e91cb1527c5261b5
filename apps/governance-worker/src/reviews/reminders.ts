import { sql, type Kysely, type Transaction } from 'kysely';
import { pendingReviewers } from '@warden/access-model';
import type { Database } from '@warden/database';
import { enqueueNotification } from '@warden/notifications';

export type ReminderPhase = 'started' | 'reminder' | 'escalated';

const COLUMN = { started: 'reminded_start_at', reminder: 'reminded_due_at', escalated: 'escalated_at' } as const;

export interface ReminderTiming {
  /** The reminder goes out this long before dueAt (REVIEW_REMINDER_BEFORE). */
  reminderBeforeMs: number;
  /** The escalation goes out this long before dueAt (REVIEW_ESCALATE_BEFORE). */
  escalateBeforeMs: number;
}

/**
 * Reminders of ACTIVE reviews: reviewers with undecided items are told when the review starts, at
 * `reminderBeforeMs` before dueAt, and at escalation (`escalateBeforeMs` before dueAt; then the
 * review's fallback subjects and the connector's owners are told too). One notification per
 * reviewer and phase, enqueued (outbox) in the transaction that marks the phase done on the review,
 * under a dedupe key naming review, phase and reviewer: a restart, a replica or a repeated pass
 * sends nothing twice. Returns the notifications enqueued.
 */
export async function sendReviewReminders(db: Kysely<Database>, now: Date, timing: ReminderTiming): Promise<number> {
  let sent = 0;
  for (const phase of ['started', 'reminder', 'escalated'] as const) {
    const column = COLUMN[phase];
    const dueBy =
      phase === 'started' ? null : new Date(now.getTime() + (phase === 'reminder' ? timing.reminderBeforeMs : timing.escalateBeforeMs));
    for (;;) {
      const claimed = await db.transaction().execute(async (trx) => {
        let q = trx
          .selectFrom('access_reviews as r')
          .innerJoin('connectors as c', 'c.id', 'r.connector_id')
          .select(['r.id', 'r.name', 'r.due_at', 'r.fallback_subjects', 'c.owners', 'c.display_name'])
          .where('r.status', '=', 'ACTIVE')
          .where(column, 'is', null)
          .where('r.due_at', '>', now);
        if (dueBy) q = q.where('r.due_at', '<=', dueBy);
        const review = await q.orderBy('r.due_at').limit(1).forUpdate('r').skipLocked().executeTakeFirst();
        if (!review) return null;
        const n = await notify(trx, review, phase);
        await trx
          .updateTable('access_reviews')
          .set({ [column]: now })
          .where('id', '=', review.id)
          .execute();
        // A review created close to its dueAt skips the phases already behind it.
        if (phase === 'started') await skipPassed(trx, review.id, now, timing);
        return n;
      });
      if (claimed === null) break;
      sent += claimed;
    }
  }
  return sent;
}

async function skipPassed(trx: Transaction<Database>, reviewId: string, now: Date, timing: ReminderTiming): Promise<void> {
  await sql`
    UPDATE access_reviews SET
      reminded_due_at = CASE WHEN due_at - ${timing.reminderBeforeMs} * interval '1 millisecond' <= ${now} AND reminded_due_at IS NULL
                        THEN ${now} ELSE reminded_due_at END
    WHERE id = ${reviewId}`.execute(trx);
}

async function notify(
  trx: Transaction<Database>,
  review: { id: string; name: string; due_at: Date; fallback_subjects: string[]; owners: string[]; display_name: string },
  phase: ReminderPhase,
): Promise<number> {
  const reviewers = await pendingReviewers(trx, review.id);
  const due = review.due_at.toISOString();
  const kind = phase === 'started' ? 'review.started' : phase === 'reminder' ? 'review.reminder' : 'review.escalated';
  let n = 0;
  for (const r of reviewers) {
    const who = r.subject ? `s:${r.subject}` : `r:${r.resourceId}`;
    const title =
      phase === 'started'
        ? `Access review '${review.name}': ${r.pending} item${r.pending === 1 ? '' : 's'} to review`
        : phase === 'reminder'
          ? `Reminder: access review '${review.name}' is due ${due}`
          : `Escalation: access review '${review.name}' is due ${due} with items undecided`;
    const ok = await enqueueNotification(trx, {
      kind,
      recipients: [{ subject: r.subject, resourceId: r.resourceId }],
      title,
      text: `You have ${r.pending} undecided item${r.pending === 1 ? '' : 's'} in the access review '${review.name}' of connector '${review.display_name}', due ${due}. Undecided items get the review's default when it completes.`,
      data: { reviewId: review.id, pending: r.pending, dueAt: due, phase },
      dedupeKey: `access-review:${review.id}:${phase}:${who}`,
    });
    if (ok) n++;
  }
  if (phase === 'escalated' && reviewers.length > 0) {
    const pending = reviewers.reduce((s, r) => s + r.pending, 0);
    const escalateTo = [...new Set([...review.fallback_subjects, ...review.owners])];
    const ok = await enqueueNotification(trx, {
      kind,
      recipients: escalateTo.map((subject) => ({ subject })),
      title: `Escalation: access review '${review.name}' has undecided items`,
      text: `${reviewers.length} reviewer${reviewers.length === 1 ? '' : 's'} still have undecided items in the access review '${review.name}' of connector '${review.display_name}', due ${due}. As fallback reviewer or owner of the connector you may decide them.`,
      data: { reviewId: review.id, reviewers: reviewers.length, pending, dueAt: due, phase },
      dedupeKey: `access-review:${review.id}:escalated:owners`,
    });
    if (ok) n++;
  }
  return n;
}
