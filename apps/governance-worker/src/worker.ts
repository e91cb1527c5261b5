import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Bus } from '@warden/bus';
import { sql } from 'kysely';
import { createDb, migrateToLatest } from '@warden/database';
import {
  EmailChannel,
  LogChannel,
  NotificationDispatcher,
  seededRandom,
  WebhookChannel,
  type NotificationChannel,
} from '@warden/notifications';
import { createLogger, startMetricsServer } from '@warden/service-kit';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Consumer, Loop, WorkerDeps } from './deps';
import { ensureParsed, type GovernanceWorkerEnvironment, type GovernanceWorkerEnvironmentInput } from './environment';
import { CONSUMERS, LOOPS } from './registry';
import { offsetClock } from './test-clock';

export type { Consumer, Loop, WorkerDeps } from './deps';

export interface GovernanceWorker {
  /** GET /metrics of this worker, when METRICS_PORT is set. */
  metricsUrl: string | null;
  deps: WorkerDeps;
  /** Runs the named loops (default: all) once now and waits for them (tests, operators). */
  runNow(names?: string[]): Promise<void>;
  /** Stops the timers and consumers, waits for running passes, closes connections. */
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** The worker's clock (default: the real one). */
  now?: () => Date;
  /** Replaces the registered loops / consumers (tests). */
  loops?: readonly Loop[];
  consumers?: readonly Consumer[];
  /** Extra channels besides those configured by the environment (tests). */
  channels?: NotificationChannel[];
  /** Do not start the timers: loops run only through runNow (tests that drive the clock). */
  manual?: boolean;
}

/**
 * Starts a governance worker in this process: migrate, connect, run the loops and consumers.
 * `envInput` is raw variables (parsed here) or the result of parseEnvironment (used as it is).
 */
