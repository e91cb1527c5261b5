import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import { graphMetrics, type GraphClient } from '@warden/graph-core';
import { Bus } from '@warden/bus';
import { createDb, migrateToLatest, pgPoolOf, type ConnectorRow, type Database } from '@warden/database';
import { createLogger, HostAllowlist, SecretBox, startMetricsServer } from '@warden/service-kit';
import type { SyncWorkerEnvironment } from './environment';
import { handleSyncRequested, RunBusy, type RunOutcome } from './runs/execute';
import { scheduleDueSyncs } from './scheduler';
import { DatabasePacer } from './pacing';

export interface SyncWorker {
  db: Kysely<Database>;
  bus: Bus;
  workerId: string;
  /** GET /metrics of this worker, when METRICS_PORT is set. */
  metricsUrl: string | null;
  /** Runs one scheduling pass now (tests, and the scheduler loop). */
  scheduleNow(): ReturnType<typeof scheduleDueSyncs>;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Called after each handled message (tests). */
  onOutcome?: (runId: string, outcome: RunOutcome) => void;
  /** Test hook: build the Graph client for a connector. */
  graphClientFactory?: (connector: ConnectorRow) => GraphClient;
}

/**
 * The sync worker's default for DB_IDLE_TIMEOUT_MS: longer than the default incremental interval
 * (900 s), so each scheduled run reuses the server processes of the one before. New ones cost an L
 * incremental run ~0.8 s on the benchmark machine (README, "Warm connections").
 */
export const SYNC_DB_IDLE_TIMEOUT_MS = 1_800_000;

/**
 * The deployable in-process: migrates, consumes SyncRequested (SYNC_CONCURRENCY at once) and runs
 * the scheduler loop. `close()` stops taking work and interrupts running syncs, which stay RUNNING
 * with their checkpoint for the next worker.
 */
