import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { Logger } from 'pino';
import { CHANGE_CHANNEL, parseChangePayload } from '@warden/database';

/** What a cached answer was read from: served tables and connectors, null meaning all of them. */
export interface ReadScope {
  tables: readonly string[] | null;
  connectors: readonly string[] | null;
  /**
   * Rows read from a row-keyed table that `tables` leaves out: `<table>|<connector>|<e|p>=<key>`
   * (read-scope.ts `grantRowKey`). Absent or empty: none.
   */
  rows?: readonly string[];
}

/** Row keys remembered at most; past this they are forgotten at once and older answers that read rows retired. */
const MAX_ROW_KEYS = 100_000;

/** A payload item naming changed rows (`e=…`, `p=…`, migration 0017), never a connector id. */
function isRowItem(item: string): boolean {
  return item.startsWith('e=') || item.startsWith('p=');
}

/**
 * The database's committed changes, numbered in the order they were heard: every notification on
 * CHANGE_CHANNEL (one per statement that changed rows of a served table, naming the table and the
 * connectors of those rows, see @warden/database) gets the next sequence number, and the feed keeps the
 * last number per table, per table and connector, and per connector. An answer read when the sequence
 * was `s` is still current if nothing it read from has a later number (`changedSince`).
 *
 * `live` is false whenever the LISTEN connection is down: notifications sent meanwhile are lost, so
 * nothing may be cached or served from cache until it is back, and every answer cached before the
 * outage is retired on reconnect.
 *
 * A connection can also die without a word (a stalled network path, a half-open TCP session): no
 * error, no end, no notification. A heartbeat sends a marker through the listening session every
 * `heartbeatMs`; one that has not come back within the next beat counts as a lost connection.
 */
export class ChangeFeed {
  private seq = 0;
  /** Everything changed at this number (the feed was lost or reconnected). */
  private everything = 0;
  /**
   * Keys `table`, `table|connector`, `table|*`, `*`, `*|connector`, `*|*` → last sequence number; and
   * `table|connector|!` for a change to that table and connector that named no rows.
   */
  private readonly last = new Map<string, number>();
  /** Row keys (`table|connector|e=key`, from notifications that name rows, migration 0017) → last sequence number. */
  private readonly rowLast = new Map<string, number>();
  /** Every row key changed at this number (rowLast was emptied to bound its memory). */
  private rowsForgotten = 0;
  /** caughtUp() calls made before the next marker is sent share it. */
  private queued: Promise<void> | null = null;
  /** Notifications heard (markers excepted), for the metrics and the bench. */
  changes = 0;
  private client: pg.Client | null = null;
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Marker queries share the listening session, which runs one query at a time. */
  private markerChain: Promise<unknown> = Promise.resolve();
  /** Marker payload → resolver, for caughtUp(). */
  private readonly markers = new Map<string, () => void>();
  private listening = false;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private beatInFlight = false;
  /** Told how long each marker took to come back (seconds): what a cache hit waits at most, besides its turn. */
  onRoundTrip: (seconds: number) => void = () => undefined;

  constructor(
    private readonly connectionString: string,
    private readonly logger: Logger,
    private readonly retryMs = 1_000,
    private readonly heartbeatMs = 5_000,
  ) {}

  /** The number of the last change heard: an answer read from now on reflects every change up to it. */
  get sequence(): number {
    return this.seq;
  }

  /** Whether the LISTEN connection is up, so that the generation reflects every committed change. */
  get live(): boolean {
    return this.listening;
  }

  /** Retires every answer read before now (the feed was lost, or a test wants a clean slate). */
  bump(): void {
    this.everything = ++this.seq;
  }

  /** Whether anything `scope` read from changed after sequence number `since`. */
  changedSince(since: number, scope: ReadScope): boolean {
    if (this.everything > since) return true;
    const after = (key: string) => (this.last.get(key) ?? 0) > since;
    const tables = scope.tables ?? ['*'];
    for (const t of tables) {
      if (scope.connectors === null) {
        if (after(t)) return true;
        continue;
      }
      if (after(`${t}|*`)) return true;
      for (const c of scope.connectors) if (after(`${t}|${c}`)) return true;
    }
    if (scope.rows && scope.rows.length > 0) {
      if (this.rowsForgotten > since) return true;
      for (const key of scope.rows) {
        // A row key is `table|connector|detail`: the table's and connector's part ends at the second bar.
        const bar = key.indexOf('|');
        const table = key.slice(0, bar);
        const tableAndConnector = key.slice(0, key.indexOf('|', bar + 1));
        if (after(table) && (after(`${table}|*`) || after(`${tableAndConnector}|!`) || (this.rowLast.get(key) ?? 0) > since)) return true;
      }
    }
    return false;
  }

