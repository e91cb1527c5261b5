import { sql, type Kysely } from 'kysely';
import type { Database } from '@warden/database';

/** Forgets which rows of these kinds a run has seen (see DeltaStreamSpec.unmark). */
export async function unmarkRun(
  db: Kysely<Database>,
  connectorId: string,
  runId: string,
  scope: { resourceTypes: string[]; entitlementTypes?: string[]; grantPattern?: string },
): Promise<void> {
  await sql`UPDATE resources SET last_seen_run_id = NULL
            WHERE connector_id = ${connectorId}::uuid AND last_seen_run_id = ${runId}::uuid AND type = ANY(${scope.resourceTypes}::text[])`.execute(db);
  if (scope.entitlementTypes?.length) {
    await sql`UPDATE entitlements SET last_seen_run_id = NULL
              WHERE connector_id = ${connectorId}::uuid AND last_seen_run_id = ${runId}::uuid AND resource_type = ANY(${scope.entitlementTypes}::text[])`.execute(db);
  }
  if (scope.grantPattern) {
    await sql`UPDATE grants SET last_seen_run_id = NULL
              WHERE connector_id = ${connectorId}::uuid AND last_seen_run_id = ${runId}::uuid AND direct AND entitlement_key LIKE ${scope.grantPattern}`.execute(db);
  }
}
