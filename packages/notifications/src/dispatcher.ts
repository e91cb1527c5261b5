import { sql, type Kysely } from 'kysely';
import type { Database, NotificationDeliveryRow, NotificationRow } from '@warden/database';
import { backoffDelay, type BackoffOptions } from './backoff';
import type { NotificationChannel, OutgoingNotification } from './channel';
import { resolveRecipients } from './recipients';

/** The part of a pino logger the dispatcher writes to. */
export interface DispatchLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export type DeliveryOutcome = 'sent' | 'retry' | 'dead';

export interface DispatcherOptions {
  db: Kysely<Database>;
  channels: NotificationChannel[];
  logger: DispatchLogger;
  /** Attempts per delivery before it is DEAD (the dead-letter record). */
  maxAttempts: number;
  backoff: BackoffOptions;
  /** Jitter source; seed it (seededRandom) where a test depends on the delays. */
  random: () => number;
  /** Rows claimed per pass (notifications to expand, deliveries to send). */
  batchSize?: number;
  /**
   * How long a claimed delivery is reserved for the replica that claimed it. A replica that dies
   * while sending leaves it for another after this long (the receiver then sees the id twice and
   * de-duplicates); it must exceed the longest send (the webhook timeout).
   */
  leaseMs?: number;
  /** Called once per finished attempt (metrics). */
  onAttempt?: (channel: string, outcome: DeliveryOutcome) => void;
}

/** What one pass did. */
export interface DispatchResult {
  expanded: number;
  sent: number;
  retried: number;
  dead: number;
}

/**
 * Delivers the outbox: resolves the recipients of new notifications into one delivery row per
 * channel and address, then sends due deliveries, retrying with exponential backoff + jitter until
 * `maxAttempts`, after which the delivery is DEAD with its last error. Every claim is a row lock
 * taken with SKIP LOCKED, so any number of replicas share the work and each attempt is made by one
 * of them; all state is in Postgres, so a restart continues where it stopped.
 */
export class NotificationDispatcher {
  private readonly byName: Map<string, NotificationChannel>;
  private readonly batchSize: number;
  private readonly leaseMs: number;

  constructor(private readonly opts: DispatcherOptions) {
    this.byName = new Map(opts.channels.map((c) => [c.name, c]));
    if (this.byName.size !== opts.channels.length) throw new Error('notification channel names must be unique');
    this.batchSize = opts.batchSize ?? 50;
    this.leaseMs = opts.leaseMs ?? 120_000;
  }

  get channelNames(): string[] {
    return [...this.byName.keys()];
  }

  /** Expands new notifications, then sends what is due, until nothing is due now or `signal` aborts. */
  async runOnce(now: Date, signal: AbortSignal = new AbortController().signal): Promise<DispatchResult> {
    const total: DispatchResult = { expanded: 0, sent: 0, retried: 0, dead: 0 };
    if (this.byName.size === 0) return total; // kept PENDING until a channel is configured
    for (;;) {
      if (signal.aborted) break;
      const expanded = await this.expandDue(now);
      total.expanded += expanded;
      if (expanded < this.batchSize) break;
    }
    for (;;) {
      if (signal.aborted) break;
      const r = await this.deliverDue(now, signal);
      total.sent += r.sent;
      total.retried += r.retried;
      total.dead += r.dead;
      if (r.claimed < this.batchSize) break;
    }
    return total;
  }

