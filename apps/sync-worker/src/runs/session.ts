import { sql, type Kysely } from 'kysely';
import type { GraphClient } from '@warden/graph-core';
import type { Database, LogLevel, SyncMode } from '@warden/database';
import { appendConnectorLog } from '@warden/access-model';
import type { Logger } from 'pino';
import { parseCheckpoint, type RunCheckpoint, type StageCheckpoint, type StageName } from './checkpoint';
import type { ProgressReporter } from './progress';

/** Thrown when the run row left RUNNING under us (cancelled, or its connector deleted). */
export class RunCancelled extends Error {
  constructor() {
    super('the sync run was cancelled');
  }
}

export interface SessionInit {
  db: Kysely<Database>;
  graph: GraphClient;
  runId: string;
  connectorId: string;
  mode: SyncMode;
  skipAdGroups: boolean;
  permissions: string[];
  checkpoint: unknown;
  deltaLinks: Map<string, string>;
  signal: AbortSignal;
  logger: Logger;
  progress: ProgressReporter;
  /** Rows per bulk write (and checkpoint) in full passes. */
  writeBatchRows?: number;
  /** A partitioned full pass saves its checkpoint at most this often (0 = after every batch). */
  checkpointMinIntervalMs?: number;
  /** Full groups pass: ids per filtered delta round, and rounds at once. */
  groupChunkSize?: number;
  groupRoundsAtOnce?: number;
}

/** Everything a stage needs from the run it belongs to: clients, checkpoint, progress, logs. */
export class RunSession {
  readonly db: Kysely<Database>;
  readonly graph: GraphClient;
  readonly runId: string;
  readonly connectorId: string;
  readonly mode: SyncMode;
  readonly skipAdGroups: boolean;
  readonly permissions: string[];
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly progress: ProgressReporter;
  readonly checkpoint: RunCheckpoint;
  /** Graph requests sent as items inside $batch calls (graph-core counts the HTTP calls). */
  batchItems = 0;
  /** Rows per bulk write (and checkpoint) in full passes; incremental passes write every page. */
  readonly writeBatchRows: number;
  readonly checkpointMinIntervalMs: number;
  readonly groupChunkSize: number | undefined;
  readonly groupRoundsAtOnce: number | undefined;
  private readonly deltaLinks: Map<string, string>;

  constructor(init: SessionInit) {
    this.db = init.db;
    this.graph = init.graph;
    this.runId = init.runId;
    this.connectorId = init.connectorId;
    this.mode = init.mode;
    this.skipAdGroups = init.skipAdGroups;
    this.permissions = init.permissions;
    this.signal = init.signal;
    this.logger = init.logger;
    this.progress = init.progress;
    this.checkpoint = parseCheckpoint(init.checkpoint);
    this.deltaLinks = init.deltaLinks;
    this.writeBatchRows = init.writeBatchRows ?? 5_000;
    this.checkpointMinIntervalMs = init.checkpointMinIntervalMs ?? 0;
    this.groupChunkSize = init.groupChunkSize;
    this.groupRoundsAtOnce = init.groupRoundsAtOnce;
  }

  stage(name: StageName): StageCheckpoint | undefined {
    return this.checkpoint.stages[name];
  }

  /** The deltaLink stored by the last successful run for this stream, if any. */
  savedDeltaLink(stream: string): string | null {
    return this.deltaLinks.get(stream) ?? null;
  }

  /**
   * Persists one stage's checkpoint (merged into the run's jsonb, so concurrent stages never
   * overwrite each other) and refreshes the heartbeat. Fails when the run is no longer RUNNING.
   */
  async saveStage(name: StageName, state: StageCheckpoint): Promise<void> {
    this.checkpoint.stages[name] = state;
    const res = await sql`
      UPDATE sync_runs SET
        checkpoint = jsonb_set(CASE WHEN checkpoint ? 'stages' THEN checkpoint ELSE '{"v":1,"stages":{}}'::jsonb END,
                               ARRAY['stages', ${name}::text], ${JSON.stringify(state)}::jsonb, true),
        heartbeat_at = now()
      WHERE id = ${this.runId}::uuid AND status = 'RUNNING'`.execute(this.db);
    if (Number(res.numAffectedRows ?? 0) === 0) throw new RunCancelled();
  }

  /** The database's clock: every "observed at" and "pass started at" compares with updated_at columns. */
  async dbNow(): Promise<string> {
    const r = await sql<{ now: Date }>`SELECT clock_timestamp() AS now`.execute(this.db);
    return (r.rows[0]?.now ?? new Date()).toISOString();
  }

  /** A line an administrator reads in the connector's log. */
  async log(level: LogLevel, message: string): Promise<void> {
    this.logger[level === 'ERROR' ? 'error' : level === 'WARN' ? 'warn' : 'info'](message);
    await appendConnectorLog(this.db, this.connectorId, level, message, this.runId);
  }

  throwIfAborted(): void {
    if (this.signal.aborted) throw this.signal.reason instanceof Error ? this.signal.reason : new Error('aborted');
  }
}
