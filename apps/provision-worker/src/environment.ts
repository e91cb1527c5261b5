import { allowedGraphHostsEnvironment, commonEnvironment, metricsEnvironment, parseEnvironmentWith } from '@warden/service-kit';
import { z } from 'zod';

const EnvironmentSchema = z.object({
  ...commonEnvironment,
  ...metricsEnvironment,
  /** Hosts a connector's stored graphBaseUrl / authorityHost may use; others are refused before any call. */
  ...allowedGraphHostsEnvironment,
  /** Tasks carried out at once by this process. */
  PROVISION_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  /** How often expired just-in-time grants are turned into revoke tasks; ≤ 30 s keeps revokes within a minute. */
  EXPIRY_SCAN_INTERVAL_MS: z.coerce.number().int().min(100).max(30_000).default(10_000),
  /**
   * PENDING/RUNNING tasks with no live owner for this long are published again (their message was
   * lost: a publisher died after its commit, or NATS lost its data). Default 60 s.
   */
  PROVISION_ORPHAN_AFTER_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  /** How long NATS waits for an ack before redelivering a task to another replica. */
  NATS_ACK_WAIT_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  /**
   * Test failpoint: wait this long between Graph's answer and the database commit, so a test can
   * kill the process exactly there. 0 (the default) in every real deployment.
   */
  PROVISION_TEST_HOLD_BEFORE_COMMIT_MS: z.coerce.number().int().min(0).default(0),
  /** The deployment's multi-tenant app, for connectors connected by admin consent (OAUTH). */
  OAUTH_CLIENT_ID: z.string().min(1).optional(),
  OAUTH_CLIENT_SECRET: z.string().min(1).optional(),
});

export type ProvisionWorkerEnvironment = z.infer<typeof EnvironmentSchema>;
export type ProvisionWorkerEnvironmentInput = z.input<typeof EnvironmentSchema>;

/** Parses the worker's variables; throws one error naming every bad variable. */
export function parseEnvironment(source: Record<string, string | undefined> = process.env): ProvisionWorkerEnvironment {
  return parseEnvironmentWith(EnvironmentSchema, 'provision-worker', source);
}
