import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '@warden/database';
import type { EntitlementInput } from '../model';
import { byColumns, mergeRows, type StagingColumn } from './bulk';
import { chunks, dedupeBy } from './chunks';

const ENTITLEMENT_COLUMNS: StagingColumn[] = [
  ['id', 'uuid'],
  ['key', 'text'],
  ['rid', 'text'],
  ['rtype', 'text'],
  ['slug', 'text'],
  ['name', 'text'],
  ['grantable', 'boolean'],
  ['app_role_id', 'text'],
  ['metadata', 'text'],
];

/**
 * The stored row already says what `t` says. Left out before the upsert when nothing is marked (an
 * incremental page): ON CONFLICT DO UPDATE locks the row it finds even when its WHERE then skips the
 * update, and that lock is a heap write with its WAL. A groups delta page repeats every group whose
 * members changed with all its properties, so most of its entitlements are such rows.
 */
const UNCHANGED = (connectorId: string) => sql`
  SELECT 1 FROM entitlements e WHERE e.connector_id = ${connectorId}::uuid AND e.key = t.key
    AND (e.display_name, e.grantable, e.app_role_id, e.metadata) IS NOT DISTINCT FROM (t.name, t.grantable, t.app_role_id, t.metadata::jsonb)`;

/** The table's columns a write names (the merge's INSERT and a first write's COPY): the staging columns, with the connector and the run. */
const ENTITLEMENT_TABLE_COLUMNS = [
  'id',
  'connector_id',
  'key',
  'resource_external_id',
  'resource_type',
  'slug',
  'display_name',
  'grantable',
  'app_role_id',
  'metadata',
  'last_seen_run_id',
];

/** Bulk upsert of entitlements by (connector, key); same marking rule as resources. */
export async function upsertEntitlements(
  db: Kysely<Database>,
  connectorId: string,
  rows: readonly EntitlementInput[],
  markRunId: string | null,
): Promise<number> {
  let written = 0;
  for (const batch of chunks(dedupeBy(rows, (r) => r.key))) {
    written += await mergeRows(
      db,
      ENTITLEMENT_COLUMNS,
      // Random ids, as the column default makes them, drawn here (see resources.ts).
      batch.map((b) => [
        randomUUID(),
        b.key,
        b.resourceExternalId,
        b.resourceType,
        b.slug,
        b.displayName,
        b.grantable,
        b.appRoleId,
        JSON.stringify(b.metadata),
      ]),
      (source, upsert) => sql`
      INSERT INTO entitlements AS e (${sql.raw(ENTITLEMENT_TABLE_COLUMNS.join(', '))})
      SELECT t.id, ${connectorId}::uuid, t.key, t.rid, t.rtype, t.slug, t.name, t.grantable, t.app_role_id, t.metadata::jsonb, ${markRunId}::uuid
      FROM ${source}
      ${markRunId === null ? sql`WHERE NOT EXISTS (${UNCHANGED(connectorId)})` : sql.raw('')}
      ORDER BY t.key
      ${
        upsert
          ? sql`ON CONFLICT (connector_id, key) DO UPDATE SET
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
         OR (excluded.last_seen_run_id IS NOT NULL AND e.last_seen_run_id IS DISTINCT FROM excluded.last_seen_run_id)`
          : sql.raw('')
      }`,
      markRunId
        ? {
            table: 'entitlements',
            connectorId,
            runId: markRunId,
            direct: {
              columns: ENTITLEMENT_TABLE_COLUMNS,
              values: (r) => [r[0] ?? null, connectorId, ...r.slice(1), markRunId],
              order: byColumns(1),
            },
          }
        : null,
    );
  }
  return written;
}
