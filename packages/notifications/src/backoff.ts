/**
 * A small seeded generator (mulberry32): retry jitter must be reproducible in a test that prints
 * and sets its seed, and needs nothing stronger.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BackoffOptions {
  /** Delay after the first failed attempt (before jitter). */
  baseMs: number;
  /** Upper bound of any delay. */
  maxMs: number;
}

/**
 * The wait after failed attempt number `attempt` (1-based): base·2^(attempt−1), capped, then
 * "equal jitter" — a uniform value in [delay/2, delay] — so replicas retrying the same receiver spread out.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number): number {
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.round(exp / 2 + random() * (exp / 2));
}
