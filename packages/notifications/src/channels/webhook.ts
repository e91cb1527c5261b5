import type { NotificationChannel, OutgoingNotification } from '../channel';
import { SIGNATURE_HEADER, signWebhook } from '../signature';

export interface WebhookChannelOptions {
  url: string;
  /** HMAC-SHA256 key of the signature. */
  secret: string;
  /** Per-request timeout (ms). */
  timeoutMs: number;
  /** Clock of the signature timestamp (tests). */
  now?: () => Date;
}

/** The JSON body of a webhook request. */
export interface WebhookPayload {
  /** The notification id, the same on every retry: receivers de-duplicate by it. */
  id: string;
  kind: string;
  title: string;
  text: string;
  link: string | null;
  createdAt: string;
  recipients: OutgoingNotification['recipients'];
  data: Record<string, unknown>;
}

export function webhookPayload(n: OutgoingNotification): WebhookPayload {
  return {
    id: n.id,
    kind: n.kind,
    title: n.title,
    text: n.text,
    link: n.link,
    createdAt: n.createdAt.toISOString(),
    recipients: n.recipients,
    data: n.data,
  };
}

/**
 * POSTs each notification once (all recipients in one request) as JSON, signed with
 * `X-Warden-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. A 2xx answer is
 * success; anything else (including a redirect, which is not followed so the signed body goes
 * nowhere else), a network error or the timeout fails the attempt with a message naming it.
 */
export class WebhookChannel implements NotificationChannel {
  readonly name = 'webhook';
  private readonly url: URL;
  /** The delivery address: the origin only, since a path or query may itself be a secret. */
  private readonly address: string;

  constructor(private readonly opts: WebhookChannelOptions) {
    this.url = new URL(opts.url);
    if (this.url.protocol !== 'https:' && this.url.protocol !== 'http:') throw new Error('the webhook URL must be http(s)');
    if (this.url.username || this.url.password) throw new Error('the webhook URL must not carry credentials; the signature authenticates');
    this.address = this.url.origin;
  }

  targets(): string[] {
    return [this.address];
  }

  async send(n: OutgoingNotification, _address: string, signal: AbortSignal): Promise<void> {
    const body = JSON.stringify(webhookPayload(n));
    const timestamp = Math.floor((this.opts.now?.() ?? new Date()).getTime() / 1000);
    const timeout = AbortSignal.timeout(this.opts.timeoutMs);
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'warden-notifications',
          [SIGNATURE_HEADER]: signWebhook(this.opts.secret, body, timestamp),
          'x-warden-notification-id': n.id,
        },
        body,
        signal: AbortSignal.any([signal, timeout]),
      });
    } catch (err) {
      if (timeout.aborted) throw new Error(`webhook timed out after ${this.opts.timeoutMs} ms`);
      if (signal.aborted) throw new Error('webhook request interrupted by shutdown');
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
      throw new Error(`webhook request failed${cause || (err instanceof Error ? `: ${err.message}` : '')}`);
    }
    if (res.status >= 200 && res.status < 300) {
      await res.body?.cancel().catch(() => undefined);
      return;
    }
    const text = (await res.text().catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, 200);
    throw new Error(`webhook answered ${res.status}${text ? `: ${text}` : ''}`);
  }
}
