import { sql, type Kysely } from 'kysely';
import type { Database } from '@warden/database';
import { chunks } from './chunks';

export interface CascadeCounts {
  resources: number;
  entitlements: number;
  grants: number;
}

export function emptyCounts(): CascadeCounts {
  return { resources: 0, entitlements: 0, grants: 0 };
}

export function addCounts(a: CascadeCounts, b: CascadeCounts): CascadeCounts {
  return { resources: a.resources + b.resources, entitlements: a.entitlements + b.entitlements, grants: a.grants + b.grants };
}

/** Removes entitlements by key and every grant (direct or inherited) on them. */
export async function deleteEntitlementsByKey(db: Kysely<Database>, connectorId: string, keys: readonly string[]): Promise<CascadeCounts> {
  const counts = emptyCounts();
  for (const batch of chunks(keys)) {
    const g = await sql`DELETE FROM grants WHERE connector_id = ${connectorId}::uuid AND entitlement_key = ANY(${batch}::text[])`.execute(
      db,
    );
    const e = await sql`DELETE FROM entitlements WHERE connector_id = ${connectorId}::uuid AND key = ANY(${batch}::text[])`.execute(db);
    counts.grants += Number(g.numAffectedRows ?? 0);
    counts.entitlements += Number(e.numAffectedRows ?? 0);
  }
  return counts;
}

/**
 * Resources that are gone, with what hangs off them: their entitlements and the grants on those,
 * and every grant they held as a principal.
 */
export async function cascadeDeletedResources(
  db: Kysely<Database>,
  connectorId: string,
  externalIds: readonly string[],
): Promise<CascadeCounts> {
  const counts = emptyCounts();
  for (const batch of chunks(externalIds)) {
    const ents = await sql<{ key: string }>`
      DELETE FROM entitlements WHERE connector_id = ${connectorId}::uuid AND resource_external_id = ANY(${batch}::text[]) RETURNING key`.execute(
      db,
    );
    counts.entitlements += ents.rows.length;
    const keys = ents.rows.map((r) => r.key);
    for (const kb of chunks(keys)) {
      const g = await sql`DELETE FROM grants WHERE connector_id = ${connectorId}::uuid AND entitlement_key = ANY(${kb}::text[])`.execute(
        db,
      );
      counts.grants += Number(g.numAffectedRows ?? 0);
    }
    const held =
      await sql`DELETE FROM grants WHERE connector_id = ${connectorId}::uuid AND principal_external_id = ANY(${batch}::text[])`.execute(db);
    counts.grants += Number(held.numAffectedRows ?? 0);
  }
  return counts;
}

/** Resources Graph reported removed (guarded by when that was observed), then their cascade. */
export async function deleteResources(
  db: Kysely<Database>,
  connectorId: string,
  rows: readonly [externalId: string, observedAt: string][],
): Promise<CascadeCounts> {
  let counts = emptyCounts();
  for (const batch of chunks(rows)) {
    const res = await sql<{ external_id: string }>`
      DELETE FROM resources r USING unnest(${batch.map((b) => b[0])}::text[], ${batch.map((b) => b[1])}::timestamptz[]) AS d(id, at)
      WHERE r.connector_id = ${connectorId}::uuid AND r.external_id = d.id AND r.updated_at <= d.at
      RETURNING r.external_id`.execute(db);
    counts.resources += res.rows.length;
    // A resource updated after the removal was observed (restored) keeps its grants; ids that are
    // no longer (or never were) resources lose theirs.
    const kept = await sql<{ external_id: string }>`
      SELECT external_id FROM resources WHERE connector_id = ${connectorId}::uuid AND external_id = ANY(${batch.map((b) => b[0])}::text[])`.execute(
      db,
    );
    const keep = new Set(kept.rows.map((r) => r.external_id));
    counts = addCounts(
      counts,
      await cascadeDeletedResources(
        db,
        connectorId,
        batch.map((b) => b[0]).filter((id) => !keep.has(id)),
      ),
    );
  }
  return counts;
}

/** Entitlements Graph no longer defines (guarded by when that was observed), with their grants. */
export async function deleteEntitlements(
  db: Kysely<Database>,
  connectorId: string,
  rows: readonly [key: string, observedAt: string][],
): Promise<CascadeCounts> {
  const counts = emptyCounts();
  for (const batch of chunks(rows)) {
    const res = await sql<{ key: string }>`
      DELETE FROM entitlements e USING unnest(${batch.map((b) => b[0])}::text[], ${batch.map((b) => b[1])}::timestamptz[]) AS d(key, at)
      WHERE e.connector_id = ${connectorId}::uuid AND e.key = d.key AND e.updated_at <= d.at
      RETURNING e.key`.execute(db);
    counts.entitlements += res.rows.length;
    const keys = res.rows.map((r) => r.key);
    if (keys.length) {
      const g = await sql`DELETE FROM grants WHERE connector_id = ${connectorId}::uuid AND entitlement_key = ANY(${keys}::text[])`.execute(
        db,
      );
      counts.grants += Number(g.numAffectedRows ?? 0);
    }
  }
  return counts;
}
