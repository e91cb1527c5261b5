import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { principalRefusal } from '../access/grantability';
import { appendAudit, appendAuditMany } from '../audit';
import type { Bus } from '@warden/bus';
import type { Database, ProvisioningAction, ProvisioningKeyNamespace, ProvisioningTaskRow, ResourceType } from '@warden/database';

export interface ProvisioningRequestInput {
  action: ProvisioningAction;
  /** entitlements.id */
  entitlementId: string;
  /** resources.id of the principal (user, group, service principal). */
  principalId: string;
  /** Token subject of the caller: the owner of `idempotencyKey`. */
  requestedBy: string;
  reason?: string | null;
  /** GRANT only: just-in-time access, revoked automatically at this time. */
  expiresAt?: Date | string | null;
  /**
   * Repeating a request with the same key (same caller, same connector) returns the same task; a
   * different request under it is CONFLICT. One is generated when absent.
   */
  idempotencyKey?: string | null;
}

export interface RequestOptions {
  /**
   * Refuse requests Graph could never carry out (not grantable, principal type not allowed) before
   * a task exists. Default true; the worker checks again before any Graph call either way.
   */
  validate?: boolean;
  /** Audit action override, e.g. 'grant.expired' for the system's expiry revokes. */
  auditAction?: string;
  /** More about the actor for the audit row's details (the gateway's `actorOid`); never the task's own fields. */
  auditDetails?: Record<string, unknown>;
}

export type ProvisioningRequestErrorCode = 'NOT_FOUND' | 'BAD_USER_INPUT' | 'CONFLICT';

/** A request that cannot become a task; `code` maps onto the GraphQL contract's error codes. */
export class ProvisioningRequestError extends Error {
  constructor(
    readonly code: ProvisioningRequestErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProvisioningRequestError';
  }
}

/**
 * The one way a caller's provisioning task comes to exist — the gateway's grant/revoke mutations call
 * this (the system's own work goes through requestSystemProvisioning).
 * Inserts a PENDING provisioning task with its audit row (one transaction) and publishes
 * ProvisioningRequested. Idempotent on `idempotencyKey` *of this caller on this connector*: the key
 * is stored with its owner (`requestedBy`, namespace 'user') and the entitlement's connector, so the
 * same key from another caller is another task, and no caller can take a key the system uses. A
 * repeat with the same request returns the existing task (and re-publishes it while still PENDING,
 * which JetStream de-duplicates within its window); a repeat with a different request (action,
 * entitlement, principal or expiry) is CONFLICT.
 */
export async function requestProvisioning(
  db: Kysely<Database>,
  bus: Bus,
  input: ProvisioningRequestInput,
  opts: RequestOptions = {},
): Promise<ProvisioningTaskRow> {
  return createTask(db, bus, 'user', input, opts);
}

/** What the system enqueues by itself (expiry revokes): always requested by 'system'. */
export type SystemProvisioningRequestInput = Omit<ProvisioningRequestInput, 'requestedBy' | 'idempotencyKey'> & {
  /** Derived by the system from what the task is for; unique per connector in the system namespace. */
  idempotencyKey: string;
};

/** The actor and key owner of system work. */
export const SYSTEM_ACTOR = 'system';

/**
 * Work the system enqueues itself (the provision worker's expiry scan). Its keys live in the
 * 'system' namespace, which requestProvisioning — and so any caller input — cannot reach: a caller
 * can neither pre-create nor collide with them, whatever the key or token subject.
 */
export async function requestSystemProvisioning(
  db: Kysely<Database>,
  bus: Bus,
  input: SystemProvisioningRequestInput,
  opts: RequestOptions = {},
): Promise<ProvisioningTaskRow> {
  return createTask(db, bus, 'system', { ...input, requestedBy: SYSTEM_ACTOR }, opts);
}

