import type { Consumer, Loop } from './deps';
import { notificationDelivery } from './loops/notification-delivery';

/**
 * THE registration point of the governance worker: every timer and bus consumer it runs. One line
 * per workflow module (issue 14 requests, issue 15 reviews); nothing else needs to change to add one.
 */
export const LOOPS: readonly Loop[] = [
  notificationDelivery,
  // access requests (issue 14): ...
  // access reviews (issue 15): ...
];

export const CONSUMERS: readonly Consumer[] = [
  // e.g. provisioning-task events for access requests (issue 14)
];
