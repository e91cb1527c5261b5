import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';
import { CHANGE_CHANNEL } from '@warden/database';

/**
 * The database's committed changes as a generation number: every notification on CHANGE_CHANNEL
 * (migration 0002 sends one per statement that touches a served table) moves it forward.
 *
 * `live` is false whenever the LISTEN connection is down: notifications sent meanwhile are lost, so
 * nothing may be cached or served from cache until it is back, and the generation also moves on
 * reconnect so nothing cached before the outage survives it.
 *
 * A connection can also die without a word (a stalled network path, a half-open TCP session): no
 * error, no end, no notification. A heartbeat sends a marker through the listening session every
 * `heartbeatMs`; one that has not come back within the next beat counts as a lost connection.
 */
export class ChangeFeed {
  private gen = 0;
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

  constructor(
    private readonly connectionString: string,
    private readonly logger: Logger,
    private readonly retryMs = 1_000,
    private readonly heartbeatMs = 5_000,
  ) {}

  get generation(): number {
    return this.gen;
  }

  /** Whether the LISTEN connection is up, so that the generation reflects every committed change. */
  get live(): boolean {
    return this.listening;
  }

  /** Moves the generation forward: a change this process made or heard of by other means. */
  bump(): void {
    this.gen++;
  }

  async start(): Promise<void> {
    await this.connect();
  }

  /**
   * Resolves once every change committed before this call has been heard: a marker notification,
   * sent after those commits, is delivered after theirs (Postgres delivers in commit order).
   */
  async caughtUp(): Promise<void> {
    // With the feed down nothing is served from cache, so there is nothing to catch up with.
    const client = this.client;
    if (!this.live || !client) return;
    const marker = `marker:${randomUUID()}`;
    const seen = new Promise<void>((resolve) => this.markers.set(marker, resolve));
    try {
      // Sent on the listening session itself: it hears its own notifications, in commit order too.
      const sent = this.markerChain.then(() => client.query('SELECT pg_notify($1, $2)', [CHANGE_CHANNEL, marker]));
      this.markerChain = sent.catch(() => undefined);
      await sent;
      await seen;
    } finally {
      this.markers.delete(marker);
    }
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