async function createTask(
  db: Kysely<Database>,
  bus: Bus,
  namespace: ProvisioningKeyNamespace,
  input: ProvisioningRequestInput,
  opts: RequestOptions,
): Promise<ProvisioningTaskRow> {
  const idempotencyKey = input.idempotencyKey?.trim() || randomUUID();
  const entitlement = await db.selectFrom('entitlements').selectAll().where('id', '=', input.entitlementId).executeTakeFirst();
  if (!entitlement) throw new ProvisioningRequestError('NOT_FOUND', `entitlement ${input.entitlementId} does not exist`);
  const owner: KeyOwner = { connectorId: entitlement.connector_id, namespace, requestedBy: input.requestedBy, key: idempotencyKey };
  const existing = await findByKey(db, owner);
  if (existing) return repeat(bus, existing, input);

  const principal = await db
    .selectFrom('resources')
    .select(['id', 'connector_id', 'type', 'external_id', 'display_name'])
    .where('id', '=', input.principalId)
    .executeTakeFirst();
  if (!principal) throw new ProvisioningRequestError('NOT_FOUND', `principal ${input.principalId} does not exist`);
  if (principal.connector_id !== entitlement.connector_id) {
    throw new ProvisioningRequestError('BAD_USER_INPUT', 'the principal and the entitlement belong to different connectors');
  }

  const expiresAt = input.expiresAt == null ? null : new Date(input.expiresAt);
  if (expiresAt && Number.isNaN(expiresAt.getTime())) throw new ProvisioningRequestError('BAD_USER_INPUT', 'expiresAt is not a valid date');
  if (expiresAt && input.action === 'REVOKE') throw new ProvisioningRequestError('BAD_USER_INPUT', 'expiresAt only applies to GRANT');
  if (expiresAt && expiresAt.getTime() <= Date.now())
    throw new ProvisioningRequestError('BAD_USER_INPUT', 'expiresAt must be in the future');

  if (opts.validate !== false) {
    const refusal = requestRefusal(entitlement, principal.type);
    if (refusal) throw new ProvisioningRequestError('BAD_USER_INPUT', refusal);
  }

  const task = await db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('provisioning_tasks')
      .values({
        connector_id: entitlement.connector_id,
        action: input.action,
        entitlement_id: entitlement.id,
        entitlement_key: entitlement.key,
        principal_id: principal.id,
        principal_external_id: principal.external_id,
        requested_by: input.requestedBy,
        namespace,
        reason: input.reason ?? null,
        expires_at: expiresAt,
        idempotency_key: idempotencyKey,
      })
      .onConflict((oc) => oc.columns(['connector_id', 'namespace', 'requested_by', 'idempotency_key']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!inserted) return null; // a concurrent request with the same key won
    await appendAudit(trx, {
      actor: input.requestedBy,
      action: opts.auditAction ?? `${input.action.toLowerCase()}.requested`,
      connectorId: entitlement.connector_id,
      details: {
        ...opts.auditDetails,
        taskId: inserted.id,
        entitlementKey: entitlement.key,
        entitlement: entitlement.display_name,
        principalExternalId: principal.external_id,
        principal: principal.display_name,
        reason: input.reason ?? null,
        expiresAt: expiresAt?.toISOString() ?? null,
        idempotencyKey,
      },
    });
    return inserted;
  });
  if (!task) {
    const winner = await findByKey(db, owner);
    if (!winner) throw new Error(`task with idempotency key ${idempotencyKey} vanished`);
    return repeat(bus, winner, input);
  }
  // The PENDING event goes out before the command, so subscribers never see RUNNING first.
  bus.publishProvisioningTaskUpdated({
    v: 1,
    taskId: task.id,
    connectorId: task.connector_id,
    status: 'PENDING',
    at: new Date().toISOString(),
  });
  await publish(bus, task);
  return task;
}

/** The reason Graph could never carry out this request, or null. */
export function requestRefusal(
  entitlement: {
    grantable: boolean;
    resource_type: ResourceType;
    slug: string;
    display_name: string;
    metadata: { unifiedGroup?: boolean; allowedMemberTypes?: string[]; scopeAllowed?: unknown };
  },
  principalType: ResourceType,
): string | null {
  if (!entitlement.grantable)
    return `'${entitlement.display_name}' is not grantable: Graph cannot change it (dynamic, on-premises-synced or mail-enabled group)`;
  return principalRefusal(
    {
      resourceType: entitlement.resource_type,
      slug: entitlement.slug,
      unifiedGroup: entitlement.metadata.unifiedGroup,
      allowedMemberTypes: entitlement.metadata.allowedMemberTypes,
      scopeAllowed: entitlement.metadata.scopeAllowed === false ? false : undefined,
    },
    principalType,
  );
}

