import { sql, type Kysely, type Transaction } from 'kysely';
import { keyPattern, ProvisioningRequestError, requestProvisioning, type ProvisioningRequestInput } from '@warden/access-model';
import type { Database } from '@warden/database';
import { actorDetails } from '../../auth/audit-actor';
import type { Caller } from '../../auth/roles';
import type { GatewayDeps } from '../../context';
import { ConflictError } from '../../errors';

// Deleting a connector cascades to its grant rows, and the grant rows are the just-in-time schedule:
// deleting while time-bound access is open would leave that access in Entra ID for ever. So deletion
// waits until none is open, and can queue the revokes itself.
//
// Not counted: PIM role eligibilities (`DIRECTORY_ROLE:<id>:eligible`). Their expiry is Entra's own
// schedule (`scheduleInfo.expiration`, set by the provision worker and read back by the sync), so
// Entra ends them whether or not Warden still knows the connector; the scan is only a backstop.
const ENDED_BY_ENTRA = keyPattern('DIRECTORY_ROLE', 'eligible');

/** Throws CONFLICT naming what is still open (counts and a few examples). */
export async function refuseWhileTimeBoundAccessOpen(
  trx: Transaction<Database>,
  connector: { id: string; display_name: string },
  queued: number,
): Promise<void> {
  const open = await openTimeBoundAccess(trx, connector.id);
  if (open.grants.count > 0 || open.tasks.count > 0) throw new ConflictError(refusalMessage(connector.display_name, open, queued));
}

/**
 * Queues the caller's REVOKE of every direct grant with an expiry that has no open task yet (the
 * same path as the revoke mutation: audited, idempotent per grant and expiry). Returns how many.
 */
export async function revokeTimeBoundGrants(deps: Pick<GatewayDeps, 'db' | 'bus'>, connectorId: string, who: Caller): Promise<number> {
  const { db, bus } = deps;
  const due = await db
    .selectFrom('grants as g')
    .innerJoin('entitlements as e', (j) => j.onRef('e.connector_id', '=', 'g.connector_id').onRef('e.key', '=', 'g.entitlement_key'))
    .innerJoin('resources as r', (j) =>
      j.onRef('r.connector_id', '=', 'g.connector_id').onRef('r.external_id', '=', 'g.principal_external_id'),
    )
    .select(['g.id', 'g.expires_at', 'e.id as entitlement_id', 'r.id as principal_id'])
    .where('g.connector_id', '=', connectorId)
    .where('g.direct', '=', true)
    .where('g.expires_at', 'is not', null)
    .where('g.entitlement_key', 'not like', ENDED_BY_ENTRA)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('provisioning_tasks as t')
            .select('t.id')
            .where('t.connector_id', '=', connectorId)
            .whereRef('t.entitlement_key', '=', 'g.entitlement_key')
            .whereRef('t.principal_external_id', '=', 'g.principal_external_id')
            .where('t.status', 'in', ['PENDING', 'RUNNING']),
        ),
      ),
    )
    .orderBy('g.expires_at')
    .orderBy('g.id')
    .execute();
  for (const g of due) {
    await queueRevoke(db, bus, actorDetails(who), {
      action: 'REVOKE',
      entitlementId: g.entitlement_id,
      principalId: g.principal_id,
      requestedBy: who.sub,
      reason: 'time-bound access revoked before deleting the connector',
      idempotencyKey: `connector-delete:${g.id}:${g.expires_at ? new Date(g.expires_at).getTime() : 0}`,
    });
  }
  return due.length;
}

async function queueRevoke(
  db: GatewayDeps['db'],
  bus: GatewayDeps['bus'],
  auditDetails: Record<string, unknown>,
  input: ProvisioningRequestInput,
): Promise<void> {
  try {
    await requestProvisioning(db, bus, input, { validate: false, auditDetails });
  } catch (err) {
    if (err instanceof ProvisioningRequestError) throw new ConflictError(`could not queue the revoke of time-bound access: ${err.message}`);
    throw err;
  }
}

interface OpenTimeBoundAccess {
  grants: { count: number; examples: string[] };
  tasks: { count: number; examples: string[] };
}

const OPEN_EXAMPLES = 3;

/** Direct grants with an expiry (not yet revoked) and queued/running provisioning tasks of a connector. */
export async function openTimeBoundAccess(db: Kysely<Database> | Transaction<Database>, connectorId: string): Promise<OpenTimeBoundAccess> {
  const { rows } = await sql<{ kind: 'grant' | 'task'; n: number; examples: string[] }>`
    SELECT 'grant' AS kind, count(*)::int AS n,
           (array_agg(coalesce(e.display_name, g.entitlement_key) || ' for ' || coalesce(r.display_name, g.principal_external_id)
                      || ' (expires ' || to_char(g.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ')'
                      ORDER BY g.expires_at, g.id))[1:${OPEN_EXAMPLES}] AS examples
    FROM grants g
    LEFT JOIN entitlements e ON e.connector_id = g.connector_id AND e.key = g.entitlement_key
    LEFT JOIN resources r ON r.connector_id = g.connector_id AND r.external_id = g.principal_external_id
    WHERE g.connector_id = ${connectorId}::uuid AND g.direct AND g.expires_at IS NOT NULL AND g.entitlement_key NOT LIKE ${ENDED_BY_ENTRA}
    UNION ALL
    SELECT 'task', count(*)::int,
           (array_agg(t.action || ' ' || coalesce(e.display_name, t.entitlement_key) || ' for ' || coalesce(r.display_name, t.principal_external_id)
                      || ' (' || t.status || ', task ' || t.id::text || ')' ORDER BY t.seq))[1:${OPEN_EXAMPLES}]
    FROM provisioning_tasks t
    LEFT JOIN entitlements e ON e.id = t.entitlement_id
    LEFT JOIN resources r ON r.id = t.principal_id
    WHERE t.connector_id = ${connectorId}::uuid AND t.status IN ('PENDING', 'RUNNING')`.execute(db);
  const of = (kind: 'grant' | 'task') => {
    const r = rows.find((x) => x.kind === kind);
    return { count: r?.n ?? 0, examples: r?.examples ?? [] };
  };
  return { grants: of('grant'), tasks: of('task') };
}

function refusalMessage(name: string, open: OpenTimeBoundAccess, queued: number): string {
  const parts: string[] = [];
  const more = (o: { count: number; examples: string[] }) =>
    o.count > o.examples.length ? `, and ${o.count - o.examples.length} more` : '';
  if (open.grants.count > 0)
    parts.push(`${open.grants.count} time-bound grant(s) not yet revoked (${open.grants.examples.join('; ')}${more(open.grants)})`);
  if (open.tasks.count > 0)
    parts.push(`${open.tasks.count} provisioning task(s) queued or running (${open.tasks.examples.join('; ')}${more(open.tasks)})`);
  const head = `connector '${name}' still has open time-bound access: ${parts.join(' and ')}; deleting it now would leave that access in Entra ID with nothing to revoke it.`;
  if (queued > 0) return `${head} Queued ${queued} revoke(s) of time-bound access; delete the connector again once they have completed.`;
  return `${head} Revoke that access (or wait until it expires and is revoked) and let the tasks finish, or call deleteConnector(id, revokeTimeBoundAccess: true) to queue the revokes; then delete again.`;
}
