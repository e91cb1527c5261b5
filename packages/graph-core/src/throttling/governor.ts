/**
 * One governor per (authority, tenant, app, Graph root), shared by every request of the process.
 *
 * Graph throttles identity requests with a resource-unit token bucket per app+tenant and a separate
 * write quota. Instead of discovering the limit by hitting it, the governor keeps its own bucket sized
 * just under the documented budget and spends each request's estimated cost before sending it, so the
 * client runs near the budget without tripping it. The server's answers correct it: the real cost in
 * `x-ms-resource-unit`, the usage in `x-ms-throttle-limit-percentage`, and on a 429 the whole scope
 * pauses for `Retry-After` while concurrency halves (AIMD), growing back by one per window of successes.
 */
export interface GovernorOptions {
  ruPer10s: number;
  writesPer150s: number;
  maxConcurrency: number;
  /** Share of the budget the bucket aims for; the rest absorbs estimation error and other clients. */
  targetShare?: number;
}

class Bucket {
  private tokens: number;
  private last = Date.now();

  constructor(
    private readonly capacity: number,
    private readonly perMs: number,
  ) {
    this.tokens = capacity;
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) * this.perMs);
    this.last = now;
  }

  /** Milliseconds until `cost` is available. */
  waitFor(cost: number): number {
    this.refill();
    const need = Math.min(cost, this.capacity);
    return this.tokens >= need ? 0 : Math.ceil((need - this.tokens) / this.perMs);
  }

  take(cost: number): void {
    this.tokens -= cost;
  }

  /** Budget taken for a request that was then not sent. */
  give(cost: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + cost);
  }

  /** The server says usage is at `share` of the limit: don't believe we have more left than that. */
  clampToServerUsage(share: number): void {
    this.refill();
    this.tokens = Math.min(this.tokens, this.capacity * Math.max(0, 1 - share));
  }

  drain(): void {
    this.tokens = Math.min(this.tokens, 0);
  }
}

export interface Permit {
  cost: number;
  write: boolean;
  /** When the request was let through: tells which congestion event a later 429 belongs to. */
  sentAt: number;
}

export class ThrottleGovernor {
  private readonly ru: Bucket;
  private readonly writes: Bucket;
  private limit: number;
  private inFlight = 0;
  private pausedUntil = 0;
  private lastCutAt = 0;
  private readonly waiters: Array<() => void> = [];
  /** Waiters for a slot whose caller's next step depends on this answer (pages, delta rounds): served first. */
  private readonly chainWaiters: Array<() => void> = [];
  private readonly maxConcurrency: number;

  constructor(opts: GovernorOptions) {
    const share = opts.targetShare ?? 0.95;
    const ruCap = opts.ruPer10s * share;
    this.ru = new Bucket(ruCap, ruCap / 10_000);
    const wCap = opts.writesPer150s * share;
    this.writes = new Bucket(wCap, wCap / 150_000);
    this.maxConcurrency = Math.max(1, opts.maxConcurrency);
    this.limit = this.maxConcurrency;
  }

  get concurrencyLimit(): number {
    return Math.floor(this.limit);
  }

