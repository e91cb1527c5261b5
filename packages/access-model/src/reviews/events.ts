import type { Bus } from '@warden/bus';
import type { AccessReviewStatus } from '@warden/database';

/** Tells every gateway (Subscription.accessReviewUpdated) that the review changed; subscribers re-read it. */
export function publishReviewUpdated(bus: Bus, review: { id: string; connector_id: string; status: AccessReviewStatus }): void {
  bus.publishAccessReviewUpdated({
    v: 1,
    reviewId: review.id,
    connectorId: review.connector_id,
    status: review.status,
    at: new Date().toISOString(),
  });
}
