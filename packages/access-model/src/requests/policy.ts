import { sql, type Kysely, type Transaction } from 'kysely';
import { DECIDER_KINDS, type AccessPolicyRow, type ApprovalStepRecord, type Database, type DeciderKind } from '@warden/database';
import { appendAudit } from '../audit';
import { AccessRequestError } from './errors';

type Conn = Kysely<Database> | Transaction<Database>;

export interface AccessPolicyInput {
  connectorId: string;
  /** Omitted/null: the connector's default policy. */
  entitlementId?: string | null;
  requestable: boolean;
  steps: { kind: DeciderKind; subjects?: string[] | null }[];
  maxDurationSeconds?: number | null;
  requireDuration?: boolean | null;
}

/** Limits that keep a policy readable and a request bounded. */
export const POLICY_LIMITS = { steps: 10, subjects: 50, subjectLength: 200 } as const;

/** The connector's default policy, then the entitlements' own (ordered by entitlement name). */
export async function listPolicies(db: Conn, connectorId: string): Promise<AccessPolicyRow[]> {
  return db
    .selectFrom('access_policies as p')
    .leftJoin('entitlements as e', 'e.id', 'p.entitlement_id')
    .selectAll('p')
    .where('p.connector_id', '=', connectorId)
    .orderBy(sql`p.entitlement_id IS NOT NULL`)
    .orderBy('e.display_name')
    .orderBy('p.id')
    .execute();
}

/** The policy that governs requests for this entitlement: its own, else the connector's default. */
export async function effectivePolicy(db: Conn, connectorId: string, entitlementId: string): Promise<AccessPolicyRow> {
  const rows = await db
    .selectFrom('access_policies')
    .selectAll()
    .where('connector_id', '=', connectorId)
    .where((eb) => eb.or([eb('entitlement_id', '=', entitlementId), eb('entitlement_id', 'is', null)]))
    .execute();
  const own = rows.find((r) => r.entitlement_id === entitlementId);
  const fallback = rows.find((r) => r.entitlement_id === null);
  const policy = own ?? fallback;
  // The migration and a trigger give every connector its default; this is the documented default too.
  return (
    policy ?? {
      id: connectorId,
      connector_id: connectorId,
      entitlement_id: null,
      requestable: false,
      steps: [],
      max_duration_seconds: null,
      require_duration: false,
      updated_by: null,
      created_at: new Date(0),
      updated_at: new Date(0),
    }
  );
}

/**
 * Creates or replaces a policy (upsert on the connector's default or the entitlement's own), audited
 * with before and after in the same transaction. Authorization is the caller's (the gateway checks
 * connector ownership first).
 */
export async function setAccessPolicy(
  db: Kysely<Database>,
  actor: { subject: string; auditDetails?: Record<string, unknown> },
  input: AccessPolicyInput,
): Promise<AccessPolicyRow> {
  const steps = validateSteps(input.steps);
  const max = input.maxDurationSeconds ?? null;
  if (max !== null && (!Number.isInteger(max) || max <= 0))
    throw new AccessRequestError('BAD_USER_INPUT', 'maxDurationSeconds must be a positive whole number of seconds');
  const entitlementId = input.entitlementId ?? null;
  if (entitlementId) {
    const e = await db
      .selectFrom('entitlements')
      .select(['connector_id', 'grantable', 'display_name'])
      .where('id', '=', entitlementId)
      .executeTakeFirst();
    if (!e || e.connector_id !== input.connectorId)
      throw new AccessRequestError('NOT_FOUND', `entitlement ${entitlementId} does not exist on this connector`);
    if (input.requestable && !e.grantable)
      throw new AccessRequestError(
        'BAD_USER_INPUT',
        `'${e.display_name}' is not grantable (Graph cannot change it), so it cannot be requestable`,
      );
  }
  return db.transaction().execute(async (trx) => {
    const before = await trx
      .selectFrom('access_policies')
      .selectAll()
      .where('connector_id', '=', input.connectorId)
      .where((eb) => (entitlementId ? eb('entitlement_id', '=', entitlementId) : eb('entitlement_id', 'is', null)))
      .forUpdate()
      .executeTakeFirst();
    const values = {
      requestable: input.requestable,
      steps: JSON.stringify(steps),
      max_duration_seconds: max,
      require_duration: input.requireDuration ?? false,
      updated_by: actor.subject,
      updated_at: sql<Date>`now()`,
    };
    const after = before
      ? await trx.updateTable('access_policies').set(values).where('id', '=', before.id).returningAll().executeTakeFirstOrThrow()
      : await trx
          .insertInto('access_policies')
          .values({ connector_id: input.connectorId, entitlement_id: entitlementId, ...values })
          .returningAll()
          .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      actor: actor.subject,
      action: 'access_policy.set',
      connectorId: input.connectorId,
      details: {
        ...actor.auditDetails,
        policyId: after.id,
        entitlementId,
        before: before ? policyView(before) : null,
        after: policyView(after),
      },
    });
    return after;
  });
}

function policyView(p: AccessPolicyRow) {
  return { requestable: p.requestable, steps: p.steps, maxDurationSeconds: p.max_duration_seconds, requireDuration: p.require_duration };
}

function validateSteps(input: AccessPolicyInput['steps']): ApprovalStepRecord[] {
  if (input.length > POLICY_LIMITS.steps)
    throw new AccessRequestError('BAD_USER_INPUT', `a policy has at most ${POLICY_LIMITS.steps} approval steps`);
  return input.map((s, i) => {
    if (!(DECIDER_KINDS as readonly string[]).includes(s.kind))
      throw new AccessRequestError('BAD_USER_INPUT', `step ${i}: unknown kind ${String(s.kind)}`);
    const subjects = [...new Set((s.subjects ?? []).map((x) => x.trim()).filter(Boolean))];
    if (subjects.length > POLICY_LIMITS.subjects)
      throw new AccessRequestError('BAD_USER_INPUT', `step ${i}: at most ${POLICY_LIMITS.subjects} subjects`);
    if (subjects.some((x) => x.length > POLICY_LIMITS.subjectLength))
      throw new AccessRequestError('BAD_USER_INPUT', `step ${i}: a subject is at most ${POLICY_LIMITS.subjectLength} characters`);
    if (s.kind === 'USERS' && subjects.length === 0)
      throw new AccessRequestError('BAD_USER_INPUT', `step ${i}: a USERS step needs at least one subject`);
    return { kind: s.kind, subjects };
  });
}
