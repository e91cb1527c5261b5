import { sql, type Kysely } from 'kysely';
import { requestSystemProvisioning } from '@warden/access-model';
import { type Bus } from '@warden/bus';
import { type Database } from '@warden/database';
import type { Logger } from 'pino';

/**
 * Key of an expiry revoke: `expiry:<connector>:<entitlement key>:<principal>:<expiry epoch ms>`. It
 * lives in the system's key namespace (requestSystemProvisioning), which no caller can write to, so
 * a caller using the same text as a key of their own neither blocks nor fakes this revoke.
 */
/** Prefix of the idempotency keys of expiry revokes (system namespace); other system revokes, e.g. access-review remediations, have their own. */
export const EXPIRY_KEY_PREFIX = 'expiry:';

interface ExpiredGrant {
  entitlement_id: string;
  principal_id: string;
  expires_at: Date;
  idempotency_key: string;
}

/**
 * Turns direct grants whose `expires_at` has passed into REVOKE tasks of the system. The
 * schedule is the grants table itself, so any replica, after any restart, finds what is due. The
 * idempotency key is derived from (connector, entitlement, principal, expiry): replicas scanning
 * at once create one task, and a re-granted (extended) grant gets a new one.
 */
export async function scanExpiredGrants(deps: { db: Kysely<Database>; bus: Bus; logger: Logger }, limit = 500): Promise<number> {
  const { rows } = await sql<ExpiredGrant>`
    SELECT e.id AS entitlement_id, r.id AS principal_id, g.expires_at,
           ${EXPIRY_KEY_PREFIX}::text || g.connector_id::text || ':' || g.entitlement_key || ':' || g.principal_external_id || ':'
             || (extract(epoch FROM g.expires_at) * 1000)::bigint AS idempotency_key
    FROM grants g
    JOIN entitlements e ON e.connector_id = g.connector_id AND e.key = g.entitlement_key
    JOIN resources r ON r.connector_id = g.connector_id AND r.external_id = g.principal_external_id
    WHERE g.direct AND g.expires_at <= now()
      AND NOT EXISTS (
        SELECT 1 FROM provisioning_tasks t
        WHERE t.connector_id = g.connector_id AND t.namespace = 'system' AND t.requested_by = 'system'
          AND t.idempotency_key = ${EXPIRY_KEY_PREFIX}::text || g.connector_id::text || ':' || g.entitlement_key || ':' || g.principal_external_id || ':'
                                  || (extract(epoch FROM g.expires_at) * 1000)::bigint)
    ORDER BY g.expires_at
    LIMIT ${limit}`.execute(deps.db);
  for (const g of rows) {
    await requestSystemProvisioning(
      deps.db,
      deps.bus,
      {
        action: 'REVOKE',
        entitlementId: g.entitlement_id,
        principalId: g.principal_id,
        reason: `just-in-time access expired at ${new Date(g.expires_at).toISOString()}`,
        idempotencyKey: g.idempotency_key,
      },
      { validate: false, auditAction: 'grant.expired' },
    );
  }
  if (rows.length > 0) deps.logger.info({ count: rows.length }, 'expired grants queued for revoke');
  return rows.length;
}
