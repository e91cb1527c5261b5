import type { ResolvedRecipientJson } from '@warden/database';

/** A recipient with the addresses found for it (see recipients.ts for the rule). */
export type ResolvedRecipient = ResolvedRecipientJson;

/** A notification as a channel sends it. `id` is stable across retries: receivers de-duplicate by it. */
export interface OutgoingNotification {
  id: string;
  kind: string;
  title: string;
  text: string;
  link: string | null;
  data: Record<string, unknown>;
  createdAt: Date;
  recipients: ResolvedRecipient[];
}

/**
 * A way to deliver notifications (webhook, email, log). The worker asks each configured channel for
 * its targets once per notification, stores one delivery row per target, and calls `send` for each
 * until it succeeds or runs out of attempts. `send` throws to fail an attempt (the error message is
 * the delivery's last_error, so it must not contain a secret).
 */
export interface NotificationChannel {
  /** Stored in notification_deliveries.channel; unique among the configured channels. */
  readonly name: string;
  /** The addresses this notification goes to over this channel: one delivery each; [] = none. */
  targets(notification: OutgoingNotification): string[];
  send(notification: OutgoingNotification, address: string, signal: AbortSignal): Promise<void>;
  close?(): Promise<void>;
}