export async function startSyncWorker(env: SyncWorkerEnvironment, opts: StartOptions = {}): Promise<SyncWorker> {
  const logger = opts.logger ?? createLogger({ name: 'sync-worker', level: env.LOG_LEVEL });
  const workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  // Each run holds one connection for its lock and uses a few for concurrent stage writes; the
  // connections outlive the gap between scheduled runs (DB_IDLE_TIMEOUT_MS).
  const db = createDb({
    connectionString: env.DATABASE_URL,
    max: 4 + env.SYNC_CONCURRENCY * 6,
    applicationName: 'warden-sync-worker',
    idleTimeoutMs: env.DB_IDLE_TIMEOUT_MS ?? SYNC_DB_IDLE_TIMEOUT_MS,
    // No WAL flush per commit (DbOptions.asyncCommit). What a sync writes, a later run writes again
    // from Graph, and a stage's checkpoint commits after the batches it covers, so a crash loses the
    // two together: the run resumes from an older checkpoint and writes those batches again.
    asyncCommit: true,
  });
  await migrateToLatest(db);
  const pacer = new DatabasePacer({ connectionString: env.DATABASE_URL, share: env.SYNC_DB_BUSY_SHARE });
  pacer.attach(pgPoolOf(db)!);
  const bus = await Bus.connect({
    url: env.NATS_URL,
    namespace: env.BUS_NAMESPACE,
    ackWaitMs: env.NATS_ACK_WAIT_MS,
    name: `sync-worker ${workerId}`,
  });
  const box = SecretBox.fromConfig(env.WARDEN_SECRET_KEYS);
  const allowlist = new HostAllowlist(env.ALLOWED_GRAPH_HOSTS);
  const stop = new AbortController();
  const metrics = await startMetricsServer({
    prefix: 'warden_sync_worker_',
    port: env.METRICS_PORT,
    host: env.METRICS_HOST,
    ready: {
      postgres: async () => (await sql`SELECT 1 AS ok`.execute(db)).rows.length === 1,
      nats: () => bus.isConnected(),
    },
  });
  const graphSink = graphMetrics(metrics.registry);
  new Counter({
    name: 'warden_sync_db_yield_seconds_total',
    help: 'Time sync statements waited for their share of the database while other clients were busy (SYNC_DB_BUSY_SHARE)',
    registers: [metrics.registry],
    collect() {
      this.reset();
      this.inc(pacer.stats.waitedMs / 1000);
    },
  });
  const runsHandled = new Counter({
    name: 'warden_sync_runs_total',
    help: 'Sync run messages handled, by outcome',
    labelNames: ['outcome'] as const,
    registers: [metrics.registry],
  });

  const consuming = bus
    .consumeSyncRequested(
      async (msg, ctx) => {
        const outcome = await handleSyncRequested(
          {
            db,
            bus,
            box,
            logger,
            workerId,
            graph: {
              maxConcurrency: env.SYNC_GRAPH_MAX_CONCURRENCY,
              maxRetryTimeMs: env.SYNC_GRAPH_MAX_RETRY_MS,
              ...(env.SYNC_GRAPH_RU_PER_10S ? { ruPer10s: env.SYNC_GRAPH_RU_PER_10S } : {}),
              ...(env.OAUTH_CLIENT_ID ? { oauthClientId: env.OAUTH_CLIENT_ID } : {}),
              ...(env.OAUTH_CLIENT_SECRET ? { oauthClientSecret: env.OAUTH_CLIENT_SECRET } : {}),
              metrics: graphSink,
              allowlist,
            },
            writeBatchRows: env.SYNC_WRITE_BATCH_ROWS,
            checkpointMinIntervalMs: env.SYNC_CHECKPOINT_MIN_INTERVAL_MS,
            groupChunkSize: env.SYNC_GROUPS_CHUNK_SIZE,
            groupRoundsAtOnce: env.SYNC_GROUPS_ROUNDS_AT_ONCE,
            signInIntervalSeconds: env.SYNC_SIGN_IN_INTERVAL_SECONDS,
            appAccessFullReadSeconds: env.SYNC_APP_ACCESS_FULL_READ_SECONDS,
            auditOverlapSeconds: env.SYNC_AUDIT_OVERLAP_SECONDS,
            keepAlive: () => ctx.working(),
            keepAliveMs: Math.max(500, Math.floor(env.NATS_ACK_WAIT_MS / 3)),
            signal: stop.signal,
            ...(opts.graphClientFactory ? { graphClientFactory: opts.graphClientFactory } : {}),
          },
          msg,
        );
        // The process's waits for its share of the database so far (not this run's alone).
        logger.info(
          { runId: msg.runId, outcome: outcome.status, dbYieldMsTotal: Math.round(pacer.stats.waitedMs) },
          'sync message handled',
        );
        runsHandled.inc({ outcome: outcome.status });
        opts.onOutcome?.(msg.runId, outcome);
      },
      {
        concurrency: env.SYNC_CONCURRENCY,
        signal: stop.signal,
        retryDelayMs: 2_000,
        onError: (err) => {
          if (err instanceof RunBusy) logger.debug({ err: err.message }, 'run busy elsewhere; redelivery later');
          else if (!stop.signal.aborted) logger.error({ err }, 'sync message failed; it will be redelivered');
        },
      },
    )
    .catch((err: unknown) => {
      if (!stop.signal.aborted) logger.error({ err }, 'sync consumer stopped');
    });

  const scheduleNow = () => scheduleDueSyncs(db, bus, { staleRunMs: env.SYNC_STALE_RUN_MS, logger });
  let timer: NodeJS.Timeout | null = null;
  if (env.SCHEDULER_INTERVAL_MS > 0) {
    const tick = async () => {
      try {
        await scheduleNow();
      } catch (err) {
        logger.warn({ err }, 'scheduler pass failed');
      } finally {
        if (!stop.signal.aborted) timer = setTimeout(() => void tick(), env.SCHEDULER_INTERVAL_MS);
      }
    };
    timer = setTimeout(() => void tick(), Math.min(1_000, env.SCHEDULER_INTERVAL_MS));
  }
  logger.info({ workerId, concurrency: env.SYNC_CONCURRENCY, namespace: env.BUS_NAMESPACE, metrics: metrics.url }, 'sync worker started');

  return {
    db,
    bus,
    workerId,
    metricsUrl: metrics.url,
    scheduleNow,
    async close() {
      stop.abort(new Error('sync worker shutting down'));
      if (timer) clearTimeout(timer);
      // Bus.consume only notices an abort once its pull subscription exists; closed right after
      // start it would wait forever. Give in-flight runs a moment to stop, then draining the
      // connection ends the subscription either way.
      await Promise.race([consuming, new Promise((r) => setTimeout(r, 3_000).unref())]);
      await bus.close();
      await consuming;
      await pacer.close();
      await db.destroy();
      await metrics.close();
    },
  };
}