interface KeyOwner {
  connectorId: string;
  namespace: ProvisioningKeyNamespace;
  requestedBy: string;
  key: string;
}

async function findByKey(db: Kysely<Database>, o: KeyOwner): Promise<ProvisioningTaskRow | undefined> {
  return db
    .selectFrom('provisioning_tasks')
    .selectAll()
    .where('connector_id', '=', o.connectorId)
    .where('namespace', '=', o.namespace)
    .where('requested_by', '=', o.requestedBy)
    .where('idempotency_key', '=', o.key)
    .executeTakeFirst();
}

/** The same key again: the same task when it is the same request, CONFLICT when anything that matters differs. */
async function repeat(bus: Bus, task: ProvisioningTaskRow, input: ProvisioningRequestInput): Promise<ProvisioningTaskRow> {
  const differs: string[] = [];
  if (task.action !== input.action) differs.push('action');
  if (task.entitlement_id !== input.entitlementId) differs.push('entitlement');
  if (task.principal_id !== input.principalId) differs.push('principal');
  if (timeOf(task.expires_at) !== timeOf(input.expiresAt)) differs.push('expiresAt');
  if (differs.length > 0) {
    throw new ProvisioningRequestError(
      'CONFLICT',
      `this idempotency key was already used for a different request (different ${differs.join(', ')}); use a new key`,
    );
  }
  if (task.status === 'PENDING') await publish(bus, task);
  return task;
}

/** Epoch ms of an optional time (null when absent); an unparsable input never equals a stored time. */
function timeOf(v: Date | string | null | undefined): number | null {
  if (v == null) return null;
  const ms = new Date(v).getTime();
  return Number.isNaN(ms) ? -1 : ms;
}

async function publish(bus: Bus, task: ProvisioningTaskRow): Promise<void> {
  // A failed publish leaves a PENDING row; the worker's sweeper re-publishes such rows, so the
  // request is durable once the transaction committed.
  await bus.publishProvisioningRequested({ v: 1, taskId: task.id, connectorId: task.connector_id }).catch(() => undefined);
}

/**
 * Many system requests at once (an access review's revokes): what requestSystemProvisioning does for
 * one, set-based. The entitlements and principals are read in one query each, the refusals decided in
 * memory, the new tasks inserted with their audit rows in one transaction (a key that already has a
 * task keeps it: the same task back, or CONFLICT when it was for something else), then published.
 * Returns, per input and in its order, the task or the refusal.
 */
