import { z } from 'zod';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** '72h', '30m', '45s', '2d', '500ms' or a number of seconds → milliseconds; null when unreadable. */
export function parseDurationMs(value: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (!m) return null;
  const ms = Number(m[1]) * UNIT_MS[m[2] ?? 's']!;
  return Number.isFinite(ms) && ms > 0 ? Math.round(ms) : null;
}

const duration = (fallback: string) =>
  z
    .union([z.string(), z.number()])
    .default(fallback)
    .transform((v, ctx) => {
      const ms = parseDurationMs(String(v));
      if (ms === null) {
        ctx.addIssue({ code: 'custom', message: "must be a duration such as '72h', '30m', '45s' or a number of seconds" });
        return z.NEVER;
      }
      return ms;
    });

/** The access-request timers' variables (spread into the worker's environment schema); → milliseconds. */
export const requestsEnvironment = {
  /** An approval step with no decision this long after it began is escalated once to its fallback; as long again, the request is DENIED. */
  APPROVAL_STEP_TIMEOUT: duration('72h'),
  /** How long before time-bound access ends its holder and requester are told. */
  ACCESS_EXPIRY_NOTICE: duration('24h'),
  /** How often approved and active requests are followed to their grant's outcome and expiry (backstop of the task-event consumer). */
  ACCESS_REQUEST_FOLLOW_INTERVAL: duration('5s'),
  /** How often step deadlines and expiry notices are checked. */
  ACCESS_REQUEST_TIMER_INTERVAL: duration('60s'),
};
