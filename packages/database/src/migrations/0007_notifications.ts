import { sql, type Kysely } from 'kysely';

// Notifications (issue 14), an outbox:
// - notifications: one row per thing someone must learn, written by @warden/notifications'
//   enqueueNotification inside the transaction of the state change it announces (so it exists iff
//   that change committed). dedupe_key is unique: a timer that runs twice enqueues once.
//   status PENDING → SENT (every delivery sent) or DEAD (a delivery gave up). expanded_at is set
//   when the governance worker has resolved the recipients (resolved_recipients) and created one
//   delivery row per channel and address.
// - notification_deliveries: one row per (notification, channel, address); the unit that is claimed,
//   retried with backoff and, after the last attempt, left DEAD with its last_error (the dead-letter
//   record).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE notifications (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      kind text NOT NULL,
      dedupe_key text NOT NULL UNIQUE,
      recipients jsonb NOT NULL DEFAULT '[]',
      resolved_recipients jsonb,
      title text NOT NULL,
      text text NOT NULL,
      link text,
      data jsonb NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now(),
      status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SENT', 'DEAD')),
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      expanded_at timestamptz,
      last_error text,
      sent_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX notifications_to_expand ON notifications (next_attempt_at) WHERE expanded_at IS NULL`.execute(db);
  await sql`CREATE INDEX notifications_kind_created ON notifications (kind, created_at)`.execute(db);
  await sql`
    CREATE TABLE notification_deliveries (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      notification_id uuid NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
      channel text NOT NULL,
      address text NOT NULL,
      status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SENT', 'DEAD')),
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      last_error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      sent_at timestamptz,
      UNIQUE (notification_id, channel, address)
    )`.execute(db);
  await sql`CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE status = 'PENDING'`.execute(db);
  await sql`CREATE INDEX notification_deliveries_dead ON notification_deliveries (created_at) WHERE status = 'DEAD'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS notification_deliveries`.execute(db);
  await sql`DROP TABLE IF EXISTS notifications`.execute(db);
}
