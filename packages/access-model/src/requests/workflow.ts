import { sql, type Transaction } from 'kysely';
import type { AccessRequestRow, ApprovalStepRecord, ApproverRecord, Database, ResourceType } from '@warden/database';
import { appendAudit, type AuditEntry } from '../audit';
import { fallbackDeciders, isDecider, resolveDeciders, type DecidingCaller, type DecisionSubject } from '../deciders/resolve';
import { ProvisioningRequestError, requestRefusal, requestSystemProvisioning } from '../provisioning/request';
import { enqueueNotification, type NotificationInput } from '@warden/notifications';
import { nowOf, publishUpdated, type RequestDeps } from './deps';
import { AccessRequestError, isUniqueViolation } from './errors';
import { effectivePolicy } from './policy';

/** Who acts on a request: token subject, plus its Graph object id when its tenant is the connector's. */
export interface RequestActor extends DecidingCaller {
  /** Extra audit details about the actor (e.g. the token's oid in any tenant). */
  auditDetails?: Record<string, unknown>;
}

export interface RequestAccessInput {
  entitlementId: string;
  principalId: string;
  justification: string;
  durationSeconds?: number | null;
  idempotencyKey?: string | null;
}

export const REQUEST_LIMITS = { justification: 2000, comment: 2000, idempotencyKey: 200 } as const;

/** The system's idempotency key of the grant that carries out an approved request. */
export function requestTaskKey(requestId: string): string {
  return `access-request:${requestId}`;
}

/** The outcome of a transition body: the new row, its audit row and what to tell people. */
interface Transition {
  row: AccessRequestRow;
  audit: AuditEntry;
  notes: NotificationInput[];
}

/** One transaction: the state change, its audit row and its notifications; then the bus event. */
async function commit(
  deps: RequestDeps,
  body: (trx: Transaction<Database>) => Promise<Transition | null>,
): Promise<AccessRequestRow | null> {
  const done = await deps.db.transaction().execute(async (trx) => {
    const t = await body(trx);
    if (!t) return null;
    await appendAudit(trx, t.audit);
    // The outbox, in the transition's transaction: a notification exists exactly when the change does.
    for (const n of t.notes) await enqueueNotification(trx, n);
    return t.row;
  });
  if (done) publishUpdated(deps, done);
  return done;
}

function subjectOf(row: AccessRequestRow, resource: { type: ResourceType; externalId: string }): DecisionSubject {
  return {
    connectorId: row.connector_id,
    principal: { id: row.principal_id, externalId: row.principal_external_id },
    resource,
    requester: { subject: row.requested_by, oid: row.requested_by_oid },
  };
}

function resourceOfKey(entitlementKey: string): { type: ResourceType; externalId: string } {
  const [type, externalId] = entitlementKey.split(':');
  return { type: type as ResourceType, externalId: externalId ?? '' };
}

function recipientsOf(approvers: ApproverRecord[]) {
  return approvers.map((a) => (a.subject !== null ? { subject: a.subject } : { resourceId: a.resourceId ?? undefined }));
}

function approverColumns(approvers: ApproverRecord[]) {
  return {
    approvers: JSON.stringify(approvers),
    approver_subjects: approvers.flatMap((a) => (a.subject !== null ? [a.subject] : [])),
    approver_oids: approvers.flatMap((a) => (a.oid !== null ? [a.oid] : [])),
  };
}

