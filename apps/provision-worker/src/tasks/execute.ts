import { GraphAuthError, missingPermissions } from '@warden/graph-core';
import {
  directoryScopeOfSlug,
  entitlementKind,
  missingAdditionalWritePermissions,
  type EntitlementKind,
  requestRefusal,
} from '@warden/access-model';
import { type Database, type EntitlementRow, type ProvisioningTaskRow, type ResourceRow } from '@warden/database';
import type { Kysely } from 'kysely';
import type { ConnectorClients } from '../connector-clients';
import { OPERATIONS, PermanentFailure, type OperationInput, type OperationResult } from '../operations';
import { EXPIRY_KEY_PREFIX } from '../expiry/scan';

export interface ExecuteDeps {
  db: Kysely<Database>;
  clients: ConnectorClients;
}

export type Outcome =
  | {
      status: 'SUCCEEDED';
      kind: EntitlementKind;
      principal: ResourceRow;
      result: OperationResult;
      /** The tenant already held the grant before this task (first-attempt duplicate or probe). */
      heldBefore: boolean;
      /** A redelivered task found its effect already in Graph and made no call that changes anything. */
      recovered: boolean;
      /** A system expiry revoke whose grant was re-granted (extended or made permanent) after it was queued. */
      superseded?: boolean;
    }
  | { status: 'FAILED'; error: string; requestId: string | null };

/**
 * Carries out one claimed task against Graph. Refusals (gone, not grantable, wrong principal type,
 * missing permission) happen before any Graph write. `task.attempt` > 1 means an earlier run may
 * have reached Graph and died before recording it: Graph's current state is read first, so the
 * write is never repeated.
 */
export async function executeTask(deps: ExecuteDeps, task: ProvisioningTaskRow, signal: AbortSignal): Promise<Outcome> {
  try {
    return await run(deps, task, signal);
  } catch (err) {
    if (err instanceof PermanentFailure) return { status: 'FAILED', error: err.message, requestId: err.requestId };
    if (err instanceof GraphAuthError) {
      return {
        status: 'FAILED',
        error: `the connector's credentials were refused by the identity platform (${err.code}): ${err.description}`,
        requestId: null,
      };
    }
    throw err;
  }
}