export async function startGovernanceWorker(
  envInput: GovernanceWorkerEnvironment | GovernanceWorkerEnvironmentInput | Record<string, string | undefined>,
  opts: StartOptions = {},
): Promise<GovernanceWorker> {
  const env = ensureParsed(envInput);
  const logger = opts.logger ?? createLogger({ name: 'governance-worker', level: env.LOG_LEVEL });
  const db = createDb({
    connectionString: env.DATABASE_URL,
    max: 8,
    applicationName: 'warden-governance-worker',
    idleTimeoutMs: env.DB_IDLE_TIMEOUT_MS,
    // The message only: a pg error carries its client (connection internals such as the cancel key).
    onIdleError: (err) => logger.warn({ err: err.message }, 'idle database connection lost'),
  });
  await migrateToLatest(db);
  const bus = await Bus.connect({ url: env.NATS_URL, namespace: env.BUS_NAMESPACE, name: 'warden-governance-worker' });
  const metrics = await startMetricsServer({
    prefix: 'warden_governance_worker_',
    port: env.METRICS_PORT,
    host: env.METRICS_HOST,
    // /readyz fails while Postgres or NATS is away; /healthz (liveness) does not.
    ready: {
      postgres: async () => (await sql`SELECT 1 AS ok`.execute(db)).rows.length === 1,
      nats: () => bus.isConnected(),
    },
  });
  const loopRuns = new Counter({
    name: 'warden_governance_loop_runs_total',
    help: 'Passes of the governance worker loops, by loop and outcome',
    labelNames: ['loop', 'outcome'] as const,
    registers: [metrics.registry],
  });
  const loopDuration = new Histogram({
    name: 'warden_governance_loop_duration_seconds',
    help: 'Duration of one pass of a governance worker loop',
    labelNames: ['loop'] as const,
    registers: [metrics.registry],
  });
  const deliveries = new Counter({
    name: 'warden_notification_delivery_attempts_total',
    help: 'Notification delivery attempts, by channel and outcome (sent, retry, dead = gave up)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [metrics.registry],
  });
  // Read from Postgres at scrape time, so every replica reports the same truth and a restart loses nothing.
  new Gauge({
    name: 'warden_notification_deliveries',
    help: 'Notification deliveries now PENDING (waiting or retrying) and DEAD (dead-letter records), by channel',
    labelNames: ['channel', 'status'] as const,
    registers: [metrics.registry],
    async collect() {
      const rows = await db
        .selectFrom('notification_deliveries')
        .select(['channel', 'status', (eb) => eb.fn.countAll<number>().as('n')])
        .where('status', 'in', ['PENDING', 'DEAD'])
        .groupBy(['channel', 'status'])
        .execute()
        .catch(() => []);
      this.reset();
      for (const r of rows) this.set({ channel: r.channel, status: r.status }, Number(r.n));
    },
  });

  const seed = env.NOTIFY_RANDOM_SEED ?? randomInt(0, 2 ** 32 - 1);
  const channels = [...configuredChannels(env, logger), ...(opts.channels ?? [])];
  const notifications = new NotificationDispatcher({
    db,
    channels,
    logger,
    maxAttempts: env.NOTIFY_MAX_ATTEMPTS,
    backoff: { baseMs: env.NOTIFY_RETRY_BASE_MS, maxMs: env.NOTIFY_RETRY_MAX_MS },
    random: seededRandom(seed),
    // A claim outlives the slowest send (webhook timeout; SMTP's own 30 s timeouts) with margin.
    leaseMs: Math.max(120_000, env.NOTIFY_WEBHOOK_TIMEOUT_MS * 2),
    onAttempt: (channel, outcome) => deliveries.inc({ channel, outcome }),
  });
  if (channels.length === 0) logger.warn('no notification channel is configured: notifications stay PENDING until one is');

  const stop = new AbortController();
  const now = opts.now ?? (env.GOVERNANCE_TEST_CLOCK_OFFSET_FILE ? offsetClock(env.GOVERNANCE_TEST_CLOCK_OFFSET_FILE) : () => new Date());
  const deps: WorkerDeps = { db, bus, logger, env, registry: metrics.registry, signal: stop.signal, now, notifications };
  const loops = opts.loops ?? LOOPS;

  const runLoop = async (loop: Loop): Promise<void> => {
    const end = loopDuration.startTimer({ loop: loop.name });
    try {
      await loop.run(deps, now());
      loopRuns.inc({ loop: loop.name, outcome: 'ok' });
    } catch (err) {
      loopRuns.inc({ loop: loop.name, outcome: 'error' });
      logger.warn({ err, loop: loop.name }, 'governance loop failed; it runs again at its next interval');
    } finally {
      end();
    }
  };
  // One pass at a time per loop in this process; runNow joins a running pass instead of overlapping it.
  const running = new Map<string, Promise<void>>();
  const runExclusive = (loop: Loop): Promise<void> => {
    const current = running.get(loop.name);
    if (current) return current.then(() => runExclusive(loop));
    const p = runLoop(loop).finally(() => running.delete(loop.name));
    running.set(loop.name, p);
    return p;
  };
  const intervalOf = (loop: Loop): number => {
    const own = typeof loop.intervalMs === 'function' ? loop.intervalMs(env) : loop.intervalMs;
    return env.GOVERNANCE_MAX_INTERVAL_MS === undefined ? own : Math.min(own, env.GOVERNANCE_MAX_INTERVAL_MS);
  };
  const timers = opts.manual
    ? []
    : loops.map(async (loop) => {
        while (!stop.signal.aborted) {
          await runExclusive(loop);
          await sleep(intervalOf(loop), undefined, { signal: stop.signal }).catch(() => undefined);
        }
      });
  const consuming = (opts.consumers ?? CONSUMERS).map((c) =>
    c.start(deps).catch((err: unknown) => logger.error({ err, consumer: c.name }, 'governance consumer stopped')),
  );
  logger.info(
    { loops: loops.map((l) => l.name), channels: notifications.channelNames, randomSeed: seed, metrics: metrics.url },
    'governance worker started',
  );

  let closed: Promise<void> | undefined;
  return {
    metricsUrl: metrics.url,
    deps,
    async runNow(names) {
      const selected = names ? loops.filter((l) => names.includes(l.name)) : loops;
      const unknown = (names ?? []).filter((n) => !loops.some((l) => l.name === n));
      if (unknown.length > 0) throw new Error(`unknown governance loop: ${unknown.join(', ')}`);
      await Promise.all(selected.map((l) => runExclusive(l)));
    },
    close() {
      closed ??= (async () => {
        stop.abort();
        await Promise.all(timers);
        await Promise.all(consuming);
        await Promise.all([...running.values()]);
        await notifications.close();
        await bus.close();
        await db.destroy();
        await metrics.close();
        logger.info('governance worker stopped');
      })();
      return closed;
    },
  };
}

/** The channels the environment turns on: log (NOTIFY_LOG), webhook (NOTIFY_WEBHOOK_URL), email (SMTP_URL). */
export function configuredChannels(env: GovernanceWorkerEnvironment, logger: Logger): NotificationChannel[] {
  const channels: NotificationChannel[] = [];
  if (env.NOTIFY_LOG) channels.push(new LogChannel(logger));
  if (env.NOTIFY_WEBHOOK_URL && env.NOTIFY_WEBHOOK_SECRET) {
    channels.push(
      new WebhookChannel({ url: env.NOTIFY_WEBHOOK_URL, secret: env.NOTIFY_WEBHOOK_SECRET, timeoutMs: env.NOTIFY_WEBHOOK_TIMEOUT_MS }),
    );
  }
  if (env.SMTP_URL && env.NOTIFY_EMAIL_FROM) channels.push(new EmailChannel({ smtpUrl: env.SMTP_URL, from: env.NOTIFY_EMAIL_FROM }));
  return channels;
}