export async function requestSystemProvisioningMany(
  db: Kysely<Database>,
  bus: Bus,
  inputs: readonly SystemProvisioningRequestInput[],
  opts: Pick<RequestOptions, 'auditDetails'> & { auditDetailsOf?: (index: number) => Record<string, unknown> } = {},
): Promise<Array<ProvisioningTaskRow | ProvisioningRequestError>> {
  if (inputs.length === 0) return [];
  const entitlements = new Map(
    (
      await db
        .selectFrom('entitlements')
        .selectAll()
        .where('id', 'in', [...new Set(inputs.map((i) => i.entitlementId))])
        .execute()
    ).map((e) => [e.id, e]),
  );
  const principals = new Map(
    (
      await db
        .selectFrom('resources')
        .select(['id', 'connector_id', 'type', 'external_id', 'display_name'])
        .where('id', 'in', [...new Set(inputs.map((i) => i.principalId))])
        .execute()
    ).map((p) => [p.id, p]),
  );
  const out: Array<ProvisioningTaskRow | ProvisioningRequestError | null> = inputs.map((input) => {
    if (input.expiresAt != null)
      return new ProvisioningRequestError('BAD_USER_INPUT', 'expiresAt is not supported in a batch of system requests');
    const entitlement = entitlements.get(input.entitlementId);
    if (!entitlement) return new ProvisioningRequestError('NOT_FOUND', `entitlement ${input.entitlementId} does not exist`);
    const principal = principals.get(input.principalId);
    if (!principal) return new ProvisioningRequestError('NOT_FOUND', `principal ${input.principalId} does not exist`);
    if (principal.connector_id !== entitlement.connector_id)
      return new ProvisioningRequestError('BAD_USER_INPUT', 'the principal and the entitlement belong to different connectors');
    const refusal = requestRefusal(entitlement, principal.type);
    return refusal ? new ProvisioningRequestError('BAD_USER_INPUT', refusal) : null;
  });
  const todo = inputs.map((input, index) => ({ input, index })).filter(({ index }) => out[index] === null);
  const created = await db.transaction().execute(async (trx) => {
    if (todo.length === 0) return [];
    const inserted = await trx
      .insertInto('provisioning_tasks')
      .values(
        todo.map(({ input }) => {
          const entitlement = entitlements.get(input.entitlementId)!;
          const principal = principals.get(input.principalId)!;
          return {
            connector_id: entitlement.connector_id,
            action: input.action,
            entitlement_id: entitlement.id,
            entitlement_key: entitlement.key,
            principal_id: principal.id,
            principal_external_id: principal.external_id,
            requested_by: SYSTEM_ACTOR,
            namespace: 'system' as const,
            reason: input.reason ?? null,
            expires_at: null,
            idempotency_key: input.idempotencyKey,
          };
        }),
      )
      .onConflict((oc) => oc.columns(['connector_id', 'namespace', 'requested_by', 'idempotency_key']).doNothing())
      .returningAll()
      .execute();
    const byKey = new Map(inserted.map((t) => [t.idempotency_key, t]));
    await appendAuditMany(
      trx,
      todo.flatMap(({ input, index }) => {
        const task = byKey.get(input.idempotencyKey);
        if (!task) return [];
        const entitlement = entitlements.get(input.entitlementId)!;
        const principal = principals.get(input.principalId)!;
        return [
          {
            actor: SYSTEM_ACTOR,
            action: `${input.action.toLowerCase()}.requested`,
            connectorId: entitlement.connector_id,
            details: {
              ...opts.auditDetails,
              ...opts.auditDetailsOf?.(index),
              taskId: task.id,
              entitlementKey: entitlement.key,
              entitlement: entitlement.display_name,
              principalExternalId: principal.external_id,
              principal: principal.display_name,
              reason: input.reason ?? null,
              expiresAt: null,
              idempotencyKey: input.idempotencyKey,
            },
          },
        ];
      }),
    );
    return inserted;
  });
  const fresh = new Map(created.map((t) => [`${t.connector_id}|${t.idempotency_key}`, t]));
  // Keys that already had a task (an earlier, interrupted pass): the same task back when it is the same request.
  const repeated = todo.filter(({ input }) => !fresh.has(`${entitlements.get(input.entitlementId)!.connector_id}|${input.idempotencyKey}`));
  const earlier = new Map<string, ProvisioningTaskRow>();
  if (repeated.length > 0) {
    const rows = await db
      .selectFrom('provisioning_tasks')
      .selectAll()
      .where('namespace', '=', 'system')
      .where('requested_by', '=', SYSTEM_ACTOR)
      .where(
        'idempotency_key',
        'in',
        repeated.map(({ input }) => input.idempotencyKey),
      )
      .execute();
    for (const t of rows) earlier.set(`${t.connector_id}|${t.idempotency_key}`, t);
  }
  for (const { input, index } of todo) {
    const key = `${entitlements.get(input.entitlementId)!.connector_id}|${input.idempotencyKey}`;
    const task = fresh.get(key);
    if (task) {
      out[index] = task;
      continue;
    }
    const before = earlier.get(key);
    if (!before) throw new Error(`task with idempotency key ${input.idempotencyKey} vanished`);
    out[index] = await repeat(bus, before, { ...input, requestedBy: SYSTEM_ACTOR }).catch((err: unknown) => {
      if (err instanceof ProvisioningRequestError) return err;
      throw err;
    });
  }
  // The PENDING events go out before the commands, so subscribers never see RUNNING first.
  const at = new Date().toISOString();
  for (const t of created) bus.publishProvisioningTaskUpdated({ v: 1, taskId: t.id, connectorId: t.connector_id, status: 'PENDING', at });
  await Promise.all(created.map((t) => publish(bus, t)));
  return out.map((r) => r!);
}
