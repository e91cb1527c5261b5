import { sql, type Kysely } from 'kysely';
import type { Database, PrincipalKind } from '@warden/database';
import type { DirectGrantInput } from '../model';
import { byColumns, mergeRows, type RowQuery, type StagingColumn, type StagingValue } from './bulk';
import { chunks, dedupeBy2 } from './chunks';
import { timeOrderedIds } from './ids';

const DIRECT_COLUMNS: StagingColumn[] = [
  ['id', 'uuid'],
  ['key', 'text'],
  ['principal', 'text'],
  ['kind', 'text'],
  ['aid', 'text'],
  ['exp', 'timestamptz'],
  ['since', 'timestamptz'],
];
/** The table's columns a direct grant's write names (the merge's INSERT and a first write's COPY). */
const GRANT_TABLE_COLUMNS = [
  'id',
  'connector_id',
  'entitlement_key',
  'principal_external_id',
  'principal_kind',
  'direct',
  'graph_assignment_id',
  'expires_at',
  'last_seen_run_id',
];
/** `via` travels as one string (membership keys never contain a newline): no JSON to parse per row. */
const VIA_SEPARATOR = '\n';
const INHERITED_COLUMNS: StagingColumn[] = [
  ['id', 'uuid'],
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
  /** Guards these additions against revokes provisioning completed after Graph's answer was read (see AdditionGuard). */
  guard?: AdditionGuard;
}

/** `entitlement key \n principal`: one (entitlement, principal) pair. */
export function pairKey(key: string, principal: string): string {
  return `${key}\n${principal}`;
}

/**
 * Graph's answer (a delta page, an assignment list) was read at some time after `since`; a revoke
 * provisioning completed after `since` may have reached Graph after that read, so the answer can
 * still list a member the revoke removed, and writing it would undo the revoke's write-through
 * until the next round. Such pairs are asked of Graph again (`verify`): written only if Graph still
 * holds them, guarded from then on by the time of that check. Without `verify` they are left out
 * and the next round, which covers the revoke's time, writes them if they are really held.
 */
export interface AdditionGuard {
  /** Database time before Graph's answer was read. */
  since: string;
  /**
   * The pairs Graph holds now (with the assignment id Graph gives now, if any: a re-added
   * assignment has a new one), and the database time taken before asking.
   */
  verify: ((rows: readonly DirectGrantInput[]) => Promise<{ held: Map<string, string | null>; checkedAt: string }>) | null;
  /** Counters of the stage: additionsRevokedMeanwhile, additionsConfirmed, additionsSkipped. */
  counters: Record<string, number>;
}

/**
 * Pairs provisioning revoked (task SUCCEEDED) after `since`, each with its latest completion in
 * microseconds (Postgres' precision): a range of migration 0015's index.
 */
function revokesAfter(connectorId: string, since: string) {
  return sql<{ entitlement_key: string; principal_external_id: string; us: number }>`
    SELECT entitlement_key, principal_external_id, (extract(epoch FROM max(completed_at)) * 1000000)::int8 AS us
    FROM provisioning_tasks
    WHERE connector_id = ${connectorId}::uuid AND action = 'REVOKE' AND status = 'SUCCEEDED' AND completed_at > ${since}::timestamptz
    GROUP BY 1, 2`;
}

/** Pairs provisioning revoked (task SUCCEEDED) after `since`. */
export async function revokedSince(db: Kysely<Database>, connectorId: string, since: string): Promise<Set<string>> {
  const r = await revokesAfter(connectorId, since).execute(db);
  return new Set(r.rows.map((x) => pairKey(x.entitlement_key, x.principal_external_id)));
}

const bumpBy = (counters: Record<string, number>, name: string, by: number): void => {
  if (by) counters[name] = (counters[name] ?? 0) + by;
};

/**
 * Each row with the time from which a later revoke must keep it out (null: unguarded). Rows of
 * pairs revoked after `since` are verified with Graph first; those Graph no longer holds are dropped.
 */
async function guardRows(
  db: Kysely<Database>,
  connectorId: string,
  rows: readonly DirectGrantInput[],
  guard: AdditionGuard | undefined,
): Promise<[DirectGrantInput, string | null][]> {
  if (!guard) return rows.map((r) => [r, null]);
  const revoked = await revokedSince(db, connectorId, guard.since);
  const suspicious = revoked.size ? rows.filter((r) => revoked.has(pairKey(r.entitlementKey, r.principalExternalId))) : [];
  if (!suspicious.length) return rows.map((r) => [r, guard.since]);
  const answer = guard.verify ? await guard.verify(suspicious) : null;
  bumpBy(guard.counters, 'additionsRevokedMeanwhile', suspicious.length);
  const out: [DirectGrantInput, string | null][] = [];
  let confirmed = 0;
  for (const r of rows) {
    const k = pairKey(r.entitlementKey, r.principalExternalId);
    if (!revoked.has(k)) out.push([r, guard.since]);
    else if (answer?.held.has(k)) {
      confirmed++;
      const aid = answer.held.get(k) ?? null;
      out.push([aid !== null && r.graphAssignmentId !== null ? { ...r, graphAssignmentId: aid } : r, answer.checkedAt]);
    }
  }
  bumpBy(guard.counters, 'additionsConfirmed', confirmed);
  bumpBy(guard.counters, 'additionsSkipped', suspicious.length - confirmed);
  return out;
}