  /**
   * Waits for the end of any scope-wide pause, budget for `cost` (and the write quota), then a
   * concurrency slot. `write` is true for one write or the number of writes a $batch carries (each
   * counts in Graph's write quota).
   *
   * Budget comes before the slot, and a `chain` request (the next page of a crawl or delta round:
   * its caller sends nothing else until it is answered) is first in line for a slot. Otherwise, once
   * the bucket is empty, every slot is held by fan-out work (40-RU `$batch` packs) waiting for budget,
   * and a 1-RU nextLink waits behind all of them: the sequential user crawl, the longest chain of a
   * full read, stretched to the end of the member reads (bench/graph-core profile).
   */
  async acquire(cost: number, write: boolean | number, signal?: AbortSignal, chain = false): Promise<Permit> {
    const writes = write === true ? 1 : write === false ? 0 : Math.max(0, write);
    for (;;) {
      signal?.throwIfAborted();
      const pause = this.pausedUntil - Date.now();
      const wait = Math.max(pause, this.ru.waitFor(cost), writes > 0 ? this.writes.waitFor(writes) : 0);
      if (wait > 0) {
        await sleep(Math.min(wait, 1_000), signal);
        continue;
      }
      this.ru.take(cost);
      if (writes > 0) this.writes.take(writes);
      try {
        while (this.inFlight >= Math.floor(this.limit)) await this.waitForSlot(signal, chain);
      } catch (err) {
        this.refund(cost, writes);
        throw err;
      }
      this.inFlight++;
      // A 429 elsewhere while this one queued for a slot: wait out the pause and pay again after it
      // (no refund: the 429 treated the bucket as spent, which is what Graph's answer says).
      if (this.pausedUntil > Date.now()) {
        this.release();
        continue;
      }
      return { cost, write: writes > 0, sentAt: Date.now() };
    }
  }

  private refund(cost: number, writes: number): void {
    this.ru.give(cost);
    if (writes > 0) this.writes.give(writes);
  }

  /** Frees the slot. `actualRu` and `limitShare` come from the response headers when present. */
  release(permit?: Permit, feedback: { actualRu?: number; limitShare?: number } = {}): void {
    this.inFlight--;
    if (permit && feedback.actualRu !== undefined && feedback.actualRu > permit.cost) this.ru.take(feedback.actualRu - permit.cost);
    if (feedback.limitShare !== undefined && feedback.limitShare >= 0.9) this.ru.clampToServerUsage(feedback.limitShare);
    this.wake();
  }

  /** Queue for a slot; an aborted waiter leaves the queue so its wake-up is not lost. */
  private waitForSlot(signal: AbortSignal | undefined, chain: boolean): Promise<void> {
    const queue = chain ? this.chainWaiters : this.waiters;
    return new Promise<void>((resolve, reject) => {
      const waiter = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = queue.indexOf(waiter);
        if (i >= 0) queue.splice(i, 1);
        reject(signal?.reason ?? new Error('aborted'));
      };
      queue.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private wake(): void {
    let free = Math.floor(this.limit) - this.inFlight;
    while (free-- > 0 && this.chainWaiters.length + this.waiters.length > 0) (this.chainWaiters.shift() ?? this.waiters.shift())!();
  }

  /** Additive increase: about one more slot per window of `limit` successes. */
  succeeded(): void {
    if (this.limit < this.maxConcurrency) {
      this.limit = Math.min(this.maxConcurrency, this.limit + 1 / this.limit);
      this.wake();
    }
  }

  /**
   * A 429: every caller of this scope pauses, the budget is treated as spent, concurrency halves.
   * Requests already in flight when concurrency was last cut report the same congestion event, so
   * their 429s extend the pause but do not cut again (otherwise 16 parallel 429s would end at 1).
   */
  throttled(retryAfterMs: number, write: boolean, permit?: Permit): void {
    const now = Date.now();
    this.pausedUntil = Math.max(this.pausedUntil, now + retryAfterMs);
    if (write) this.writes.drain();
    else this.ru.drain();
    if (permit && permit.sentAt <= this.lastCutAt) return;
    this.limit = Math.max(1, this.limit / 2);
    this.lastCutAt = now;
  }
}

const registry = new Map<string, ThrottleGovernor>();

export function governorFor(key: string, opts: GovernorOptions): ThrottleGovernor {
  let g = registry.get(key);
  if (!g) {
    g = new ThrottleGovernor(opts);
    registry.set(key, g);
  }
  return g;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Retry-After in seconds (fractional allowed) or an HTTP date, in ms; null when absent or invalid. */
export function parseRetryAfter(value: string | null | undefined): number | null {
  if (!value) return null;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : null;
}

/** Full-jitter exponential backoff for 503/504/network errors. */
export function backoffMs(attempt: number, baseMs = 400, capMs = 30_000): number {
  return Math.random() * Math.min(capMs, baseMs * 2 ** attempt);
}