  /** Records one change notification (see @warden/database's change-channel.ts for the payload). */
  private heard(payload: string): void {
    const notice = parseChangePayload(payload);
    const table = notice.table;
    // Items `e=…` / `p=…` after the connector name the rows changed (migration 0017); never a connector id.
    const connectors = notice.connectors?.filter((c) => !isRowItem(c)) ?? null;
    const rows = notice.connectors?.filter(isRowItem) ?? [];
    const n = ++this.seq;
    this.changes++;
    this.last.set(table, n);
    this.last.set('*', n);
    if (connectors === null) {
      this.last.set(`${table}|*`, n);
      this.last.set('*|*', n);
    } else {
      for (const c of connectors) {
        this.last.set(`${table}|${c}`, n);
        this.last.set(`*|${c}`, n);
      }
      // Rows are named only for a statement within one connector; otherwise no row is known.
      if (rows.length > 0 && connectors.length === 1) {
        if (this.rowLast.size + rows.length > MAX_ROW_KEYS) {
          this.rowLast.clear();
          this.rowsForgotten = n;
        }
        for (const r of rows) this.rowLast.set(`${table}|${connectors[0]!}|${r}`, n);
      } else for (const c of connectors) this.last.set(`${table}|${c}|!`, n);
    }
  }

  async start(): Promise<void> {
    await this.connect();
  }

  /**
   * Resolves once every change committed before this call has been heard: a marker notification,
   * sent after those commits, is delivered after theirs (Postgres delivers in commit order). Calls
   * made while no marker is waiting to be sent share the next one, so a burst of cache hits costs one
   * round trip on the listening session, not one each.
   */
  caughtUp(): Promise<void> {
    // With the feed down nothing is served from cache, so there is nothing to catch up with.
    const client = this.client;
    if (!this.live || !client) return Promise.resolve();
    if (this.queued) return this.queued;
    const run = this.markerChain.then(async () => {
      // From here the marker is on its way: a later caller needs the one after it.
      if (this.queued === run) this.queued = null;
      // Lost meanwhile: every entry was retired with it, there is nothing to wait for.
      if (this.client !== client || !this.listening) return;
      const marker = `marker:${randomUUID()}`;
      const sent = performance.now();
      const seen = new Promise<void>((resolve) => this.markers.set(marker, resolve));
      // Sent on the listening session itself: it hears its own notifications, in commit order too.
      // Not awaited: on a session that went silent the query never returns, and `lost` (the
      // heartbeat's verdict) resolves every marker instead.
      client.query('SELECT pg_notify($1, $2)', [CHANGE_CHANNEL, marker]).catch((err: Error) => this.lost(client, err));
      try {
        await seen;
        this.onRoundTrip((performance.now() - sent) / 1000);
      } finally {
        this.markers.delete(marker);
      }
    });
    this.queued = run;
    this.markerChain = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listening = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    // TCP keepalive lets the kernel notice a dead peer eventually; the heartbeat notices it in seconds.
    const client = new pg.Client({ connectionString: this.connectionString, application_name: 'warden-gateway-changes', keepAlive: true });
    client.on('notification', (msg) => {
      if (msg.channel !== CHANGE_CHANNEL) return;
      // A marker is not a change: caughtUp() only waits for it to arrive.
      const marker = msg.payload ? this.markers.get(msg.payload) : undefined;
      if (marker) marker();
      else if (msg.payload !== undefined) this.heard(msg.payload);
      else this.bump();
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, null));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch (err) {
      this.lost(client, err as Error);
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    // A marker stuck on a dead session must not hold up those of the new one.
    this.markerChain = Promise.resolve();
    this.queued = null;
    this.bump();
    this.listening = true;
    this.logger.debug('listening for database changes');
    this.heartbeatTimer ??= setInterval(() => this.beat(), this.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  /** One marker round trip; if the previous one is still out, the session is presumed dead. */
  private beat(): void {
    const client = this.client;
    if (!client || !this.listening) return;
    if (this.beatInFlight) {
      this.lost(client, new Error(`no heartbeat from the change feed within ${this.heartbeatMs} ms`));
      return;
    }
    this.beatInFlight = true;
    // A failed round trip is a lost session too; `lost` has then already been told by pg.
    void this.caughtUp()
      .then(() => {
        if (this.client === client) this.beatInFlight = false;
      })
      .catch(() => undefined);
  }

  private lost(client: pg.Client, err: Error | null): void {
    if (this.client !== null && this.client !== client) return;
    this.client = null;
    this.beatInFlight = false;
    const wasLive = this.listening;
    this.listening = false;
    this.queued = null;
    this.bump();
    for (const resolve of this.markers.values()) resolve();
    client.end().catch(() => undefined);
    if (this.closed || this.retryTimer) return;
    if (wasLive) this.logger.warn({ err: err?.message }, 'lost the database change feed; the response cache is off until it is back');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, this.retryMs);
  }
}
