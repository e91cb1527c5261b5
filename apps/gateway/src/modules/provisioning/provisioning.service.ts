import { randomUUID } from 'node:crypto';
import { appendAudit, principalRefusal, type ProvisioningAction, type ProvisioningTaskRow } from '@warden/schema';
import { requireConnectorWriter } from '../../auth/authorize';
import type { Caller } from '../../auth/roles';
import type { GatewayDeps } from '../../context';
import { BadUserInputError, ConflictError, ForbiddenError, NotFoundError } from '../../errors';
import { isUuid } from '../../pagination/cursor';
import { DIRECTORY_ROLE_WRITE_PERMISSION, missingPermissions } from '../connectors/permissions';

export interface ProvisioningRequest {
  action: ProvisioningAction;
  entitlementId: string;
  principalId: string;
  reason?: string | null;
  expiresAt?: Date | null;
  idempotencyKey?: string | null;
}

/**
 * grant / revoke: validates, then inserts the PENDING task with its audit row in one transaction
 * and publishes ProvisioningRequested. This is the gateway's copy of the provision worker's
 * requestProvisioning (importing the worker would pull its Graph client into the gateway); both
 * use principalRefusal from @warden/schema, the one rule of who may hold what.
 */
export class ProvisioningService {
  constructor(private readonly deps: GatewayDeps) {}

  async request(caller: Caller | null, req: ProvisioningRequest): Promise<ProvisioningTaskRow> {
    const { db } = this.deps;
    const key = req.idempotencyKey?.trim() || randomUUID();
    if (key.length > 200) throw new BadUserInputError('idempotencyKey may be at most 200 characters');
    if (req.reason && req.reason.length > 2000) throw new BadUserInputError('reason may be at most 2000 characters');

    if (!isUuid(req.entitlementId)) throw new NotFoundError(`entitlement ${req.entitlementId} does not exist`);
    if (!isUuid(req.principalId)) throw new NotFoundError(`principal ${req.principalId} does not exist`);
    const entitlement = await db.selectFrom('entitlements').selectAll().where('id', '=', req.entitlementId).executeTakeFirst();
    if (!entitlement) throw new NotFoundError(`entitlement ${req.entitlementId} does not exist`);
    const connector = await db.selectFrom('connectors').select(['id', 'display_name', 'owners', 'granted_permissions']).where('id', '=', entitlement.connector_id).executeTakeFirstOrThrow();
    const who = requireConnectorWriter(caller, connector);

    const existing = await this.byKey(key);
    if (existing) return this.repeat(existing, req);

    const principal = await db.selectFrom('resources').select(['id', 'connector_id', 'type', 'external_id', 'display_name']).where('id', '=', req.principalId).executeTakeFirst();
    if (!principal) throw new NotFoundError(`principal ${req.principalId} does not exist`);
    if (principal.connector_id !== entitlement.connector_id) throw new BadUserInputError('the principal and the entitlement belong to different connectors');

    if (req.action === 'REVOKE' && req.expiresAt) throw new BadUserInputError('expiresAt applies to grant only');
    if (req.expiresAt && req.expiresAt.getTime() <= Date.now()) throw new BadUserInputError('expiresAt must be in the future');
    if (!entitlement.grantable) {
      throw new BadUserInputError(`'${entitlement.display_name}' is not grantable: Graph cannot change it (dynamic, on-premises-synced or mail-enabled group)`);
    }
    const refusal = principalRefusal(
      { resourceType: entitlement.resource_type, slug: entitlement.slug, unifiedGroup: entitlement.metadata.unifiedGroup, allowedMemberTypes: entitlement.metadata.allowedMemberTypes },
      principal.type,
    );
    if (refusal) throw new BadUserInputError(refusal);
    this.checkPermissions(connector, entitlement.resource_type);

    const task = await db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto('provisioning_tasks')
        .values({
          connector_id: entitlement.connector_id,
          action: req.action,
          entitlement_id: entitlement.id,
          entitlement_key: entitlement.key,
          principal_id: principal.id,
          principal_external_id: principal.external_id,
          requested_by: who.sub,
          reason: req.reason ?? null,
          expires_at: req.expiresAt ?? null,
          idempotency_key: key,
        })
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!inserted) return null;
      await appendAudit(trx, {
        actor: who.sub,
        action: `${req.action.toLowerCase()}.requested`,
        connectorId: entitlement.connector_id,
        details: {
          taskId: inserted.id, entitlementKey: entitlement.key, entitlement: entitlement.display_name, principalExternalId: principal.external_id,
          principal: principal.display_name, reason: req.reason ?? null, expiresAt: req.expiresAt?.toISOString() ?? null, idempotencyKey: key,
        },
      });
      return inserted;
    });
    if (!task) {
      // A concurrent request with the same key won the insert.
      const winner = await this.byKey(key);
      if (!winner) throw new Error('task vanished after an idempotency conflict');
      return this.repeat(winner, req);
    }
    await this.publish(task);
    return task;
  }

  private checkPermissions(connector: { display_name: string; granted_permissions: string[] }, resourceType: string): void {
    if (connector.granted_permissions.length === 0) {
      throw new ForbiddenError(`connector '${connector.display_name}' has no verified Graph permissions; update its credentials (or complete admin consent) first`);
    }
    const missing = missingPermissions(connector.granted_permissions).forProvisioning;
    if (missing.length) throw new ForbiddenError(`connector '${connector.display_name}' lacks Graph permissions needed to provision: ${missing.join(', ')}`);
    if (resourceType === 'DIRECTORY_ROLE' && !connector.granted_permissions.includes(DIRECTORY_ROLE_WRITE_PERMISSION)) {
      throw new ForbiddenError(`connector '${connector.display_name}' lacks ${DIRECTORY_ROLE_WRITE_PERMISSION}, which directory role changes need`);
    }
  }

  private byKey(key: string) {
    return this.deps.db.selectFrom('provisioning_tasks').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
  }

  private async repeat(task: ProvisioningTaskRow, req: ProvisioningRequest): Promise<ProvisioningTaskRow> {
    if (task.action !== req.action || task.entitlement_id !== req.entitlementId || task.principal_id !== req.principalId) {
      throw new ConflictError('this idempotency key was already used for a different request');
    }
    if (task.status === 'PENDING') await this.publish(task);
    return task;
  }

  private async publish(task: ProvisioningTaskRow): Promise<void> {
    // The row is durable once committed; the provision worker's sweeper re-publishes PENDING rows
    // whose message was lost, so a failed publish is logged, not surfaced.
    await this.deps.bus.publishProvisioningRequested({ v: 1, taskId: task.id, connectorId: task.connector_id }).catch((err: unknown) => {
      this.deps.logger.warn({ taskId: task.id, err: err instanceof Error ? err.message : String(err) }, 'publish ProvisioningRequested failed; the sweeper will retry');
    });
    this.deps.bus.publishProvisioningTaskUpdated({ v: 1, taskId: task.id, connectorId: task.connector_id, status: task.status, at: new Date().toISOString() });
  }
}
