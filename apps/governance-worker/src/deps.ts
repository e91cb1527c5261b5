import type { Bus } from '@warden/bus';
import type { Database } from '@warden/database';
import type { NotificationDispatcher } from '@warden/notifications';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { GovernanceWorkerEnvironment } from './environment';

/** What every loop and consumer of the governance worker is given. */
export interface WorkerDeps {
  db: Kysely<Database>;
  bus: Bus;
  logger: Logger;
  env: GovernanceWorkerEnvironment;
  /** This process's Prometheus registry (register loop-specific metrics once per registry). */
  registry: Registry;
  /** Aborted on shutdown: long work checks it and stops early. */
  signal: AbortSignal;
  /** The clock of this worker (tests pass a fixed or moving one). */
  now(): Date;
  notifications: NotificationDispatcher;
}

/**
 * A timer-driven job. `run` is called every `intervalMs` (never overlapping itself in one process)
 * and must be safe with several replicas running it at once: claim rows with
 * `FOR UPDATE SKIP LOCKED` or make the change conditional, keep all state in Postgres.
 * A thrown error is logged and counted; the loop runs again at the next interval.
 */
export interface Loop {
  name: string;
  intervalMs: number | ((env: GovernanceWorkerEnvironment) => number);
  run(deps: WorkerDeps, now: Date): Promise<void>;
}

/**
 * A bus subscription. `start` consumes until `deps.signal` aborts and then resolves; the worker
 * awaits it on shutdown. Use JetStream durable consumers (one replica handles each message) or
 * make the handler idempotent.
 */
export interface Consumer {
  name: string;
  start(deps: WorkerDeps): Promise<void>;
}
