import { sql, type Kysely } from 'kysely';
import type { Bus } from '@warden/bus';
import type { Database, SyncRunStatus } from '@warden/database';
import type { Logger } from 'pino';

export interface ProgressOptions {
  db: Kysely<Database>;
  bus: Bus | null;
  runId: string;
  connectorId: string;
  logger: Logger;
  /** Called when a write finds the run no longer RUNNING. */
  onCancelled: () => void;
  minIntervalMs?: number;
}

/** Publishes a SyncRunUpdated event for a status change (never throttled). */
export function publishRunEvent(bus: Bus | null, runId: string, connectorId: string, status: SyncRunStatus, progress: string | null): void {
  if (!bus) return;
  try {
    bus.publishSyncRunUpdated({ v: 1, runId, connectorId, status, progress, at: new Date().toISOString() });
  } catch {
    // Events are best effort: subscribers re-read the row, and the next change publishes again.
  }
}

/**
 * "users: 12,000 / 50,000 · groups: 3,000 / 5,000": one line per running stage, written to the run
 * row and published at most once per `minIntervalMs` (the last update always goes out).
 */
export class ProgressReporter {
  private readonly parts = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  private lastFlush = 0;
  private flushing: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly interval: number;

  constructor(private readonly opts: ProgressOptions) {
    this.interval = opts.minIntervalMs ?? 1_000;
  }

  set(stage: string, text: string | null): void {
    if (text === null) this.parts.delete(stage);
    else this.parts.set(stage, text);
    this.schedule();
  }

  text(): string | null {
    return this.parts.size ? [...this.parts.values()].join(' · ') : null;
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    const wait = Math.max(0, this.lastFlush + this.interval - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flushing = this.flushing.then(() => this.flush());
    }, wait);
    this.timer.unref();
  }

  /** Writes progress + heartbeat now (also the keep-alive of a long quiet stage). */
  async flush(): Promise<void> {
    if (this.stopped) return;
    this.lastFlush = Date.now();
    const progress = this.text();
    try {
      const res = await sql`
        UPDATE sync_runs SET progress = ${progress}, heartbeat_at = now()
        WHERE id = ${this.opts.runId}::uuid AND status = 'RUNNING'`.execute(this.opts.db);
      if (Number(res.numAffectedRows ?? 0) === 0) {
        this.opts.onCancelled();
        return;
      }
    } catch (err) {
      this.opts.logger.warn({ err }, 'progress write failed');
      return;
    }
    publishRunEvent(this.opts.bus, this.opts.runId, this.opts.connectorId, 'RUNNING', progress);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flushing;
  }
}

export function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
