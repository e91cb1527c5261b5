import { reviewTick } from '@warden/access-model';
import type { Loop } from '../deps';
import { sendReviewReminders } from './reminders';

/**
 * Access reviews (issue 15): completes reviews whose dueAt passed (a timer that survives restarts:
 * the state is in Postgres), requests and follows their revokes until COMPLETED, verifies revokes
 * against the next sync (regrants flagged), and sends reminders. Safe with several replicas.
 */
/** Batches of revokes this process requested (the crash tests' failpoint counts them). */
let requestedBatches = 0;

export const accessReviews: Loop = {
  name: 'access-reviews',
  intervalMs: (env) => env.REVIEW_INTERVAL_MS,
  async run(deps, now) {
    const hold = deps.env.REVIEW_TEST_HOLD_AFTER_REQUEST_MS;
    const afterRequest = hold
      ? async (itemIds: string[], taskIds: string[]) => {
          if (++requestedBatches <= (deps.env.REVIEW_TEST_HOLD_AFTER_BATCHES ?? 0)) return;
          deps.logger.warn(
            { items: itemIds.length, firstTaskId: taskIds[0], ms: hold },
            'test failpoint: holding after revokes were requested',
          );
          await new Promise((r) => setTimeout(r, hold));
        }
      : undefined;
    const tick = await reviewTick(deps.db, deps.bus, now, 500, afterRequest);
    if (tick.abandoned || tick.completed || tick.requested || tick.finished || tick.regranted) deps.logger.info(tick, 'access reviews');
    await sendReviewReminders(deps.db, now, {
      reminderBeforeMs: deps.env.REVIEW_REMINDER_BEFORE * 1000,
      escalateBeforeMs: deps.env.REVIEW_ESCALATE_BEFORE * 1000,
    });
  },
};
