import type { NotificationChannel, OutgoingNotification } from '../channel';

/** The part of a pino logger the log channel needs. */
export interface InfoLogger {
  info(obj: object, msg: string): void;
}

/**
 * Writes each notification as one info line (`npm start` shows them in the pretty log). One
 * delivery per notification; it cannot fail except by the logger throwing.
 */
export class LogChannel implements NotificationChannel {
  readonly name = 'log';
  constructor(private readonly logger: InfoLogger) {}

  targets(): string[] {
    return ['log'];
  }

  async send(n: OutgoingNotification): Promise<void> {
    this.logger.info(
      {
        notificationId: n.id,
        kind: n.kind,
        link: n.link,
        recipients: n.recipients.map((r) => r.emails[0] ?? r.subject ?? r.resourceId),
      },
      `notification: ${n.title}`,
    );
  }
}
