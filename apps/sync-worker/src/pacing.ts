import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/**
 * A sync's statements are few and heavy (a 5,000-row merge with five indexes, an ANALYZE of a
 * 60,000-row table): each keeps one Postgres backend on a core for tens of milliseconds to seconds,
 * at the same priority as the backends answering the console. The worker's own lower priority
 * (`priority.ts`) does not reach them, so while a sync writes, the gateway's queries wait for a core
 * and the console's requests queue behind them for seconds (bench:gateway's write phase at L).
 *
 * So, while other clients are running statements in the same database, the sync's statements are
 * admitted against a budget of statement time: at most `share` seconds of statements per second of
 * wall time, summed over every run of this process — the idea of Postgres' own cost-based vacuum
 * delay, applied to the sync's writes. When nobody else is working, nothing waits and a sync runs at
 * full speed. "Others working" is read from `pg_stat_activity` every `probeEveryMs` while this
 * process issues statements: sessions of the same database, active, not a sync worker's (syncs do
 * not yield to each other); the budget applies while at least `BUSY_SAMPLES` of the last `WINDOW`
 * probes saw one.
 *
 * A statement waits before it starts, and only where its connection holds nothing (see `wrap`); a
 * transaction's statements count against the budget but do not wait. COPY streams and other
 * non-text queries are neither paced nor counted.
 */
export interface PacerOptions {
  connectionString: string;
  /** Statement-seconds per second this process's syncs may spend while others are busy; 0 = never wait. */
  share: number;
  probeEveryMs?: number;
  /** Statement time that may be spent at once before the budget applies (ms). */
  burstMs?: number;
}

export interface PacerStats {
  /** Milliseconds statements waited for the budget, summed. */
  waitedMs: number;
  /** Statements that waited. */
  waited: number;
  /** Text statements seen. */
  statements: number;
  probes: number;
  /** Probes that saw another client's statement running. */
  busyProbes: number;
}

const PACED = Symbol('warden.paced');
const WINDOW = 10;
const BUSY_SAMPLES = 3;
const PROBE = `SELECT count(*)::int AS n FROM pg_stat_activity
  WHERE datname = current_database() AND state = 'active' AND backend_type = 'client backend'
    AND pid <> pg_backend_pid() AND application_name NOT LIKE 'warden-sync-worker%'`;

type Query = (...args: unknown[]) => unknown;

export class DatabasePacer {
  readonly stats: PacerStats = { waitedMs: 0, waited: 0, statements: 0, probes: 0, busyProbes: 0 };
  private readonly probeEveryMs: number;
  private readonly burstMs: number;
  private bucket: number;
  private refilledAt = performance.now();
  private recent: boolean[] = [];
  private lastStatementAt = -Infinity;
  private probing: Promise<void> | null = null;
  private client: pg.Client | null = null;
  private closed = false;

  constructor(private readonly opts: PacerOptions) {
    this.probeEveryMs = opts.probeEveryMs ?? 200;
    this.burstMs = opts.burstMs ?? 100;
    this.bucket = this.burstMs;
  }

  /** Paces the text queries of every connection the pool hands out (Kysely's and the COPY writers'). */
  attach(pool: pg.Pool): void {
    if (this.opts.share <= 0) return;
    pool.on('acquire', (client) => this.wrap(client));
  }

  /** Whether statements are being admitted against the budget now. */
  get engaged(): boolean {
    return this.recent.filter(Boolean).length >= BUSY_SAMPLES;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.probing;
    await this.client?.end().catch(() => undefined);
    this.client = null;
  }

  private wrap(client: pg.PoolClient): void {
    const marked = client as pg.PoolClient & { [PACED]?: true };
    if (marked[PACED]) return;
    marked[PACED] = true;
    const query = client.query.bind(client) as Query;
    let inTransaction = false;
    // Only the promise form with SQL text is paced (what Kysely and the writers send). A statement
    // waits only where its connection holds nothing: before BEGIN, or outside a transaction. Inside
    // one it runs at once (its time still counts), so no transaction stays open, with its row locks,
    // while the budget refills.
    (client as { query: Query }).query = (...args: unknown[]) => {
      const text = args[0];
      if (typeof text !== 'string' || typeof args[args.length - 1] === 'function') return query(...args);
      const begins = /^\s*(begin|start\s+transaction)\b/i.test(text);
      const ends = /^\s*(commit|rollback|end|abort)\b(?!\s+to\b)/i.test(text); // not ROLLBACK TO SAVEPOINT
      const wait = !inTransaction || begins;
      if (begins) inTransaction = true;
      if (ends) inTransaction = false;
      return this.run(() => query(...args) as Promise<unknown>, wait);
    };
  }

  private async run<T>(statement: () => Promise<T>, wait: boolean): Promise<T> {
    this.stats.statements++;
    this.lastStatementAt = performance.now();
    this.startProbing();
    if (wait) await this.admit();
    const t0 = performance.now();
    try {
      return await statement();
    } finally {
      this.spend(performance.now() - t0);
    }
  }

  private refill(): void {
    const now = performance.now();
    this.bucket = Math.min(this.burstMs, this.bucket + (now - this.refilledAt) * this.opts.share);
    this.refilledAt = now;
  }

  private async admit(): Promise<void> {
    let waited = 0;
    for (;;) {
      this.refill();
      if (!this.engaged || this.bucket >= 0) break;
      const ms = Math.min(250, Math.ceil(-this.bucket / this.opts.share));
      await sleep(ms);
      waited += ms;
    }
    if (waited > 0) {
      this.stats.waited++;
      this.stats.waitedMs += waited;
    }
  }

  private spend(ms: number): void {
    this.refill();
    // Unpaced work builds no debt: the budget starts when others start.
    this.bucket = this.engaged ? this.bucket - ms : Math.max(0, this.bucket - ms);
  }

  /** Probes while statements keep coming, and stops a few seconds after the last one. */
  private startProbing(): void {
    if (this.probing || this.closed) return;
    this.probing = (async () => {
      try {
        while (!this.closed && performance.now() - this.lastStatementAt < 5_000) {
          await this.probe();
          await sleep(this.probeEveryMs);
        }
      } finally {
        this.probing = null;
        this.recent = [];
      }
    })();
  }

  private async probe(): Promise<void> {
    let busy = false;
    try {
      if (!this.client) {
        const client = new pg.Client({ connectionString: this.opts.connectionString, application_name: 'warden-sync-worker-pacer' });
        client.on('error', () => undefined);
        await client.connect();
        this.client = client;
      }
      busy = (await this.client.query<{ n: number }>(PROBE)).rows[0]!.n > 0;
    } catch {
      // No answer: treat the database as not shared rather than slow a sync on a broken probe.
      await this.client?.end().catch(() => undefined);
      this.client = null;
    }
    this.stats.probes++;
    if (busy) this.stats.busyProbes++;
    this.recent.push(busy);
    if (this.recent.length > WINDOW) this.recent.shift();
  }
}
