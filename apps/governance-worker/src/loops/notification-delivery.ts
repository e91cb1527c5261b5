import type { Loop, WorkerDeps } from '../deps';

const DAY_MS = 86_400_000;
const PURGE_EVERY_MS = 3_600_000;
/** When each worker last purged (in memory: losing it on restart only means one purge more). */
const lastPurge = new WeakMap<WorkerDeps, number>();

/**
 * Delivers the notification outbox (see @warden/notifications NotificationDispatcher) and, once an
 * hour, deletes SENT notifications older than NOTIFY_RETENTION_DAYS (DEAD ones stay: the
 * dead-letter record).
 */
export const notificationDelivery: Loop = {
  name: 'notification-delivery',
  intervalMs: (env) => env.NOTIFY_POLL_INTERVAL_MS,
  async run(deps, now) {
    await deps.notifications.runOnce(now, deps.signal);
    const last = lastPurge.get(deps);
    if (last === undefined || now.getTime() - last >= PURGE_EVERY_MS) {
      lastPurge.set(deps, now.getTime());
      await purgeOldNotifications(deps, now);
    }
  },
};

export async function purgeOldNotifications(deps: WorkerDeps, now: Date): Promise<number> {
  const before = new Date(now.getTime() - deps.env.NOTIFY_RETENTION_DAYS * DAY_MS);
  let deleted = 0;
  for (;;) {
    const n = await deps.notifications.purgeSent(before);
    deleted += n;
    if (n < 1_000 || deps.signal.aborted) break;
  }
  if (deleted > 0) deps.logger.info({ deleted, before }, 'old sent notifications deleted');
  return deleted;
}