export async function upsertDirectGrants(
  db: Kysely<Database>,
  connectorId: string,
  rows: readonly DirectGrantInput[],
  opts: DirectGrantOptions,
): Promise<number> {
  const aid = sql.raw(opts.assignmentIdFromGraph ? 'excluded.graph_assignment_id' : 'g.graph_assignment_id');
  const exp = sql.raw(opts.expiryFromGraph ? 'excluded.expires_at' : 'g.expires_at');
  const markRunId = opts.markRunId;
  const guard = opts.guard;
  let written = 0;
  const unique = dedupeBy2(
    rows,
    (r) => r.entitlementKey,
    (r) => r.principalExternalId,
  );
  const guarded = unique.length ? await guardRows(db, connectorId, unique, guard) : [];
  for (const batch of chunks(guarded)) {
    const ids = timeOrderedIds(batch.length);
    written += await mergeRows(
      db,
      DIRECT_COLUMNS,
      batch.map(([b, since], i) => [
        ids[i]!,
        b.entitlementKey,
        b.principalExternalId,
        b.principalKind,
        b.graphAssignmentId,
        b.expiresAt,
        since,
      ]),
      // The same guard once more in the statement: a revoke that completed after guardRows looked.
      (source, upsert) => sql`
      INSERT INTO grants AS g (${sql.raw(GRANT_TABLE_COLUMNS.join(', '))})
      SELECT t.id, ${connectorId}::uuid, t.key, t.principal, t.kind, true, t.aid, t.exp, ${markRunId}::uuid
      FROM ${source} ${guardClause(connectorId, guard)}
      ORDER BY t.key, t.principal
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
      markRunId
        ? {
            table: 'grants',
            connectorId,
            runId: markRunId,
            direct: {
              columns: GRANT_TABLE_COLUMNS,
              values: (r) => [
                r[0] ?? null,
                connectorId,
                r[1] ?? null,
                r[2] ?? null,
                r[3] ?? null,
                true,
                r[4] ?? null,
                r[5] ?? null,
                markRunId,
              ],
              order: byColumns(1, 2),
              keep: guard ? (query) => notRevokedSince(db, query, connectorId, guard.since) : undefined,
            },
          }
        : null,
    );
  }
  return written;
}

/**
 * `guardClause` for a first write COPYed straight in (no statement to put it in): the revokes that
 * completed after the guard's time, read in the batch's transaction just before the COPY, keep out
 * the rows whose `since` (staging column 6) they follow. Compared in microseconds, as Postgres does.
 */
async function notRevokedSince(
  db: Kysely<Database>,
  query: RowQuery,
  connectorId: string,
  since: string,
): Promise<(row: readonly StagingValue[]) => boolean> {
  const statement = revokesAfter(connectorId, since).compile(db);
  const revoked = await query(statement.sql, statement.parameters);
  if (revoked.length === 0) return () => true;
  const last = new Map(revoked.map((r) => [pairKey(String(r['entitlement_key']), String(r['principal_external_id'])), Number(r['us'])]));
  return (row) => {
    const us = last.get(pairKey(String(row[1]), String(row[2])));
    return us === undefined || us <= Date.parse(String(row[6])) * 1000;
  };
}

/**
 * Keeps out rows of pairs revoked after their `since`. The constant lower bound (every row's `since`
 * is at least the guard's) confines the subquery to migration 0015's index range of recent revokes,
 * so Postgres hashes those few instead of probing the tasks table once per row of a full pass.
 */
function guardClause(connectorId: string, guard: AdditionGuard | undefined) {
  if (!guard) return sql``;
  return sql`WHERE NOT EXISTS (
        SELECT 1 FROM provisioning_tasks p
        WHERE p.connector_id = ${connectorId}::uuid AND p.action = 'REVOKE' AND p.status = 'SUCCEEDED'
          AND p.completed_at > ${guard.since}::timestamptz
          AND p.entitlement_key = t.key AND p.principal_external_id = t.principal AND p.completed_at > t.since)`;
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
    const ids = timeOrderedIds(batch.length);
    written += await mergeRows(
      db,
      INHERITED_COLUMNS,
      batch.map((b, i) => [ids[i]!, b.entitlementKey, b.principalExternalId, b.principalKind, b.via.join(VIA_SEPARATOR)]),
      (source) => sql`
      INSERT INTO grants AS g (id, connector_id, entitlement_key, principal_external_id, principal_kind, direct, via)
      SELECT t.id, ${connectorId}::uuid, t.key, t.principal, t.kind, false, string_to_array(t.via, ${VIA_SEPARATOR})
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
