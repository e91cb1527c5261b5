import { sql, type Kysely } from 'kysely';
import type { Database } from '@warden/database';
import type { EntitlementInput } from '../model';
import { chunks, dedupeBy } from './chunks';

/** Bulk upsert of entitlements by (connector, key); same marking rule as resources. */
export async function upsertEntitlements(
  db: Kysely<Database>,
  connectorId: string,
  rows: readonly EntitlementInput[],
  markRunId: string | null,
): Promise<number> {
  let written = 0;
  for (const batch of chunks(dedupeBy(rows, (r) => r.key))) {
    const res = await sql`
      INSERT INTO entitlements AS e (connector_id, key, resource_external_id, resource_type, slug, display_name, grantable, app_role_id, metadata, last_seen_run_id)
      SELECT ${connectorId}::uuid, t.key, t.rid, t.rtype, t.slug, t.name, t.grantable, t.app_role_id, t.metadata::jsonb, ${markRunId}::uuid
      FROM unnest(${batch.map((b) => b.key)}::text[], ${batch.map((b) => b.resourceExternalId)}::text[], ${batch.map((b) => b.resourceType)}::text[],
                  ${batch.map((b) => b.slug)}::text[], ${batch.map((b) => b.displayName)}::text[], ${batch.map((b) => b.grantable)}::boolean[],
                  ${batch.map((b) => b.appRoleId)}::text[], ${batch.map((b) => JSON.stringify(b.metadata))}::text[])
           AS t(key, rid, rtype, slug, name, grantable, app_role_id, metadata)
      ON CONFLICT (connector_id, key) DO UPDATE SET
        resource_external_id = excluded.resource_external_id,
        resource_type = excluded.resource_type,
        slug = excluded.slug,
        display_name = excluded.display_name,
        grantable = excluded.grantable,
        app_role_id = excluded.app_role_id,
        metadata = excluded.metadata,
        last_seen_run_id = coalesce(excluded.last_seen_run_id, e.last_seen_run_id),
        updated_at = CASE WHEN (e.display_name, e.grantable, e.app_role_id, e.metadata)
                               IS DISTINCT FROM (excluded.display_name, excluded.grantable, excluded.app_role_id, excluded.metadata)
                          THEN now() ELSE e.updated_at END
      WHERE (e.display_name, e.grantable, e.app_role_id, e.metadata) IS DISTINCT FROM (excluded.display_name, excluded.grantable, excluded.app_role_id, excluded.metadata)
         OR (excluded.last_seen_run_id IS NOT NULL AND e.last_seen_run_id IS DISTINCT FROM excluded.last_seen_run_id)`.execute(db);
    written += Number(res.numAffectedRows ?? 0);
  }
  return written;
}
