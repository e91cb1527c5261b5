import { sql, type Kysely } from 'kysely';
import type { Database, PrincipalKind } from '@warden/database';
import type { DirectGrantInput } from '../model';
import { mergeRows, type StagingColumn } from './bulk';
import { chunks, dedupeBy } from './chunks';

const DIRECT_COLUMNS: StagingColumn[] = [
  ['key', 'text'],
  ['principal', 'text'],
  ['kind', 'text'],
  ['aid', 'text'],
  ['exp', 'timestamptz'],
];
/** `via` travels as one string (membership keys never contain a newline): no JSON to parse per row. */
const VIA_SEPARATOR = '\n';
const INHERITED_COLUMNS: StagingColumn[] = [
  ['key', 'text'],
  ['principal', 'text'],
  ['kind', 'text'],
  ['via', 'text'],
];

export interface DirectGrantOptions {
  /** Mark rows as seen by this full pass. */
  markRunId: string | null;
  /** Graph is the source of `graph_assignment_id` (assignments, role assignments, schedules). */
  assignmentIdFromGraph: boolean;
  /** Graph is the source of `expires_at` (PIM schedules); otherwise a just-in-time expiry set by provisioning is kept. */
  expiryFromGraph: boolean;
}

export async function upsertDirectGrants(
  db: Kysely<Database>,
  connectorId: string,
  rows: readonly DirectGrantInput[],
  opts: DirectGrantOptions,
): Promise<number> {
  const aid = sql.raw(opts.assignmentIdFromGraph ? 'excluded.graph_assignment_id' : 'g.graph_assignment_id');
  const exp = sql.raw(opts.expiryFromGraph ? 'excluded.expires_at' : 'g.expires_at');
  let written = 0;
  for (const batch of chunks(dedupeBy(rows, (r) => `${r.entitlementKey}\n${r.principalExternalId}`))) {
    written += await mergeRows(
      db,
      DIRECT_COLUMNS,
      batch.map((b) => [b.entitlementKey, b.principalExternalId, b.principalKind, b.graphAssignmentId, b.expiresAt]),
      (source, upsert) => sql`
      INSERT INTO grants AS g (connector_id, entitlement_key, principal_external_id, principal_kind, direct, graph_assignment_id, expires_at, last_seen_run_id)
      SELECT ${connectorId}::uuid, t.key, t.principal, t.kind, true, t.aid, t.exp, ${opts.markRunId}::uuid
      FROM ${source} ORDER BY t.key, t.principal
      ${
        upsert
          ? sql`ON CONFLICT (connector_id, entitlement_key, principal_external_id, direct) DO UPDATE SET
        principal_kind = excluded.principal_kind,
        graph_assignment_id = ${aid},
        expires_at = ${exp},
        last_seen_run_id = coalesce(excluded.last_seen_run_id, g.last_seen_run_id),
        updated_at = CASE WHEN (g.principal_kind, g.graph_assignment_id, g.expires_at) IS DISTINCT FROM (excluded.principal_kind, ${aid}, ${exp})
                          THEN now() ELSE g.updated_at END
      WHERE (g.principal_kind, g.graph_assignment_id, g.expires_at) IS DISTINCT FROM (excluded.principal_kind, ${aid}, ${exp})
         OR (excluded.last_seen_run_id IS NOT NULL AND g.last_seen_run_id IS DISTINCT FROM excluded.last_seen_run_id)`
          : sql.raw('')
      }`,
      opts.markRunId ? { table: 'grants', connectorId, runId: opts.markRunId } : null,
    );
  }
  return written;
}

export interface ExistingDirectGrant {
  entitlement_key: string;
  principal_external_id: string;
  principal_kind: PrincipalKind;
  graph_assignment_id: string | null;
}

/** The direct grants of these entitlements, for stages that reconcile a complete listing against the database. */
export async function directGrantsOf(db: Kysely<Database>, connectorId: string, keys: readonly string[]): Promise<ExistingDirectGrant[]> {
  const out: ExistingDirectGrant[] = [];
  for (const batch of chunks(keys, 2_000)) {
    out.push(
      ...(await db
        .selectFrom('grants')
        .select(['entitlement_key', 'principal_external_id', 'principal_kind', 'graph_assignment_id'])
        .where('connector_id', '=', connectorId)
        .where('direct', '=', true)
        .where('entitlement_key', '=', sql<string>`ANY(${batch}::text[])`)
        .execute()),
    );
  }
  return out;
}

/**
 * Deletes direct grants Graph said are gone. `observedAt` guards against a concurrent write-through:
 * a row provisioning touched after Graph's answer was read is left for the next sync to judge.
 */
export async function deleteDirectGrants(
  db: Kysely<Database>,
  connectorId: string,
  rows: readonly [key: string, principal: string, observedAt: string][],
): Promise<number> {
  let deleted = 0;
  for (const batch of chunks(rows)) {
    const res = await sql`
      DELETE FROM grants g
      USING unnest(${batch.map((b) => b[0])}::text[], ${batch.map((b) => b[1])}::text[], ${batch.map((b) => b[2])}::timestamptz[]) AS d(key, principal, at)
      WHERE g.connector_id = ${connectorId}::uuid AND g.direct AND g.entitlement_key = d.key AND g.principal_external_id = d.principal
        AND g.updated_at <= d.at`.execute(db);
    deleted += Number(res.numAffectedRows ?? 0);
  }
  return deleted;
}

export interface InheritedGrant {
  entitlementKey: string;
  principalExternalId: string;
  principalKind: PrincipalKind;
  via: string[];
}

export async function upsertInheritedGrants(db: Kysely<Database>, connectorId: string, rows: readonly InheritedGrant[]): Promise<number> {
  let written = 0;
  for (const batch of chunks(rows)) {
    written += await mergeRows(
      db,
      INHERITED_COLUMNS,
      batch.map((b) => [b.entitlementKey, b.principalExternalId, b.principalKind, b.via.join(VIA_SEPARATOR)]),
      (source) => sql`
      INSERT INTO grants AS g (connector_id, entitlement_key, principal_external_id, principal_kind, direct, via)
      SELECT ${connectorId}::uuid, t.key, t.principal, t.kind, false, string_to_array(t.via, ${VIA_SEPARATOR})
      FROM ${source} ORDER BY t.key, t.principal
      ON CONFLICT (connector_id, entitlement_key, principal_external_id, direct) DO UPDATE SET
        via = excluded.via, principal_kind = excluded.principal_kind, updated_at = now()
      WHERE (g.via, g.principal_kind) IS DISTINCT FROM (excluded.via, excluded.principal_kind)`,
    );
  }
  return written;
}

export async function deleteInheritedGrants(
  db: Kysely<Database>,
  connectorId: string,
  rows: readonly [key: string, principal: string][],
): Promise<number> {
  let deleted = 0;
  for (const batch of chunks(rows)) {
    const res = await sql`
      DELETE FROM grants g USING unnest(${batch.map((b) => b[0])}::text[], ${batch.map((b) => b[1])}::text[]) AS d(key, principal)
      WHERE g.connector_id = ${connectorId}::uuid AND NOT g.direct AND g.entitlement_key = d.key AND g.principal_external_id = d.principal`.execute(
      db,
    );
    deleted += Number(res.numAffectedRows ?? 0);
  }
  return deleted;
}
