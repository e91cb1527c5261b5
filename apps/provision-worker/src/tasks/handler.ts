import type { Bus, ProvisioningRequested, ConsumeContext } from '@warden/bus';
import type { Database, ProvisioningStatus } from '@warden/database';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { ConnectorClients } from '../connector-clients';
import { claimTask, tryLockTask, unlockTask } from './claim';
import { executeTask } from './execute';
import { finishTask } from './finish';

export interface TaskDeps {
  db: Kysely<Database>;
  bus: Bus;
  clients: ConnectorClients;
  logger: Logger;
  /** Aborted when the worker shuts down: in-flight tasks stop and NATS hands them to another replica. */
  signal: AbortSignal;
  /** How often a long task tells NATS it is still alive (well below the ack wait). */
  keepAliveMs: number;
  /** Test failpoint (see PROVISION_TEST_HOLD_BEFORE_COMMIT_MS). */
  holdBeforeCommitMs?: number;
}

/** Thrown to have NATS redeliver later: another live worker owns the task, or an earlier task of the pair is open. */
export class NotYet extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotYet';
  }
}

/**
 * Handles one ProvisioningRequested message. Returning acks it; throwing naks it (redelivery).
 * Safe to run any number of times for the same task, on any replica.
 */
export async function handleProvisioningRequested(deps: TaskDeps, msg: ProvisioningRequested, ctx: ConsumeContext): Promise<void> {
  const first = await deps.db.selectFrom('provisioning_tasks').select(['status']).where('id', '=', msg.taskId).executeTakeFirst();
  if (!first || first.status === 'SUCCEEDED' || first.status === 'FAILED') return;

  await deps.db.connection().execute(async (conn) => {
    if (!(await tryLockTask(conn, msg.taskId))) throw new NotYet(`task ${msg.taskId} is being run by another worker`);
    const keepAlive = setInterval(() => ctx.working(), deps.keepAliveMs);
    try {
      const claim = await claimTask(conn, msg.taskId);
      if (claim.kind === 'done') return;
      if (claim.kind === 'waiting')
        throw new NotYet(`task ${msg.taskId} waits for earlier task ${claim.blockedBy} of the same entitlement and principal`);
      const task = claim.task;
      const log = deps.logger.child({ taskId: task.id, connectorId: task.connector_id, attempt: task.attempt });
      if (claim.fromStatus === 'PENDING') publish(deps, task.id, task.connector_id, 'RUNNING');
      else log.warn('resuming a task whose previous run ended without recording an outcome; reading Graph first');

      const outcome = await executeTask(deps, task, deps.signal);
      if (deps.holdBeforeCommitMs) {
        log.warn({ ms: deps.holdBeforeCommitMs }, 'test failpoint: holding before commit');
        await new Promise((r) => setTimeout(r, deps.holdBeforeCommitMs));
      }
      if (await finishTask(conn, task, outcome)) {
        publish(deps, task.id, task.connector_id, outcome.status);
        if (outcome.status === 'FAILED')
          log.warn({ action: task.action, entitlementKey: task.entitlement_key, error: outcome.error }, 'provisioning task failed');
        else
          log.info(
            { action: task.action, entitlementKey: task.entitlement_key, effect: outcome.result.effect },
            'provisioning task succeeded',
          );
      }
    } finally {
      clearInterval(keepAlive);
      await unlockTask(conn, msg.taskId).catch(() => undefined);
    }
  });
}

function publish(deps: TaskDeps, taskId: string, connectorId: string, status: ProvisioningStatus): void {
  deps.bus.publishProvisioningTaskUpdated({ v: 1, taskId, connectorId, status, at: new Date().toISOString() });
}
