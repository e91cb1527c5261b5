import { setMaxListeners } from 'node:events';
import { GraphError, graphMetrics } from '@warden/graph-core';
import { appendConnectorLog } from '@warden/access-model';
import { Bus } from '@warden/bus';
import { createDb, migrateToLatest } from '@warden/database';
import { createLogger, HostAllowlist, SecretBox, startMetricsServer } from '@warden/service-kit';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import { ConnectorClients } from './connector-clients';
import { parseEnvironment, type ProvisionWorkerEnvironment, type ProvisionWorkerEnvironmentInput } from './environment';
import { scanExpiredGrants } from './expiry/scan';
import { handleProvisioningRequested, NotYet, type TaskDeps } from './tasks/handler';
import { sweepOrphanedTasks } from './tasks/sweeper';

export interface ProvisionWorker {
  /** GET /metrics of this worker, when METRICS_PORT is set. */
  metricsUrl: string | null;
  /** Stops consuming, lets in-flight tasks end (aborting their Graph waits) and closes connections. */
  close(): Promise<void>;
  /** Runs one expiry scan + orphan sweep now (tests and operators; the timer does it periodically). */
  scanNow(): Promise<{ expired: number; republished: number }>;
}

export interface StartOptions {
  logger?: Logger;
  /** Re-publish PENDING/RUNNING tasks without a live owner after this long (default PROVISION_ORPHAN_AFTER_MS). */
  orphanAfterMs?: number;
}

/** Starts a provision worker in this process: migrate, connect, consume, scan for expiries. */
export async function startProvisionWorker(
  envInput: ProvisionWorkerEnvironment | ProvisionWorkerEnvironmentInput | Record<string, string | undefined>,
  opts: StartOptions = {},
): Promise<ProvisionWorker> {
  const env = parseEnvironment(envInput as Record<string, string | undefined>);
  const logger = opts.logger ?? createLogger({ name: 'provision-worker', level: env.LOG_LEVEL });
  const box = SecretBox.fromConfig(env.WARDEN_SECRET_KEYS);
  const db = createDb({
    connectionString: env.DATABASE_URL,
    max: env.PROVISION_CONCURRENCY * 2 + 4,
    applicationName: 'warden-provision-worker',
    idleTimeoutMs: env.DB_IDLE_TIMEOUT_MS,
  });
  await migrateToLatest(db);
  const bus = await Bus.connect({
    url: env.NATS_URL,
    namespace: env.BUS_NAMESPACE,
    ackWaitMs: env.NATS_ACK_WAIT_MS,
    name: 'warden-provision-worker',
  });

  const stop = new AbortController();
  // Every task in flight listens for shutdown while it waits on Graph's quota (a few listeners each):
  // Node's default of 10 would warn of a leak at the 11th of PROVISION_CONCURRENCY tasks.
  setMaxListeners(Math.max(10, env.PROVISION_CONCURRENCY * 4), stop.signal);
  const metrics = await startMetricsServer({
    prefix: 'warden_provision_worker_',
    port: env.METRICS_PORT,
    host: env.METRICS_HOST,
    ready: {
      postgres: async () => (await sql`SELECT 1 AS ok`.execute(db)).rows.length === 1,
      nats: () => bus.isConnected(),
    },
  });
  const deps: TaskDeps = {
    db,
    bus,
    clients: new ConnectorClients(
      box,
      logger,
      { clientId: env.OAUTH_CLIENT_ID, clientSecret: env.OAUTH_CLIENT_SECRET },
      graphMetrics(metrics.registry),
      {
        allowlist: new HostAllowlist(env.ALLOWED_GRAPH_HOSTS),
        onRefused: (connector, message) => {
          logger.warn({ connectorId: connector.id }, message);
          void db
            .transaction()
            .execute(async (trx) => {
              await trx
                .updateTable('connectors')
                .set({ status: 'ERROR', status_message: message, updated_at: sql`now()` })
                .where('id', '=', connector.id)
                .execute();
              await appendConnectorLog(trx, connector.id, 'ERROR', message);
            })
            .catch((err: unknown) => logger.warn({ err, connectorId: connector.id }, 'could not record the refused connector host'));
        },
      },
    ),
    logger,
    signal: stop.signal,
    keepAliveMs: Math.max(500, Math.floor(env.NATS_ACK_WAIT_MS / 3)),
    holdBeforeCommitMs: env.PROVISION_TEST_HOLD_BEFORE_COMMIT_MS,
  };

  const consuming = bus.consumeProvisioningRequested((msg, ctx) => handleProvisioningRequested(deps, msg, ctx), {
    concurrency: env.PROVISION_CONCURRENCY,
    signal: stop.signal,
    retryDelayMs: 500,
    onError: (err) => {
      if (err instanceof NotYet) logger.debug({ reason: err.message }, 'task deferred');
      else if (err instanceof GraphError)
        logger.warn(
          { status: err.status, code: err.code, requestId: err.requestId },
          `provisioning task will be retried: ${err.graphMessage}`,
        );
      else logger.warn({ err }, 'provisioning task will be retried');
    },
  });
  consuming.catch((err: unknown) => logger.error({ err }, 'provisioning consumer stopped'));

  const scanNow = async () => {
    const expired = await scanExpiredGrants(deps);
    const republished = await sweepOrphanedTasks(deps, opts.orphanAfterMs ?? env.PROVISION_ORPHAN_AFTER_MS);
    return { expired, republished };
  };
  let scanning: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    scanning = scanNow().catch((err: unknown) => logger.warn({ err }, 'expiry scan failed; retrying next interval'));
  }, env.EXPIRY_SCAN_INTERVAL_MS);
  // First scan right away: grants that expired while no worker ran are revoked without waiting.
  scanning = scanNow().catch((err: unknown) => logger.warn({ err }, 'expiry scan failed; retrying next interval'));
  logger.info({ concurrency: env.PROVISION_CONCURRENCY, namespace: env.BUS_NAMESPACE, metrics: metrics.url }, 'provision worker started');

  let closed: Promise<void> | undefined;
  return {
    metricsUrl: metrics.url,
    scanNow,
    close() {
      closed ??= (async () => {
        clearInterval(timer);
        stop.abort();
        await consuming.catch(() => undefined);
        await scanning;
        await bus.close();
        await db.destroy();
        await metrics.close();
        logger.info('provision worker stopped');
      })();
      return closed;
    },
  };
}
