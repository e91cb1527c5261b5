import { createTransport } from 'nodemailer';
import type { NotificationChannel, OutgoingNotification } from '../channel';

export interface EmailChannelOptions {
  /** nodemailer SMTP transport URL: smtp://[user:pass@]host:port or smtps://… */
  smtpUrl: string;
  from: string;
  /** Connection, greeting and socket timeout (ms). */
  timeoutMs?: number;
}

/**
 * One email per address (recipients never see each other), plain text plus a simple HTML part,
 * over SMTP with nodemailer. The address list is the recipients' resolved emails; a recipient
 * without one gets no email.
 */
export class EmailChannel implements NotificationChannel {
  readonly name = 'email';
  private readonly transport: ReturnType<typeof createTransport>;
  private readonly password: string;

  constructor(private readonly opts: EmailChannelOptions) {
    const timeout = opts.timeoutMs ?? 30_000;
    this.password = decodeURIComponent(new URL(opts.smtpUrl).password);
    this.transport = createTransport({ url: opts.smtpUrl, connectionTimeout: timeout, greetingTimeout: timeout, socketTimeout: timeout });
  }

  targets(n: OutgoingNotification): string[] {
    const seen = new Map<string, string>();
    for (const r of n.recipients) for (const e of r.emails) if (!seen.has(e.toLowerCase())) seen.set(e.toLowerCase(), e);
    return [...seen.values()];
  }

  async send(n: OutgoingNotification, address: string): Promise<void> {
    const text = n.link ? `${n.text}\n\n${n.link}\n` : `${n.text}\n`;
    const html =
      `<p>${escapeHtml(n.text).replace(/\n/g, '<br>')}</p>` +
      (n.link ? `<p><a href="${escapeHtml(n.link)}">${escapeHtml(n.link)}</a></p>` : '');
    try {
      await this.transport.sendMail({
        from: this.opts.from,
        to: address,
        subject: n.title,
        text,
        html,
        headers: { 'X-Warden-Notification-Id': n.id, 'X-Warden-Notification-Kind': n.kind },
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // The message becomes last_error (stored, logged): never with the SMTP password in it.
      throw new Error(`email to ${address} failed: ${this.password ? message.split(this.password).join('[redacted]') : message}`);
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
