import type { Consumer, Loop } from './deps';
import { notificationDelivery } from './loops/notification-delivery';
import { REQUEST_CONSUMERS, REQUEST_LOOPS } from './requests/loops';

/**
 * THE registration point of the governance worker: every timer and bus consumer it runs. One line
 * per workflow module (issue 14 requests, issue 15 reviews); nothing else needs to change to add one.
 */
export const LOOPS: readonly Loop[] = [
  notificationDelivery,
  ...REQUEST_LOOPS,
  // access reviews (issue 15): ...
];

export const CONSUMERS: readonly Consumer[] = [...REQUEST_CONSUMERS];
