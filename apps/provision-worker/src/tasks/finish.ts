import { appendAudit, appendConnectorLog, principalKindOfResource } from '@warden/access-model';
import { type Database, type ProvisioningTaskRow } from '@warden/database';
import type { Kysely } from 'kysely';
import { writeGrant, writeRevoke } from '../write-through';
import type { Outcome } from './execute';

/**
 * Records the outcome in one transaction: task row, grant rows (write-through) and the audit
 * entry commit together, so what the event announces is already queryable. Returns false when the
 * task was no longer RUNNING (nothing written).
 */
export async function finishTask(conn: Kysely<Database>, task: ProvisioningTaskRow, outcome: Outcome): Promise<boolean> {
  return conn.transaction().execute(async (trx) => {
    const succeeded = outcome.status === 'SUCCEEDED';
    const requestId = succeeded ? outcome.result.requestId : outcome.requestId;
    const assignmentId = succeeded ? outcome.result.graphAssignmentId : null;
    const error = outcome.status === 'FAILED' ? outcome.error : null;
    const updated = await trx
      .updateTable('provisioning_tasks')
      .set({
        status: outcome.status,
        error,
        graph_request_id: requestId ?? task.graph_request_id,
        graph_assignment_id: assignmentId ?? task.graph_assignment_id,
        completed_at: new Date(),
      })
      .where('id', '=', task.id)
      .where('status', '=', 'RUNNING')
      .returning('id')
      .executeTakeFirst();
    if (!updated) return false;

    if (succeeded && !outcome.superseded) {
      const base = {
        connectorId: task.connector_id,
        kind: outcome.kind,
        entitlementKey: task.entitlement_key,
        principalExternalId: task.principal_external_id,
        principalKind: principalKindOfResource(outcome.principal.type),
      };
      if (task.action === 'GRANT') {
        await writeGrant(trx, {
          ...base,
          expiresAt: task.expires_at ? new Date(task.expires_at) : null,
          graphAssignmentId: assignmentId,
          heldBefore: outcome.heldBefore,
        });
      } else {
        await writeRevoke(trx, base);
      }
    } else {
      await appendConnectorLog(
        trx,
        task.connector_id,
        'WARN',
        `${task.action === 'GRANT' ? 'Grant' : 'Revoke'} of ${task.entitlement_key} for ${task.principal_external_id} failed: ${error}`,
      );
    }

    await appendAudit(trx, {
      actor: task.requested_by,
      action: `${task.action.toLowerCase()}.${succeeded ? 'succeeded' : 'failed'}`,
      connectorId: task.connector_id,
      details: {
        taskId: task.id,
        entitlementKey: task.entitlement_key,
        principalExternalId: task.principal_external_id,
        reason: task.reason,
        expiresAt: task.expires_at ? new Date(task.expires_at).toISOString() : null,
        attempt: task.attempt,
        graphRequestId: requestId ?? null,
        graphAssignmentId: assignmentId,
        ...(succeeded
          ? {
              effect: outcome.result.effect,
              heldBefore: outcome.heldBefore,
              recoveredAfterCrash: outcome.recovered,
              ...(outcome.superseded ? { superseded: 'the grant was extended after it expired' } : {}),
            }
          : { error }),
      },
    });
    return true;
  });
}
