import type { Kysely, Transaction } from 'kysely';
import type { Bus } from '@warden/bus';
import type { AccessRequestRow, Database } from '@warden/database';

/** Someone a notification is for: a platform user (token subject) or a synced Entra user. */
export interface NotificationRecipient {
  subject?: string;
  resourceId?: string;
}

/** What a transition asks to tell people (the shape of @warden/notifications' enqueueNotification). */
export interface NotificationInput {
  kind: string;
  recipients: NotificationRecipient[];
  title: string;
  text: string;
  link?: string;
  data?: Record<string, unknown>;
  /** The same key twice is one notification (a retried transition never notifies twice). */
  dedupeKey: string;
}

/**
 * Writes a notification into the outbox inside the transition's transaction (so a notification
 * exists exactly when the transition committed). The apps pass @warden/notifications'
 * enqueueNotification; this package does not import it, so the outbox can grow without touching
 * the rules.
 */
export type NotificationSink = (trx: Transaction<Database>, n: NotificationInput) => Promise<unknown>;

export interface RequestDeps {
  db: Kysely<Database>;
  bus: Bus;
  notify?: NotificationSink;
  /** The clock (tests move it); default: the real one. */
  now?: () => Date;
}

export function nowOf(deps: RequestDeps): Date {
  return deps.now ? deps.now() : new Date();
}

/** Publishes the request's new state after its transaction committed (live subscribers only). */
export function publishUpdated(deps: RequestDeps, row: AccessRequestRow): void {
  try {
    deps.bus.publishAccessRequestUpdated({
      v: 1,
      requestId: row.id,
      connectorId: row.connector_id,
      status: row.status,
      currentStep: row.current_step,
      at: new Date().toISOString(),
    });
  } catch {
    // A closed connection loses a live event only; the row is the truth and is re-read by readers.
  }
}
