import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { gramsLiteral, searchGrams, type Database } from '@warden/database';
import type { ResourceInput } from '../model';
import { byColumns, mergeRows, type StagingColumn } from './bulk';
import { chunks, dedupeBy } from './chunks';

/**
 * Profile keys a page may not carry that must survive a rewrite of the row: the manager (users delta
 * repeats it only when it changes) and the sign-in activity (written by its own stage).
 */
export const STICKY_PROFILE_KEYS = ['managerId', 'lastSignInDateTime', 'lastNonInteractiveSignInDateTime', 'lastSuccessfulSignInDateTime'];

const RESOURCE_COLUMNS: StagingColumn[] = [
  ['id', 'uuid'],
  ['type', 'text'],
  ['external_id', 'text'],
  ['display_name', 'text'],
  ['profile', 'text'],
  ['search_text', 'text'],
  // An int[] literal: computed here because the SQL definition costs Postgres ~100 µs a row (migration 0018).
  ['search_grams', 'text'],
];

/** The table's columns a write names (the merge's INSERT and a first write's COPY): the staging columns, with the connector and the run. */
const RESOURCE_TABLE_COLUMNS = [
  'id',
  'connector_id',
  'type',
  'external_id',
  'display_name',
  'profile',
  'search_text',
  'search_grams',
  'last_seen_run_id',
];

/**
 * Streamed bulk upsert: one `INSERT … SELECT … ON CONFLICT` per batch, from a COPYed staging table
 * or `unnest` (`mergeRows`), in key order. Unchanged rows
 * are not rewritten unless `markRunId` is set (full passes mark what they saw so the finishing
 * step can delete what they did not). Returns the rows actually inserted or changed.
 */
export async function upsertResources(
  db: Kysely<Database>,
  connectorId: string,
  rows: readonly ResourceInput[],
  markRunId: string | null,
): Promise<number> {
  let written = 0;
  // The stored sticky keys, overridden by whatever the new profile carries.
  const merged = (stored: ReturnType<typeof sql>, incoming: ReturnType<typeof sql>) =>
    sql`(coalesce((SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each(${stored}) e
                   WHERE e.key = ANY(${STICKY_PROFILE_KEYS}::text[])), '{}'::jsonb) || ${incoming})`;
  const profile = merged(sql`r.profile`, sql`excluded.profile`);
  // The stored row already says what `t` says: left out before the upsert when nothing is marked (an
  // incremental page), because ON CONFLICT DO UPDATE locks the row it finds even when its WHERE then
  // skips the update — a heap write with its WAL. A groups delta page repeats every group whose
  // members changed with all its properties.
  const unchanged = sql`SELECT 1 FROM resources x WHERE x.connector_id = ${connectorId}::uuid AND x.external_id = t.external_id
    AND (x.type, x.display_name, x.profile, x.search_text)
        IS NOT DISTINCT FROM (t.type, t.display_name, ${merged(sql`x.profile`, sql`t.profile::jsonb`)}, t.search_text)`;
  for (const batch of chunks(dedupeBy(rows, (r) => r.externalId))) {
    const grams = batch.map((b) => searchGrams(b.searchText));
    written += await mergeRows(
      db,
      RESOURCE_COLUMNS,
      // Ids as the column default makes them (random, version 4), but without a per-row call of
      // Postgres' cryptographic generator (see ids.ts); an existing row keeps its id.
      batch.map((b, i) => [
        randomUUID(),
        b.type,
        b.externalId,
        b.displayName,
        JSON.stringify(b.profile),
        b.searchText,
        gramsLiteral(grams[i]!),
      ]),
      (source, upsert) => sql`
      INSERT INTO resources AS r (${sql.raw(RESOURCE_TABLE_COLUMNS.join(', '))})
      SELECT t.id, ${connectorId}::uuid, t.type, t.external_id, t.display_name, t.profile::jsonb, t.search_text, t.search_grams::int[], ${markRunId}::uuid
      FROM ${source}
      ${markRunId === null ? sql`WHERE NOT EXISTS (${unchanged})` : sql.raw('')}
      ORDER BY t.external_id
      ${
        upsert
          ? sql`ON CONFLICT (connector_id, external_id) DO UPDATE SET
        type = excluded.type,
        display_name = excluded.display_name,
        profile = ${profile},
        search_text = excluded.search_text,
        search_grams = excluded.search_grams,
        last_seen_run_id = coalesce(excluded.last_seen_run_id, r.last_seen_run_id),
        updated_at = CASE WHEN (r.type, r.display_name, r.profile, r.search_text)
                               IS DISTINCT FROM (excluded.type, excluded.display_name, ${profile}, excluded.search_text)
                          THEN now() ELSE r.updated_at END
      WHERE (r.type, r.display_name, r.profile, r.search_text) IS DISTINCT FROM (excluded.type, excluded.display_name, ${profile}, excluded.search_text)
         OR (excluded.last_seen_run_id IS NOT NULL AND r.last_seen_run_id IS DISTINCT FROM excluded.last_seen_run_id)`
          : sql.raw('')
      }`,
      markRunId
        ? {
            table: 'resources',
            connectorId,
            runId: markRunId,
            derived: { skip: 'warden.grams_counted', statement: () => gramCounts(connectorId, batch, grams) },
            direct: {
              columns: RESOURCE_TABLE_COLUMNS,
              values: (r) => [r[0] ?? null, connectorId, ...r.slice(1), markRunId],
              order: byColumns(2),
            },
          }
        : null,
    );
  }
  return written;
}

/**
 * The batch's gram counts as migration 0018's trigger adds them for an INSERT (per type and gram, in
 * key order so concurrent writers cannot deadlock on the counters), counted here from the grams the
 * batch already carries (migration 0019).
 */
function gramCounts(connectorId: string, batch: readonly ResourceInput[], grams: readonly number[][]) {
  const byType = new Map<string, Map<number, number>>();
  batch.forEach((b, i) => {
    let counts = byType.get(b.type);
    if (!counts) byType.set(b.type, (counts = new Map()));
    for (const g of grams[i]!) counts.set(g, (counts.get(g) ?? 0) + 1);
  });
  const types: string[] = [];
  const codes: number[] = [];
  const ns: number[] = [];
  for (const [type, counts] of byType)
    for (const [g, n] of counts) {
      types.push(type);
      codes.push(g);
      ns.push(n);
    }
  return sql`
    INSERT INTO resource_gram_counts AS c (connector_id, type, gram, n)
    SELECT ${connectorId}::uuid, t.type, t.gram, t.n FROM unnest(${types}::text[], ${codes}::int[], ${ns}::bigint[]) AS t(type, gram, n)
    ORDER BY 1, 2, 3
    ON CONFLICT (connector_id, type, gram) DO UPDATE SET n = c.n + excluded.n`;
}

/** Which of these ids are resources of the given type (e.g. groups known before a links-only change). */
export async function existingResourceIds(
  db: Kysely<Database>,
  connectorId: string,
  type: string,
  ids: readonly string[],
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .selectFrom('resources')
    .select('external_id')
    .where('connector_id', '=', connectorId)
    .where('type', '=', type as ResourceInput['type'])
    .where('external_id', '=', sql<string>`ANY(${[...ids]}::text[])`)
    .execute();
  return new Set(rows.map((r) => r.external_id));
}
