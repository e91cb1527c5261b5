import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header that carries the webhook signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = 'x-warden-signature';

/** HMAC-SHA256 with `secret` over `<t>.<body>`, hex. */
export function signatureOf(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The X-Warden-Signature value for `body` sent at `timestamp` (unix seconds). */
export function signWebhook(secret: string, body: string, timestamp: number): string {
  return `t=${timestamp},v1=${signatureOf(secret, timestamp, body)}`;
}

export type WebhookVerification = { ok: true; timestamp: number } | { ok: false; reason: string };

/**
 * What a receiver does with a webhook request (exported for receivers written in TypeScript and for
 * the tests; the README describes it for any language): parse `t` and every `v1` from the header,
 * refuse a timestamp more than `toleranceSeconds` from now (a replayed old request), and accept when
 * one `v1` equals HMAC-SHA256(secret, `<t>.<raw body>`) compared in constant time. Every refusal
 * says why, so a receiver can log it (answer 401 and let the sender retry).
 */
export function verifyWebhook(opts: {
  secret: string;
  header: string | undefined | null;
  body: string;
  now?: Date;
  toleranceSeconds?: number;
}): WebhookVerification {
  if (!opts.header) return { ok: false, reason: `missing ${SIGNATURE_HEADER} header` };
  let timestamp: number | null = null;
  const signatures: string[] = [];
  for (const part of opts.header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d+$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) signatures.push(value.toLowerCase());
  }
  if (timestamp === null) return { ok: false, reason: 'signature header has no valid t=<unix seconds>' };
  if (signatures.length === 0) return { ok: false, reason: 'signature header has no valid v1=<hex>' };
  const now = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  const tolerance = opts.toleranceSeconds ?? 300;
  if (Math.abs(now - timestamp) > tolerance) return { ok: false, reason: `timestamp is more than ${tolerance}s from now` };
  const expected = Buffer.from(signatureOf(opts.secret, timestamp, opts.body), 'hex');
  const match = signatures.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected));
  return match ? { ok: true, timestamp } : { ok: false, reason: 'signature does not match the body' };
}