  /** Resolves recipients and creates the delivery rows of up to batchSize new notifications. */
  async expandDue(now: Date): Promise<number> {
    return this.opts.db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('notifications')
        .selectAll()
        .where('expanded_at', 'is', null)
        .where('status', '=', 'PENDING')
        // next_attempt_at defaults to the database's now() at enqueue; the database clock counts
        // too, so a notification is never held back by the worker's clock being a little behind.
        .where('next_attempt_at', '<=', sql<Date>`greatest(${now}::timestamptz, now())`)
        .orderBy('next_attempt_at')
        .limit(this.batchSize)
        .forUpdate()
        .skipLocked()
        .execute();
      for (const row of rows) {
        const recipients = await resolveRecipients(trx, row.recipients);
        const outgoing = toOutgoing(row, recipients);
        const targets = [...this.byName.values()].flatMap((ch) => [...new Set(ch.targets(outgoing))].map((address) => ({ ch, address })));
        if (targets.length > 0) {
          await trx
            .insertInto('notification_deliveries')
            .values(targets.map((t) => ({ notification_id: row.id, channel: t.ch.name, address: t.address, next_attempt_at: now })))
            .onConflict((oc) => oc.columns(['notification_id', 'channel', 'address']).doNothing())
            .execute();
        }
        const noTarget =
          targets.length === 0 ? `no configured channel (${this.channelNames.join(', ')}) has an address for any recipient` : null;
        await trx
          .updateTable('notifications')
          .set({
            resolved_recipients: JSON.stringify(recipients),
            expanded_at: now,
            ...(noTarget ? { status: 'DEAD', last_error: noTarget } : {}),
          })
          .where('id', '=', row.id)
          .execute();
        if (noTarget) this.opts.logger.error({ notificationId: row.id, kind: row.kind }, `notification dead: ${noTarget}`);
      }
      return rows.length;
    });
  }

  /** Claims up to batchSize due deliveries (one attempt each), sends them and records the outcome. */
  async deliverDue(now: Date, signal: AbortSignal): Promise<{ claimed: number; sent: number; retried: number; dead: number }> {
    const channels = this.channelNames;
    const claimed = await this.opts.db
      .updateTable('notification_deliveries')
      .set((eb) => ({ attempts: eb('attempts', '+', 1), next_attempt_at: new Date(now.getTime() + this.leaseMs) }))
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('notification_deliveries')
          .select('id')
          .where('status', '=', 'PENDING')
          .where('next_attempt_at', '<=', now)
          .where('channel', 'in', channels)
          .orderBy('next_attempt_at')
          .limit(this.batchSize)
          .forUpdate()
          .skipLocked(),
      )
      .returningAll()
      .execute();
    const result = { claimed: claimed.length, sent: 0, retried: 0, dead: 0 };
    if (claimed.length === 0) return result;
    const ids = [...new Set(claimed.map((d) => d.notification_id))];
    const rows = await this.opts.db.selectFrom('notifications').selectAll().where('id', 'in', ids).execute();
    const notifications = new Map(rows.map((r) => [r.id, toOutgoing(r, r.resolved_recipients ?? [])]));
    const outcomes = await Promise.all(claimed.map((d) => this.attempt(d, notifications.get(d.notification_id), now, signal)));
    for (const o of outcomes) {
      if (o === 'sent') result.sent++;
      else if (o === 'retry') result.retried++;
      else result.dead++;
    }
    // After the deliveries' own commits, so the last replica to finish a notification sees all of them.
    await this.finish(ids, now);
    return result;
  }

  private async attempt(
    d: NotificationDeliveryRow,
    n: OutgoingNotification | undefined,
    now: Date,
    signal: AbortSignal,
  ): Promise<DeliveryOutcome> {
    const channel = this.byName.get(d.channel);
    let error: string | null = null;
    if (!channel || !n) error = !n ? 'the notification no longer exists' : `channel ${d.channel} is not configured`;
    else {
      try {
        await channel.send(n, d.address, signal);
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
    }
    const log = { notificationId: d.notification_id, deliveryId: d.id, channel: d.channel, attempt: d.attempts };
    let outcome: DeliveryOutcome;
    if (error === null) {
      outcome = 'sent';
      await this.opts.db
        .updateTable('notification_deliveries')
        .set({ status: 'SENT', sent_at: now, last_error: null })
        .where('id', '=', d.id)
        .where('status', '=', 'PENDING')
        .where('attempts', '=', d.attempts) // our claim still stands (no other replica took it over after the lease)
        .execute();
    } else if (d.attempts >= this.opts.maxAttempts) {
      outcome = 'dead';
      await this.opts.db
        .updateTable('notification_deliveries')
        .set({ status: 'DEAD', last_error: error })
        .where('id', '=', d.id)
        .where('status', '=', 'PENDING')
        .where('attempts', '=', d.attempts)
        .execute();
      this.opts.logger.error({ ...log, error }, `notification delivery dead after ${d.attempts} attempts`);
    } else {
      outcome = 'retry';
      const delay = backoffDelay(d.attempts, this.opts.backoff, this.opts.random);
      await this.opts.db
        .updateTable('notification_deliveries')
        .set({ last_error: error, next_attempt_at: new Date(now.getTime() + delay) })
        .where('id', '=', d.id)
        .where('status', '=', 'PENDING')
        .where('attempts', '=', d.attempts)
        .execute();
      this.opts.logger.warn({ ...log, error, retryInMs: delay }, 'notification delivery failed; will retry');
    }
    this.opts.onAttempt?.(d.channel, outcome);
    return outcome;
  }

  /** PENDING → SENT / DEAD once no delivery of the notification is pending; attempts and last error summed up. */
  private async finish(ids: string[], now: Date): Promise<void> {
    await sql`
      UPDATE notifications n SET
        status = CASE WHEN EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.notification_id = n.id AND d.status = 'DEAD')
                      THEN 'DEAD' ELSE 'SENT' END,
        sent_at = CASE WHEN EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.notification_id = n.id AND d.status = 'SENT')
                       THEN ${now}::timestamptz END,
        attempts = (SELECT coalesce(max(d.attempts), 0) FROM notification_deliveries d WHERE d.notification_id = n.id),
        last_error = (SELECT d.last_error FROM notification_deliveries d
                      WHERE d.notification_id = n.id AND d.status = 'DEAD' ORDER BY d.channel, d.address LIMIT 1)
      -- Locked in id order: replicas finishing overlapping sets cannot deadlock.
      WHERE n.id IN (SELECT id FROM notifications WHERE id = ANY(${ids}::uuid[]) ORDER BY id FOR UPDATE)
        AND n.status = 'PENDING' AND n.expanded_at IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.notification_id = n.id AND d.status = 'PENDING')`.execute(
      this.opts.db,
    );
  }

  /**
   * Deletes SENT notifications (and their deliveries) created before `before`, up to `limit` rows;
   * returns how many. DEAD ones stay: they are the dead-letter record, removed by an operator. Once
   * deleted, a notification's dedupeKey may be enqueued again.
   */
  async purgeSent(before: Date, limit = 1_000): Promise<number> {
    const result = await sql`
      DELETE FROM notifications WHERE id IN (
        SELECT id FROM notifications WHERE status = 'SENT' AND created_at < ${before}
        ORDER BY created_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)`.execute(this.opts.db);
    return Number(result.numAffectedRows ?? 0);
  }

  async close(): Promise<void> {
    for (const c of this.byName.values()) await c.close?.();
  }
}

function toOutgoing(row: NotificationRow, recipients: OutgoingNotification['recipients']): OutgoingNotification {
  return {
    id: row.id,
    kind: row.kind,
    title: row.title,
    text: row.text,
    link: row.link,
    data: row.data,
    createdAt: row.created_at,
    recipients,
  };
}
