import { allowedGraphHostsEnvironment, commonEnvironment, metricsEnvironment, parseEnvironmentWith } from '@warden/service-kit';
import { z } from 'zod';

const EnvironmentSchema = z.object({
  ...commonEnvironment,
  ...metricsEnvironment,
  /** Hosts a connector's stored graphBaseUrl / authorityHost may use; others are refused before any call. */
  ...allowedGraphHostsEnvironment,
  /** Sync runs carried out at once by this process. */
  SYNC_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  /** How often this replica looks for connectors whose incremental or full sync is due (0 = never). */
  SCHEDULER_INTERVAL_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  /** How long NATS waits for an ack before redelivering a run to another replica (the run keeps it alive). */
  NATS_ACK_WAIT_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  /** Upper bound of concurrent Graph requests per run (graph-core adapts below it). */
  SYNC_GRAPH_MAX_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  /** Total time one Graph request may spend retrying 429/5xx before the run fails. */
  SYNC_GRAPH_MAX_RETRY_MS: z.coerce.number().int().min(100).max(3_600_000).default(300_000),
  /** The tenant's resource-unit budget per 10 s (Graph: 3,500 / 5,000 / 8,000 by tenant size). */
  SYNC_GRAPH_RU_PER_10S: z.coerce.number().int().min(10).max(1_000_000).optional(),
  /** Rows per bulk statement (and per checkpoint) in full passes: "a few thousand" bounds memory and round trips. */
  SYNC_WRITE_BATCH_ROWS: z.coerce.number().int().min(1).max(50_000).default(5_000),
  /**
   * A full groups pass saves its checkpoint (which carries every chunk's group ids: ~200 KB at L) at
   * most this often; the other streams after every batch. 0 = after every batch.
   */
  SYNC_CHECKPOINT_MIN_INTERVAL_MS: z.coerce.number().int().min(0).max(600_000).default(1_000),
  /** Group ids per filtered delta round of a full groups pass (Graph filters at most 50). */
  SYNC_GROUPS_CHUNK_SIZE: z.coerce.number().int().min(1).max(50).default(50),
  /** Filtered delta rounds a full groups pass reads at once. */
  SYNC_GROUPS_ROUNDS_AT_ONCE: z.coerce.number().int().min(1).max(64).default(12),
  /** Incremental runs re-read users' sign-in activity (not in users delta) when the last read is older than this; full runs always read it. */
  SYNC_SIGN_IN_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(31_536_000).default(86_400),
  /** Incremental runs re-read every app's assignments and owners (Graph has no delta for them) when the last complete read is older than this; otherwise only the apps the directory audit log names. 0 = every run. */
  SYNC_APP_ACCESS_FULL_READ_SECONDS: z.coerce.number().int().min(0).max(31_536_000).default(86_400),
  /** The directory audit log is read from this long before the last run's cursor, for events Graph shows late. */
  SYNC_AUDIT_OVERLAP_SECONDS: z.coerce.number().int().min(0).max(604_800).default(3_600),
  /** A run whose heartbeat is older than this (no worker holds it) is handed out again. */
  SYNC_STALE_RUN_MS: z.coerce.number().int().min(5_000).max(86_400_000).default(120_000),
  /**
   * CPU priority (Unix nice value, 0–19) the worker runs at, so that on a shared host a running sync
   * yields the cores to interactive requests (src/priority.ts). 0 = the priority it was started with.
   */
  SYNC_WORKER_NICE: z.coerce.number().int().min(0).max(19).default(10),
  /**
   * While other clients run statements in the database, this process's syncs may keep Postgres busy
   * for at most this many statement-seconds per second (src/pacing.ts). 0 = never wait.
   */
  SYNC_DB_BUSY_SHARE: z.coerce.number().min(0).max(64).default(0.5),
  /** The deployment's multi-tenant app, for connectors connected by admin consent (OAUTH). */
  OAUTH_CLIENT_ID: z.string().min(1).optional(),
  OAUTH_CLIENT_SECRET: z.string().min(1).optional(),
});

export type SyncWorkerEnvironment = z.infer<typeof EnvironmentSchema>;
export type SyncWorkerEnvironmentInput = z.input<typeof EnvironmentSchema>;

/** Parses the worker's variables; throws one error naming every bad variable. */
export function parseEnvironment(source: Record<string, string | undefined> = process.env): SyncWorkerEnvironment {
  return parseEnvironmentWith(EnvironmentSchema, 'sync-worker', source);
}
