import { z } from 'zod';

const secretKeys = z
  .string()
  .min(1)
  .refine(
    (v) =>
      v.split(',').every((part) => {
        const material = part.includes(':') ? part.slice(part.indexOf(':') + 1) : part;
        return Buffer.from(material.trim(), 'base64').length === 32;
      }),
    'must be id:base64-32-byte-key[,id2:key2]',
  );

const EnvironmentSchema = z.object({
  DATABASE_URL: z.string().min(1),
  NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  BUS_NAMESPACE: z.string().regex(/^[a-zA-Z0-9_-]+$/).default('warden'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  WARDEN_SECRET_KEYS: secretKeys,
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
  /** A run whose heartbeat is older than this (no worker holds it) is handed out again. */
  SYNC_STALE_RUN_MS: z.coerce.number().int().min(5_000).max(86_400_000).default(120_000),
  /** The deployment's multi-tenant app, for connectors connected by admin consent (OAUTH). */
  OAUTH_CLIENT_ID: z.string().min(1).optional(),
  OAUTH_CLIENT_SECRET: z.string().min(1).optional(),
});

export type SyncWorkerEnvironment = z.infer<typeof EnvironmentSchema>;
export type SyncWorkerEnvironmentInput = z.input<typeof EnvironmentSchema>;

/** Parses the worker's variables; throws one error naming every bad variable. */
export function parseEnvironment(source: Record<string, string | undefined> = process.env): SyncWorkerEnvironment {
  const parsed = EnvironmentSchema.safeParse(source);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new Error(`invalid sync-worker environment:\n  ${problems.join('\n  ')}`);
}
