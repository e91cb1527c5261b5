import type { Loop } from '../deps';

/** Delivers the notification outbox (see @warden/notifications NotificationDispatcher). */
export const notificationDelivery: Loop = {
  name: 'notification-delivery',
  intervalMs: (env) => env.NOTIFY_POLL_INTERVAL_MS,
  async run(deps, now) {
    await deps.notifications.runOnce(now, deps.signal);
  },
};
