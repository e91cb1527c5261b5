import type { Consumer, Loop } from './deps';
import { notificationDelivery } from './loops/notification-delivery';
import { REQUEST_CONSUMERS, REQUEST_LOOPS } from './requests/loops';
import { accessReviews } from './reviews/loop';

/**
 * THE registration point of the governance worker: every timer and bus consumer it runs. One line
 * per workflow module (issue 14 requests, issue 15 reviews); nothing else needs to change to add one.
 */
export const LOOPS: readonly Loop[] = [
  notificationDelivery,
  // access requests (issue 14): step deadlines and escalation, expiry notices, following the grants
  ...REQUEST_LOOPS,
  // access reviews (issue 15): dueAt completion, remediation, regrant verification, reminders
  accessReviews,
];

export const CONSUMERS: readonly Consumer[] = [...REQUEST_CONSUMERS];
