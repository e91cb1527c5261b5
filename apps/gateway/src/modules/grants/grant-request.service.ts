import { randomUUID } from 'node:crypto';
import { entitlementKind, missingAdditionalWritePermissions, ProvisioningRequestError, requestProvisioning } from '@warden/access-model';
import type { ProvisioningTaskUpdated } from '@warden/bus';
import { type EntitlementMetadata, type ProvisioningAction, type ProvisioningTaskRow, type ResourceType } from '@warden/database';
import { actorDetails } from '../../auth/audit-actor';
import { requireConnectorWriter } from '../../auth/authorize';
import type { Caller } from '../../auth/roles';
import type { GatewayDeps } from '../../context';
import { BadUserInputError, ConflictError, ForbiddenError, NotFoundError } from '../../errors';
import { isUuid } from '../../pagination/cursor';
import { eventStream } from '../../subscriptions/event-stream';
import { missingPermissions } from '../connectors/permissions';

export interface ProvisioningRequest {
  action: ProvisioningAction;
  entitlementId: string;
  principalId: string;
  reason?: string | null;
  expiresAt?: Date | null;
  idempotencyKey?: string | null;
}

/**
 * Where the gateway writes a grant or a revoke (Mutation.grant / Mutation.revoke; the provision
 * worker carries the task out against Graph).
 *
 * grant / revoke: the gateway's checks (caller may change this connector, the connector holds the
 * provisioning permissions, input limits), then @warden/access-model's requestProvisioning — the one
 * place a task is created, shared with the provision worker — which refuses what Graph could never
 * do, inserts the PENDING task with its audit row and publishes the command.
 */
export class GrantRequestService {
  constructor(private readonly deps: GatewayDeps) {}

  /** A provisioning task by id (null for an id that is not a UUID or no task). */
  async findTask(id: string): Promise<ProvisioningTaskRow | null> {
    if (!isUuid(id)) return null;
    return (await this.deps.db.selectFrom('provisioning_tasks').selectAll().where('id', '=', id).executeTakeFirst()) ?? null;
  }

  /** The task's state changes from NATS (any replica's), for Subscription.provisioningTaskUpdated. */
  taskUpdates(taskId: string): AsyncIterableIterator<ProvisioningTaskUpdated> {
    if (!isUuid(taskId)) throw new NotFoundError(`provisioning task ${taskId} does not exist`);
    return eventStream<ProvisioningTaskUpdated>((push) => this.deps.bus.subscribeProvisioningTaskUpdated(taskId, push));
  }

  async request(caller: Caller | null, req: ProvisioningRequest): Promise<ProvisioningTaskRow> {
    const { db } = this.deps;
    const key = req.idempotencyKey?.trim() || randomUUID();
    if (key.length > 200) throw new BadUserInputError('idempotencyKey may be at most 200 characters');
    if (req.reason && req.reason.length > 2000) throw new BadUserInputError('reason may be at most 2000 characters');

    if (!isUuid(req.entitlementId)) throw new NotFoundError(`entitlement ${req.entitlementId} does not exist`);
    if (!isUuid(req.principalId)) throw new NotFoundError(`principal ${req.principalId} does not exist`);
    const entitlement = await db
      .selectFrom('entitlements')
      .select(['connector_id', 'resource_type', 'slug', 'metadata'])
      .where('id', '=', req.entitlementId)
      .executeTakeFirst();
    if (!entitlement) throw new NotFoundError(`entitlement ${req.entitlementId} does not exist`);
    const connector = await db
      .selectFrom('connectors')
      .select(['id', 'display_name', 'owners', 'granted_permissions'])
      .where('id', '=', entitlement.connector_id)
      .executeTakeFirstOrThrow();
    const who = requireConnectorWriter(caller, connector);

    // Keys belong to the caller on this connector (namespace 'user'); the system's keys are out of reach.
    const repeated = await db
      .selectFrom('provisioning_tasks')
      .select('id')
      .where('connector_id', '=', connector.id)
      .where('namespace', '=', 'user')
      .where('requested_by', '=', who.sub)
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
    if (!repeated) this.checkPermissions(connector, entitlement);
    try {
      const task = await requestProvisioning(
        db,
        this.deps.bus,
        {
          action: req.action,
          entitlementId: req.entitlementId,
          principalId: req.principalId,
          requestedBy: who.sub,
          reason: req.reason ?? null,
          expiresAt: req.expiresAt ?? null,
          idempotencyKey: key,
        },
        { auditDetails: actorDetails(who) },
      );
      return task;
    } catch (err) {
      if (err instanceof ProvisioningRequestError) {
        if (err.code === 'NOT_FOUND') throw new NotFoundError(err.message);
        if (err.code === 'CONFLICT') throw new ConflictError(err.message);
        throw new BadUserInputError(err.message);
      }
      throw err;
    }
  }

  private checkPermissions(
    connector: { display_name: string; granted_permissions: string[] },
    e: { resource_type: ResourceType; slug: string; metadata: EntitlementMetadata },
  ): void {
    if (connector.granted_permissions.length === 0) {
      throw new ForbiddenError(
        `connector '${connector.display_name}' has no verified Graph permissions; update its credentials (or complete admin consent) first`,
      );
    }
    const missing = missingPermissions(connector.granted_permissions).forProvisioning;
    if (missing.length)
      throw new ForbiddenError(`connector '${connector.display_name}' lacks Graph permissions needed to provision: ${missing.join(', ')}`);
    // The provision worker's rule too: role kinds and membership of role-assignable groups need the role-write permission.
    const kind = entitlementKind(e.resource_type, e.slug);
    const extra = kind ? missingAdditionalWritePermissions(kind, e.metadata, connector.granted_permissions) : [];
    if (extra.length) {
      throw new ForbiddenError(
        `connector '${connector.display_name}' lacks ${extra.join(', ')}, which directory role changes (and membership of role-assignable groups) need`,
      );
    }
  }
}