async function run(deps: ExecuteDeps, task: ProvisioningTaskRow, signal: AbortSignal): Promise<Outcome> {
  const { db } = deps;
  const entitlement = await db.selectFrom('entitlements').selectAll().where('id', '=', task.entitlement_id).executeTakeFirst();
  if (!entitlement) throw new PermanentFailure(`the entitlement ${task.entitlement_key} no longer exists in Warden (a sync removed it)`);
  const principal = await db.selectFrom('resources').selectAll().where('id', '=', task.principal_id).executeTakeFirst();
  if (!principal) throw new PermanentFailure(`the principal ${task.principal_external_id} no longer exists in Warden (a sync removed it)`);
  const kind = entitlementKind(entitlement.resource_type, entitlement.slug);
  if (!kind) throw new PermanentFailure(`'${entitlement.slug}' on a ${entitlement.resource_type} cannot be provisioned`);
  const refusal = requestRefusal(entitlement, principal.type);
  if (refusal) throw new PermanentFailure(refusal);

  // Only the system's own expiry revokes (namespace 'system', unreachable from any caller's input, and
  // an expiry key) stand down when the grant was extended; a caller's revoke, or another system
  // revoke (an access review's remediation), always goes to Graph.
  if (
    task.action === 'REVOKE' &&
    task.namespace === 'system' &&
    task.idempotency_key.startsWith(EXPIRY_KEY_PREFIX) &&
    (await expiryExtended(db, task))
  ) {
    return {
      status: 'SUCCEEDED',
      kind,
      principal,
      result: { effect: 'unchanged', graphAssignmentId: null, requestId: null },
      heldBefore: false,
      recovered: false,
      superseded: true,
    };
  }

  const connector = await db.selectFrom('connectors').selectAll().where('id', '=', task.connector_id).executeTakeFirst();
  if (!connector) throw new PermanentFailure('the connector no longer exists');
  const graph = deps.clients.get(connector);
  const missing = missingFor(kind, entitlement, await graph.grantedPermissions(signal));
  if (missing.length > 0) {
    throw new PermanentFailure(
      `the connector's app lacks the application permission${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ` +
        'needed to provision; grant them with admin consent in Entra ID, then request again',
    );
  }

  const op = OPERATIONS[kind];
  const known = await knownAssignmentId(db, task);
  const input: OperationInput = {
    graph,
    signal,
    graphBaseUrl: connector.graph_base_url,
    resourceId: entitlement.resource_external_id,
    resourceName: await resourceName(db, entitlement),
    principalId: principal.external_id,
    principalType: principal.type,
    principalName: principal.display_name,
    directoryScopeId: directoryScopeOfSlug(entitlement.slug),
    appRoleId: entitlement.app_role_id,
    expiresAt: task.expires_at ? new Date(task.expires_at) : null,
    knownAssignmentId: known,
    justification: `Warden ${task.action.toLowerCase()} ${task.id} by ${task.requested_by}${task.reason ? `: ${task.reason}` : ''}`.slice(
      0,
      500,
    ),
  };

  const recovering = task.attempt > 1;
  const grantWithExpiry = task.action === 'GRANT' && task.expires_at !== null;
  if (recovering || grantWithExpiry) {
    // Read before writing: after a crash, so the write is not repeated; for just-in-time grants, so
    // access that was already held (and permanent) is told apart from access this task created.
    const state = await op.probe(input);
    if (task.action === 'GRANT' && state.held) {
      return {
        status: 'SUCCEEDED',
        kind,
        principal,
        result: { effect: 'unchanged', graphAssignmentId: state.graphAssignmentId, requestId: null },
        heldBefore: !recovering,
        recovered: recovering,
      };
    }
    if (task.action === 'REVOKE' && !state.held) {
      return {
        status: 'SUCCEEDED',
        kind,
        principal,
        result: { effect: 'unchanged', graphAssignmentId: known, requestId: null },
        heldBefore: false,
        recovered: recovering,
      };
    }
    if (task.action === 'REVOKE') input.knownAssignmentId = state.graphAssignmentId ?? known;
  }

  const result = task.action === 'GRANT' ? await op.grant(input) : await op.revoke(input);
  return {
    status: 'SUCCEEDED',
    kind,
    principal,
    result,
    heldBefore: task.action === 'GRANT' && result.effect === 'unchanged' && !recovering && !grantWithExpiry,
    recovered: false,
  };
}

/** The provisioning set, plus what the kind's write needs on top (access-model's rule, shared with the gateway). */
function missingFor(kind: EntitlementKind, entitlement: EntitlementRow, roles: string[]): string[] {
  return [...missingPermissions(roles).forProvisioning, ...missingAdditionalWritePermissions(kind, entitlement.metadata, roles)];
}

/** The grant's expiry moved past now (or was removed) by a later grant: the expiry no longer applies. */
async function expiryExtended(db: Kysely<Database>, task: ProvisioningTaskRow): Promise<boolean> {
  const grant = await db
    .selectFrom('grants')
    .select('expires_at')
    .where('connector_id', '=', task.connector_id)
    .where('entitlement_key', '=', task.entitlement_key)
    .where('principal_external_id', '=', task.principal_external_id)
    .where('direct', '=', true)
    .executeTakeFirst();
  return grant !== undefined && (grant.expires_at === null || new Date(grant.expires_at).getTime() > Date.now());
}

async function knownAssignmentId(db: Kysely<Database>, task: ProvisioningTaskRow): Promise<string | null> {
  if (task.graph_assignment_id) return task.graph_assignment_id;
  const grant = await db
    .selectFrom('grants')
    .select('graph_assignment_id')
    .where('connector_id', '=', task.connector_id)
    .where('entitlement_key', '=', task.entitlement_key)
    .where('principal_external_id', '=', task.principal_external_id)
    .where('direct', '=', true)
    .executeTakeFirst();
  return grant?.graph_assignment_id ?? null;
}

async function resourceName(db: Kysely<Database>, e: EntitlementRow): Promise<string> {
  const r = await db
    .selectFrom('resources')
    .select('display_name')
    .where('connector_id', '=', e.connector_id)
    .where('external_id', '=', e.resource_external_id)
    .executeTakeFirst();
  return r?.display_name ?? e.display_name;
}
