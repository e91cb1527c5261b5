import { sql, type Kysely } from 'kysely';
import { sweepOfStage, type ResourceStage } from '@warden/access-model';
import type { Database } from '@warden/database';

/**
 * Forgets which rows a run's pass of this stage has seen (see DeltaStreamSpec.unmark): exactly what
 * finalize would sweep for the stage (the registry's sweep rules, `sweepOfStage`).
 */
export async function unmarkRun(db: Kysely<Database>, connectorId: string, runId: string, stage: ResourceStage): Promise<void> {
  const scope = sweepOfStage(stage);
  await sql`UPDATE resources SET last_seen_run_id = NULL
            WHERE connector_id = ${connectorId}::uuid AND last_seen_run_id = ${runId}::uuid AND type = ANY(${scope.resourceTypes}::text[])`.execute(
    db,
  );
  if (scope.entitlementTypes.length) {
    await sql`UPDATE entitlements SET last_seen_run_id = NULL
              WHERE connector_id = ${connectorId}::uuid AND last_seen_run_id = ${runId}::uuid AND resource_type = ANY(${scope.entitlementTypes}::text[])`.execute(
      db,
    );
  }
  for (const pattern of scope.grantPatterns) {
    await sql`UPDATE grants SET last_seen_run_id = NULL
              WHERE connector_id = ${connectorId}::uuid AND last_seen_run_id = ${runId}::uuid AND direct AND entitlement_key LIKE ${pattern}`.execute(
      db,
    );
  }
}