/** The approvers a request leaves behind when its step moves on or is escalated. */
function formerColumns(row: AccessRequestRow) {
  const seen = new Set<string>();
  const all = [...row.former_approvers, ...row.approvers].filter((a) => {
    const k = a.subject !== null ? `s:${a.subject}` : `o:${a.oid ?? ''}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return { former_approvers: JSON.stringify(all) };
}

function stepName(steps: ApprovalStepRecord[], i: number): string {
  return `step ${i + 1} of ${steps.length} (${steps[i]?.kind ?? '?'})`;
}

/** The deciders of step `i`, or null when nobody may decide it. */
async function beginStep(
  trx: Transaction<Database>,
  steps: ApprovalStepRecord[],
  i: number,
  who: DecisionSubject,
): Promise<ApproverRecord[] | null> {
  const step = steps[i];
  if (!step) return null;
  const { deciders } = await resolveDeciders(trx, step.kind, step.subjects, who);
  return deciders.length > 0 ? deciders : null;
}

function awaitingNote(row: AccessRequestRow, approvers: ApproverRecord[], entitlementName: string, escalated = false): NotificationInput {
  return {
    kind: escalated ? 'request.escalated' : 'request.awaiting_decision',
    recipients: recipientsOf(approvers),
    title: escalated ? `Escalated: access request waits for your decision` : `Access request waits for your decision`,
    text: `${row.requested_by} requests '${entitlementName}' (${row.duration_seconds ? `${row.duration_seconds} s` : 'permanent'}): ${row.justification}`,
    data: { requestId: row.id, connectorId: row.connector_id, step: row.current_step },
    dedupeKey: `access-request:${row.id}:step:${row.current_step ?? -1}:${escalated ? 'escalated' : 'awaiting'}`,
  };
}

function outcomeNote(row: AccessRequestRow, what: string, text: string): NotificationInput {
  return {
    kind: 'request.decided',
    recipients: [{ subject: row.requested_by }, { resourceId: row.principal_id }],
    title: `Access request ${what}`,
    text,
    data: { requestId: row.id, connectorId: row.connector_id, status: row.status },
    dedupeKey: `access-request:${row.id}:${row.status}`,
  };
}

/**
 * requestAccess: validates against the entitlement's policy and opens the request with its first
 * step's approvers (or approves it at once when the policy has no steps). Authorization of *who* may
 * request for *which* principal is the caller's (the gateway): this checks the rules of access.
 */
export async function requestAccess(deps: RequestDeps, actor: RequestActor, input: RequestAccessInput): Promise<AccessRequestRow> {
  const { db } = deps;
  const justification = input.justification.trim();
  const key = input.idempotencyKey?.trim() || null;
  if (key && key.length > REQUEST_LIMITS.idempotencyKey)
    throw new AccessRequestError('BAD_USER_INPUT', `idempotencyKey may be at most ${REQUEST_LIMITS.idempotencyKey} characters`);
  if (!justification) throw new AccessRequestError('BAD_USER_INPUT', 'a justification is required');
  if (justification.length > REQUEST_LIMITS.justification)
    throw new AccessRequestError('BAD_USER_INPUT', `justification may be at most ${REQUEST_LIMITS.justification} characters`);
  const duration = input.durationSeconds ?? null;

  const entitlement = await db.selectFrom('entitlements').selectAll().where('id', '=', input.entitlementId).executeTakeFirst();
  if (!entitlement) throw new AccessRequestError('NOT_FOUND', `entitlement ${input.entitlementId} does not exist`);

  if (key) {
    const existing = await db
      .selectFrom('access_requests')
      .selectAll()
      .where('connector_id', '=', entitlement.connector_id)
      .where('requested_by', '=', actor.subject)
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
    if (existing) return sameRequest(existing, input, justification, duration);
  }

  const principal = await db
    .selectFrom('resources')
    .select(['id', 'connector_id', 'type', 'external_id', 'display_name'])
    .where('id', '=', input.principalId)
    .executeTakeFirst();
  if (!principal) throw new AccessRequestError('NOT_FOUND', `principal ${input.principalId} does not exist`);
  if (principal.connector_id !== entitlement.connector_id)
    throw new AccessRequestError('BAD_USER_INPUT', 'the principal and the entitlement belong to different connectors');

  const policy = await effectivePolicy(db, entitlement.connector_id, entitlement.id);
  if (!policy.requestable || !entitlement.grantable)
    throw new AccessRequestError(
      'FORBIDDEN',
      `'${entitlement.display_name}' is not requestable${entitlement.grantable ? '' : ' (Graph cannot grant it)'}`,
    );
  const refusal = requestRefusal(entitlement, principal.type);
  if (refusal) throw new AccessRequestError('BAD_USER_INPUT', refusal);
  if (duration !== null && (!Number.isInteger(duration) || duration <= 0))
    throw new AccessRequestError('BAD_USER_INPUT', 'durationSeconds must be a positive whole number of seconds');
  if (duration === null && policy.require_duration)
    throw new AccessRequestError('BAD_USER_INPUT', `'${entitlement.display_name}' needs a duration: its policy grants no permanent access`);
  if (policy.max_duration_seconds !== null && (duration === null || duration > policy.max_duration_seconds))
    throw new AccessRequestError(
      'BAD_USER_INPUT',
      `durationSeconds must be at most ${policy.max_duration_seconds} for '${entitlement.display_name}'${duration === null ? ' (permanent access exceeds it)' : ''}`,
    );

  const held = await db
    .selectFrom('grants')
    .select(['source', 'expires_at'])
    .where('connector_id', '=', entitlement.connector_id)
    .where('entitlement_key', '=', entitlement.key)
    .where('principal_external_id', '=', principal.external_id)
    .where('direct', '=', true)
    .executeTakeFirst();
  if (held) {
    const how = `${held.source === 'provisioning' ? 'granted through Warden' : 'synced from Entra'}${held.expires_at ? `, until ${new Date(held.expires_at).toISOString()}` : ', permanently'}`;
    throw new AccessRequestError(
      'CONFLICT',
      `${principal.display_name || principal.external_id} already holds '${entitlement.display_name}' directly (${how})`,
    );
  }
  await refuseOpen(db, entitlement.id, principal.id, entitlement.display_name);

  const steps = policy.steps;
  const now = nowOf(deps);
  const resource = { type: entitlement.resource_type, externalId: entitlement.resource_external_id };
  let row: AccessRequestRow | null;
  try {
    row = await commit(deps, async (trx) => {
      const draft = {
        connector_id: entitlement.connector_id,
        entitlement_id: entitlement.id,
        entitlement_key: entitlement.key,
        principal_id: principal.id,
        principal_external_id: principal.external_id,
        requested_by: actor.subject,
        requested_by_oid: actor.oid,
        justification,
        duration_seconds: duration,
        steps: JSON.stringify(steps),
        idempotency_key: key,
        created_at: now,
        updated_at: now,
      };
      const who: DecisionSubject = {
        connectorId: entitlement.connector_id,
        principal: { id: principal.id, externalId: principal.external_id },
        resource,
        requester: { subject: actor.subject, oid: actor.oid },
      };
      let values;
      let action: string;
      if (steps.length === 0) {
        values = { ...draft, status: 'APPROVED' as const, current_step: null, approved_at: now, expires_at: expiryOf(now, duration) };
        action = 'access_request.approved';
      } else {
        const approvers = await beginStep(trx, steps, 0, who);
        values = approvers
          ? { ...draft, status: 'PENDING' as const, current_step: 0, step_started_at: now, ...approverColumns(approvers) }
          : { ...draft, status: 'DENIED' as const, current_step: null, status_reason: `nobody may decide ${stepName(steps, 0)}` };
        action = approvers ? 'access_request.created' : 'access_request.denied';
      }
      const inserted = await trx.insertInto('access_requests').values(values).returningAll().executeTakeFirstOrThrow();
      const notes: NotificationInput[] = [];
      if (inserted.status === 'PENDING') notes.push(awaitingNote(inserted, inserted.approvers, entitlement.display_name));
      if (inserted.status === 'DENIED') notes.push(outcomeNote(inserted, 'denied', inserted.status_reason ?? 'denied'));
      return {
        row: inserted,
        notes,
        audit: {
          actor: actor.subject,
          action,
          connectorId: entitlement.connector_id,
          details: {
            ...actor.auditDetails,
            requestId: inserted.id,
            entitlementKey: entitlement.key,
            entitlement: entitlement.display_name,
            principalExternalId: principal.external_id,
            principal: principal.display_name,
            durationSeconds: duration,
            justification,
            approvers: inserted.approvers,
            ...(inserted.status_reason ? { reason: inserted.status_reason } : {}),
            ...(steps.length === 0 ? { note: 'the policy has no approval steps: approved at once' } : {}),
          },
        },
      };
    });
  } catch (err) {
    if (isUniqueViolation(err, 'access_requests_idempotency') && key) {
      const winner = await db
        .selectFrom('access_requests')
        .selectAll()
        .where('connector_id', '=', entitlement.connector_id)
        .where('requested_by', '=', actor.subject)
        .where('idempotency_key', '=', key)
        .executeTakeFirstOrThrow();
      return sameRequest(winner, input, justification, duration);
    }
    if (isUniqueViolation(err, 'access_requests_open')) await refuseOpen(db, entitlement.id, principal.id, entitlement.display_name);
    throw err;
  }
  if (!row) throw new Error('access request was not created');
  if (row.status === 'APPROVED') return handOver(deps, row);
  return row;
}

/**
 * The grant of a just-approved request. The approval has committed whatever happens here: if the
 * grant cannot be requested now (database or bus trouble), the caller still gets the APPROVED
 * request and the governance worker's follow pass requests it later, with the same key.
 */
async function handOver(deps: RequestDeps, row: AccessRequestRow): Promise<AccessRequestRow> {
  try {
    return (await provisionApproved(deps, row)) ?? row;
  } catch {
    return row;
  }
}

async function refuseOpen(db: RequestDeps['db'], entitlementId: string, principalId: string, name: string): Promise<void> {
  const open = await db
    .selectFrom('access_requests')
    .select(['id', 'status'])
    .where('entitlement_id', '=', entitlementId)
    .where('principal_id', '=', principalId)
    .where('status', 'in', ['PENDING', 'APPROVED'])
    .executeTakeFirst();
  if (open)
    throw new AccessRequestError('CONFLICT', `access request ${open.id} for '${name}' and this principal is already ${open.status}`);
}

function sameRequest(
  existing: AccessRequestRow,
  input: RequestAccessInput,
  justification: string,
  duration: number | null,
): AccessRequestRow {
  const differs: string[] = [];
  if (existing.entitlement_id !== input.entitlementId) differs.push('entitlement');
  if (existing.principal_id !== input.principalId) differs.push('principal');
  if (existing.justification !== justification) differs.push('justification');
  if (existing.duration_seconds !== duration) differs.push('durationSeconds');
  if (differs.length)
    throw new AccessRequestError(
      'CONFLICT',
      `this idempotency key was already used for a different request (different ${differs.join(', ')}); use a new key`,
    );
  return existing;
}

function expiryOf(at: Date, durationSeconds: number | null): Date | null {
  return durationSeconds === null ? null : new Date(at.getTime() + durationSeconds * 1000);
}

async function loadRequest(deps: RequestDeps, id: string): Promise<AccessRequestRow> {
  const row = await deps.db.selectFrom('access_requests').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new AccessRequestError('NOT_FOUND', `access request ${id} does not exist`);
  return row;
}

async function entitlementName(trx: Transaction<Database> | RequestDeps['db'], row: AccessRequestRow): Promise<string> {
  const e = await trx.selectFrom('entitlements').select('display_name').where('id', '=', row.entitlement_id).executeTakeFirst();
  return e?.display_name ?? row.entitlement_key;
}

/**
 * Refuses a decider who may not decide this request now: a request that moved on is CONFLICT; the
 * requester, the principal, and anyone not among the current step's approvers are FORBIDDEN.
 */
export function decisionRefusal(row: AccessRequestRow, caller: DecidingCaller): AccessRequestError | null {
  if (row.status !== 'PENDING' || row.current_step === null)
    return new AccessRequestError('CONFLICT', `access request ${row.id} is ${row.status}: there is nothing to decide`);
  if (caller.subject === row.requested_by || (caller.oid !== null && caller.oid === row.requested_by_oid))
    return new AccessRequestError('FORBIDDEN', 'nobody decides their own request');
  if (caller.oid !== null && caller.oid === row.principal_external_id)
    return new AccessRequestError('FORBIDDEN', 'nobody decides about access for themselves');
  if (!isDecider(row.approvers, caller)) {
    // An approver of an earlier step (or from before an escalation) was too late, not unauthorised.
    if (isDecider(row.former_approvers, caller))
      return new AccessRequestError(
        'CONFLICT',
        `access request ${row.id} has moved on to ${stepName(row.steps, row.current_step)}, which you do not decide`,
      );
    return new AccessRequestError(
      'FORBIDDEN',
      `you are not an approver of ${stepName(row.steps, row.current_step)} of access request ${row.id}`,
    );
  }
  return null;
}

/**
 * approve / deny. Compare-and-set on (status PENDING, the step the caller saw): of two approvers of
 * one step deciding at once, one moves the request on and the other gets CONFLICT. The first
 * denial ends the request; the last approval makes it APPROVED and starts the grant.
 */
export async function decideAccessRequest(
  deps: RequestDeps,
  id: string,
  caller: RequestActor,
  decision: { approved: boolean; comment?: string | null },
): Promise<AccessRequestRow> {
  const comment = decision.comment?.trim() || null;
  if (comment && comment.length > REQUEST_LIMITS.comment)
    throw new AccessRequestError('BAD_USER_INPUT', `comment may be at most ${REQUEST_LIMITS.comment} characters`);
  const seen = await loadRequest(deps, id);
  const refusal = decisionRefusal(seen, caller);
  if (refusal) throw refusal;
  const step = seen.current_step as number;
  const now = nowOf(deps);

  const row = await commit(deps, async (trx) => {
    const name = await entitlementName(trx, seen);
    const last = step + 1 >= seen.steps.length;
    let set: Record<string, unknown>;
    let action: string;
    let nextApprovers: ApproverRecord[] | null = null;
    if (!decision.approved) {
      set = { status: 'DENIED', current_step: null, status_reason: comment ?? `denied by ${caller.subject}`, ...approverColumns([]) };
      action = 'access_request.denied';
    } else if (last) {
      set = {
        status: 'APPROVED',
        current_step: null,
        approved_at: now,
        expires_at: expiryOf(now, seen.duration_seconds),
        ...approverColumns([]),
      };
      action = 'access_request.approved';
    } else {
      nextApprovers = await beginStep(trx, seen.steps, step + 1, subjectOf(seen, resourceOfKey(seen.entitlement_key)));
      set = nextApprovers
        ? {
            current_step: step + 1,
            step_started_at: now,
            step_escalated_at: null,
            ...approverColumns(nextApprovers),
            ...formerColumns(seen),
          }
        : {
            status: 'DENIED',
            current_step: null,
            status_reason: `nobody may decide ${stepName(seen.steps, step + 1)}`,
            ...approverColumns([]),
          };
      action = nextApprovers ? 'access_request.step_approved' : 'access_request.denied';
    }
    const updated = await trx
      .updateTable('access_requests')
      .set({ ...set, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'PENDING')
      .where('current_step', '=', step)
      .returningAll()
      .executeTakeFirst();
    if (!updated)
      throw new AccessRequestError(
        'CONFLICT',
        `access request ${id} has moved on since step ${step + 1} was shown: decide again on its current state`,
      );
    await trx
      .insertInto('access_request_decisions')
      .values({ request_id: id, step, actor: caller.subject, actor_oid: caller.oid, approved: decision.approved, comment, at: now })
      .execute();
    const notes: NotificationInput[] = [];
    if (updated.status === 'PENDING') notes.push(awaitingNote(updated, updated.approvers, name));
    else if (updated.status === 'APPROVED') notes.push(outcomeNote(updated, 'approved', `'${name}' was approved and is being granted`));
    else notes.push(outcomeNote(updated, 'denied', `'${name}' was denied: ${updated.status_reason ?? ''}`));
    return {
      row: updated,
      notes,
      audit: {
        actor: caller.subject,
        action,
        connectorId: seen.connector_id,
        details: {
          ...caller.auditDetails,
          requestId: id,
          step,
          approved: decision.approved,
          comment,
          entitlementKey: seen.entitlement_key,
          principalExternalId: seen.principal_external_id,
          ...(nextApprovers ? { nextApprovers } : {}),
          ...(updated.status_reason ? { reason: updated.status_reason } : {}),
        },
      },
    };
  });
  if (!row) throw new Error('decision was not recorded');
  if (row.status === 'APPROVED') return handOver(deps, row);
  return row;
}

/** cancel: PENDING only (compare-and-set); who may cancel is the caller's rule (requester or connector admin). */
export async function cancelAccessRequest(deps: RequestDeps, id: string, actor: RequestActor): Promise<AccessRequestRow> {
  const seen = await loadRequest(deps, id);
  if (seen.status !== 'PENDING')
    throw new AccessRequestError('CONFLICT', `access request ${id} is ${seen.status}: only a PENDING request can be cancelled`);
  const now = nowOf(deps);
  const row = await commit(deps, async (trx) => {
    const updated = await trx
      .updateTable('access_requests')
      .set({
        status: 'CANCELLED',
        current_step: null,
        status_reason: `cancelled by ${actor.subject}`,
        updated_at: now,
        ...approverColumns([]),
      })
      .where('id', '=', id)
      .where('status', '=', 'PENDING')
      .returningAll()
      .executeTakeFirst();
    if (!updated) throw new AccessRequestError('CONFLICT', `access request ${id} is no longer PENDING`);
    return {
      row: updated,
      notes: [],
      audit: {
        actor: actor.subject,
        action: 'access_request.cancelled',
        connectorId: seen.connector_id,
        details: { ...actor.auditDetails, requestId: id, step: seen.current_step },
      },
    };
  });
  if (!row) throw new Error('cancel was not recorded');
  return row;
}

/**
 * Carries out an APPROVED request through the one grant path (requestSystemProvisioning): the key
 * `access-request:<id>` in the system's namespace makes a retry — after a crash between the approval
 * and here, by the governance worker's follow loop — return the same task, never a second one.
 * A request Graph could never carry out any more (entitlement gone, expiry already past) becomes
 * FAILED with the reason.
 */
export async function provisionApproved(deps: RequestDeps, row: AccessRequestRow): Promise<AccessRequestRow | null> {
  if (row.status !== 'APPROVED') return row;
  try {
    const task = await requestSystemProvisioning(
      deps.db,
      deps.bus,
      {
        action: 'GRANT',
        entitlementId: row.entitlement_id,
        principalId: row.principal_id,
        reason: `access request ${row.id}: ${row.justification}`.slice(0, 2000),
        expiresAt: row.expires_at,
        idempotencyKey: requestTaskKey(row.id),
      },
      { auditDetails: { accessRequestId: row.id, requestedBy: row.requested_by } },
    );
    const linked = await deps.db
      .updateTable('access_requests')
      .set({ provisioning_task_id: task.id })
      .where('id', '=', row.id)
      .where('provisioning_task_id', 'is', null)
      .returningAll()
      .executeTakeFirst();
    return linked ?? (await deps.db.selectFrom('access_requests').selectAll().where('id', '=', row.id).executeTakeFirst()) ?? null;
  } catch (err) {
    if (!(err instanceof ProvisioningRequestError)) throw err;
    return finish(deps, row.id, 'APPROVED', 'FAILED', `the grant could not be requested: ${err.message}`, 'access_request.failed');
  }
}

/** A status change driven by the system (provisioning outcome, expiry), compare-and-set on `from`. */
async function finish(
  deps: RequestDeps,
  id: string,
  from: 'APPROVED' | 'ACTIVE',
  to: 'ACTIVE' | 'FAILED' | 'EXPIRED',
  reason: string | null,
  action: string,
  extra: Record<string, unknown> = {},
): Promise<AccessRequestRow | null> {
  const now = nowOf(deps);
  return commit(deps, async (trx) => {
    const updated = await trx
      .updateTable('access_requests')
      .set({ status: to, status_reason: reason, updated_at: now, ...extra })
      .where('id', '=', id)
      .where('status', '=', from)
      .returningAll()
      .executeTakeFirst();
    if (!updated) return null;
    const name = await entitlementName(trx, updated);
    const text =
      to === 'ACTIVE'
        ? `'${name}' is granted${updated.expires_at ? ` until ${new Date(updated.expires_at).toISOString()}` : ''}`
        : to === 'FAILED'
          ? `'${name}' could not be granted: ${reason ?? ''}`
          : `'${name}' has expired and was revoked`;
    return {
      row: updated,
      notes: [{ ...outcomeNote(updated, to.toLowerCase(), text), kind: 'request.decided' }],
      audit: {
        actor: 'system',
        action,
        connectorId: updated.connector_id,
        details: { requestId: id, from, to, reason, taskId: updated.provisioning_task_id },
      },
    };
  });
}

/**
 * Follows approved requests to their grant's outcome and active ones to their expiry. Replica-safe:
 * every change is a compare-and-set on the status, so two workers doing this at once change each
 * request once. Returns how many requests changed (or were handed to provisioning again).
 */
export async function followAccessRequests(deps: RequestDeps, opts: { limit?: number; retryAfterMs?: number } = {}): Promise<number> {
  const limit = opts.limit ?? 500;
  const now = nowOf(deps);
  let changed = 0;
  // Approved but never handed to provisioning (a crash between the approval and the grant request).
  const orphans = await deps.db
    .selectFrom('access_requests')
    .selectAll()
    .where('status', '=', 'APPROVED')
    .where('provisioning_task_id', 'is', null)
    .where('approved_at', '<=', new Date(now.getTime() - (opts.retryAfterMs ?? 2_000)))
    .orderBy('approved_at')
    .limit(limit)
    .execute();
  for (const r of orphans) if ((await provisionApproved(deps, r))?.provisioning_task_id) changed++;

  const outcomes = await deps.db
    .selectFrom('access_requests as r')
    .innerJoin('provisioning_tasks as t', 't.id', 'r.provisioning_task_id')
    .select(['r.id', 't.status as task_status', 't.error as task_error', 't.completed_at'])
    .where('r.status', '=', 'APPROVED')
    .where('t.status', 'in', ['SUCCEEDED', 'FAILED'])
    .limit(limit)
    .execute();
  for (const o of outcomes) {
    const done =
      o.task_status === 'SUCCEEDED'
        ? await finish(deps, o.id, 'APPROVED', 'ACTIVE', null, 'access_request.active')
        : await finish(deps, o.id, 'APPROVED', 'FAILED', o.task_error ?? 'the grant failed', 'access_request.failed');
    if (done) changed++;
  }

  // Time-bound access that ended: the provision worker's expiry scan revoked the grant (its system
  // key is derived from connector, entitlement, principal and expiry), or no direct grant carries this
  // request's expiry any more — gone, or never carrying it: access the principal already held
  // permanently keeps no expiry (heldBefore), and a later grant may have replaced it. Waiting for
  // "no direct grant at all" left such a request ACTIVE for ever (found by the chaos suite).
  const expired = await sql<{ id: string }>`
    SELECT r.id FROM access_requests r
    WHERE r.status = 'ACTIVE' AND r.expires_at IS NOT NULL AND r.expires_at <= ${now}
      AND (
        EXISTS (
          SELECT 1 FROM provisioning_tasks t
          WHERE t.connector_id = r.connector_id AND t.namespace = 'system' AND t.requested_by = 'system' AND t.status = 'SUCCEEDED'
            AND t.idempotency_key = 'expiry:' || r.connector_id::text || ':' || r.entitlement_key || ':' || r.principal_external_id || ':'
                                    || (extract(epoch FROM r.expires_at) * 1000)::bigint)
        OR NOT EXISTS (
          SELECT 1 FROM grants g
          WHERE g.connector_id = r.connector_id AND g.entitlement_key = r.entitlement_key
            AND g.principal_external_id = r.principal_external_id AND g.direct AND g.expires_at = r.expires_at))
    ORDER BY r.expires_at
    LIMIT ${limit}`.execute(deps.db);
  for (const e of expired.rows)
    if (await finish(deps, e.id, 'ACTIVE', 'EXPIRED', 'time-bound access ended and was revoked', 'access_request.expired')) changed++;
  return changed;
}

/**
 * Step deadlines: a PENDING step with no decision `timeoutMs` after it began is escalated once to
 * its fallback subjects; `timeoutMs` after the escalation the request is DENIED with the reason.
 * The schedule is the rows themselves (step_started_at, step_escalated_at), so it survives restarts;
 * compare-and-set on (step, escalation time) keeps replicas from acting twice.
 */
export async function enforceStepDeadlines(deps: RequestDeps, timeoutMs: number, opts: { limit?: number } = {}): Promise<number> {
  const now = nowOf(deps);
  const due = await deps.db
    .selectFrom('access_requests')
    .selectAll()
    .where('status', '=', 'PENDING')
    .where(sql<Date>`coalesce(step_escalated_at, step_started_at)`, '<=', new Date(now.getTime() - timeoutMs))
    .orderBy(sql`coalesce(step_escalated_at, step_started_at)`)
    .limit(opts.limit ?? 500)
    .execute();
  let changed = 0;
  for (const seen of due) {
    const step = seen.current_step as number;
    const row = await commit(deps, async (trx) => {
      const name = await entitlementName(trx, seen);
      const fallback =
        seen.step_escalated_at === null
          ? fallbackDeciders(seen.steps[step]?.subjects ?? [], subjectOf(seen, resourceOfKey(seen.entitlement_key)))
          : [];
      const escalate = seen.step_escalated_at === null && fallback.length > 0;
      const hours = Math.round((timeoutMs / 3_600_000) * 100) / 100;
      const set = escalate
        ? { step_escalated_at: now, ...approverColumns(fallback), ...formerColumns(seen) }
        : {
            status: 'DENIED' as const,
            current_step: null,
            status_reason:
              seen.step_escalated_at === null
                ? `no decision on ${stepName(seen.steps, step)} within ${hours} h, and no fallback approver to escalate to`
                : `no decision on ${stepName(seen.steps, step)} within ${hours} h, nor within ${hours} h of its escalation to the fallback approvers`,
            ...approverColumns([]),
          };
      const updated = await trx
        .updateTable('access_requests')
        .set({ ...set, updated_at: now })
        .where('id', '=', seen.id)
        .where('status', '=', 'PENDING')
        .where('current_step', '=', step)
        .where((eb) =>
          seen.step_escalated_at === null ? eb('step_escalated_at', 'is', null) : eb('step_escalated_at', '=', seen.step_escalated_at),
        )
        .returningAll()
        .executeTakeFirst();
      if (!updated) return null;
      return {
        row: updated,
        notes: escalate
          ? [
              awaitingNote(updated, fallback, name, true),
              {
                ...outcomeNote(
                  updated,
                  'escalated',
                  `'${name}': ${stepName(seen.steps, step)} had no decision in time and went to the fallback approvers`,
                ),
                kind: 'request.escalated',
                dedupeKey: `access-request:${seen.id}:step:${step}:escalated:requester`,
              },
            ]
          : [outcomeNote(updated, 'denied', `'${name}' was denied: ${updated.status_reason ?? ''}`)],
        audit: {
          actor: 'system',
          action: escalate ? 'access_request.escalated' : 'access_request.denied',
          connectorId: seen.connector_id,
          details: {
            requestId: seen.id,
            step,
            ...(escalate ? { approvers: fallback, previousApprovers: seen.approvers } : { reason: updated.status_reason }),
          },
        },
      };
    });
    if (row) changed++;
  }
  return changed;
}

/**
 * "Your access is about to expire": once per request, `leadMs` before its expiry (the dedupe key and
 * the compare-and-set on expiry_notified_at make it once across replicas and restarts).
 */
export async function noticeExpiringAccess(deps: RequestDeps, leadMs: number, opts: { limit?: number } = {}): Promise<number> {
  const now = nowOf(deps);
  const due = await deps.db
    .selectFrom('access_requests')
    .selectAll()
    .where('status', '=', 'ACTIVE')
    .where('expires_at', 'is not', null)
    .where('expiry_notified_at', 'is', null)
    .where('expires_at', '<=', new Date(now.getTime() + leadMs))
    .where('expires_at', '>', now)
    .limit(opts.limit ?? 500)
    .execute();
  let sent = 0;
  for (const r of due) {
    const done = await deps.db.transaction().execute(async (trx) => {
      const u = await trx
        .updateTable('access_requests')
        .set({ expiry_notified_at: now })
        .where('id', '=', r.id)
        .where('expiry_notified_at', 'is', null)
        .returning('id')
        .executeTakeFirst();
      if (!u) return false;
      const name = await entitlementName(trx, r);
      const at = new Date(r.expires_at as Date).toISOString();
      await enqueueNotification(trx, {
        kind: 'access.expiring',
        recipients: [{ resourceId: r.principal_id }, { subject: r.requested_by }],
        title: 'Access about to expire',
        text: `'${name}' expires at ${at}; request it again to keep it`,
        data: { requestId: r.id, connectorId: r.connector_id, expiresAt: at },
        dedupeKey: `access-request:${r.id}:expiring`,
      });
      return true;
    });
    if (done) sent++;
  }
  return sent;
}
