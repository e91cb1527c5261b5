import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { pgPoolOf, type Database } from '@warden/database';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** A staging column: its name and the Postgres type the merge reads it as. */
export type StagingColumn = readonly [name: string, type: 'text' | 'boolean' | 'timestamptz' | 'uuid'];
export type StagingValue = string | boolean | null;

/**
 * Below this many rows a batch goes as one `unnest` statement (one round trip); from it on, through
 * COPY into a temporary staging table and one merge statement (four round trips, but Postgres parses
 * no arrays and the worker escapes each value once).
 */
export const COPY_MIN_ROWS = 500;

/**
 * A full pass's batch of one table, for the first-write fast path: while the run has found the
 * connector without rows of `table`, batches are plain `INSERT … SELECT` (see `mergeRows`).
 */
export interface FirstWrite {
  table: 'resources' | 'entitlements' | 'grants';
  connectorId: string;
  /** The full pass marking its rows (its sync run's id). */
  runId: string;
  /**
   * What a statement trigger of the table would derive from the batch, computed by the writer, which
   * knows that a first write inserts every row: `statement` runs in the batch's transaction right
   * after the INSERT, and `skip` (a setting, set local to the transaction before it) tells the
   * trigger to leave that INSERT alone. Only where the batch goes through COPY (its own transaction);
   * smaller batches, and a batch merged after a conflict, are left to the trigger.
   */
  derived?: { skip: string; statement: () => RawBuilder<unknown> };
  /**
   * The first write as one COPY straight into the table, where the batch goes through COPY anyway:
   * no staging table and no `INSERT … SELECT` from it, and Postgres inserts the rows a page at a time
   * (COPY's multi-row inserts). At L's 610,223 direct grants, in one backend, 10.3–12.5 CPU-s against
   * 11.3–12.6 through the staging table, ~1 CPU-s less in four pairs of five (`bench/sync/replay-copy.sh`;
   * a few runs of either way take ~17 on this box). `columns` are the table's, `values`
   * turns a staging row into them, in the order of `order` (the merge's ORDER BY: index locality).
   * `keep`, run in the batch's transaction just before the COPY, says which rows still go in (the
   * statement's own filter, e.g. the grants' addition guard).
   */
  direct?: {
    columns: readonly string[];
    values: (row: readonly StagingValue[]) => readonly StagingValue[];
    order: (a: readonly StagingValue[], b: readonly StagingValue[]) => number;
    keep?: (query: RowQuery) => Promise<(row: readonly StagingValue[]) => boolean>;
  };
}

/** Compares staging rows by these columns (nulls first; a COPY's order; ties keep their order). */
export function byColumns(...columns: number[]): (a: readonly StagingValue[], b: readonly StagingValue[]) => number {
  return (a, b) => {
    for (const i of columns) {
      const x = a[i] ?? null;
      const y = b[i] ?? null;
      if (x === y) continue;
      if (x === null) return -1;
      if (y === null) return 1;
      return x < y ? -1 : 1;
    }
    return 0;
  };
}

/** A query on the batch's own connection, inside its transaction. */
export type RowQuery = (text: string, values: readonly unknown[]) => Promise<Record<string, unknown>[]>;

/**
 * How often the fast path was taken and given up (a conflicting row was found), and how many of its
 * batches wrote their derived rows themselves and were COPYed straight in; for tests and profiling.
 */
export const firstWriteStats = { batches: 0, fallbacks: 0, derived: 0, direct: 0 };

/**
 * One set-based merge of `rows` into a table. `merge(source, upsert)` is the whole statement (an
 * `INSERT … SELECT … FROM ${source}`, followed by its `ON CONFLICT …` clause when `upsert`); `source`
 * exposes the columns as `t.<name>`. Large batches on a pooled database are COPYed into a
 * transaction-scoped temporary table first; small ones, and writes inside a caller's transaction (no
 * pool to take a connection from), use `unnest` of one array per column. Returns the rows the
 * statement affected.
 *
 * With `first`, a batch of a full pass that found the connector without rows of the table (its first
 * sync) is inserted without ON CONFLICT: no speculative insertion, so per row one probe of the unique
 * index and one WAL record fewer; with `first.direct` a large batch is one COPY straight into the
 * table. Whether rows exist only decides which statement is tried first: a
 * plain INSERT (or COPY) that meets an existing key (a concurrent provisioning write-through, a resumed run, the
 * same key written twice by the run) fails as a whole, its transaction is rolled back, and the batch
 * is merged again with ON CONFLICT; the run then merges every later batch of that table too, so at
 * most one batch per run and table is written twice (its rolled-back rows stay as dead tuples until
 * a vacuum).
 */
export async function mergeRows(
  db: Kysely<Database>,
  columns: readonly StagingColumn[],
  rows: readonly (readonly StagingValue[])[],
  merge: (source: RawBuilder<unknown>, upsert: boolean) => RawBuilder<unknown>,
  first: FirstWrite | null = null,
): Promise<number> {
  if (rows.length === 0) return 0;
  const pool = pgPoolOf(db);
  // Inside a caller's transaction a failed INSERT would abort the caller's work: always merge there.
  if (pool && first && (await isFirstWrite(db, first))) {
    try {
      const written = await writeRows(db, pool, columns, rows, (source) => merge(source, false), first);
      firstWriteStats.batches++;
      return written;
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      firstWrites.set(firstWriteKey(first), false);
      firstWriteStats.fallbacks++;
    }
  }
  return writeRows(db, pool, columns, rows, (source) => merge(source, true));
}

/**
 * Per full pass and table: whether the connector had no rows of the table when the pass first wrote
 * it. A promise while the check runs, so the pass's concurrent writers share one check. Bounded: the
 * oldest runs are forgotten (a forgotten run checks again and, having written rows, merges).
 */
const firstWrites = new Map<string, Promise<boolean> | boolean>();
const FIRST_WRITES_KEPT = 256;

function firstWriteKey(first: FirstWrite): string {
  return `${first.runId}:${first.table}:${first.connectorId}`;
}

async function isFirstWrite(db: Kysely<Database>, first: FirstWrite): Promise<boolean> {
  const key = firstWriteKey(first);
  let known = firstWrites.get(key);
  if (known === undefined) {
    known = sql<{
      empty: boolean;
    }>`SELECT NOT EXISTS (SELECT 1 FROM ${sql.table(first.table)} WHERE connector_id = ${first.connectorId}::uuid) AS empty`
      .execute(db)
      .then((r) => r.rows[0]?.empty === true);
    firstWrites.set(key, known);
    if (firstWrites.size > FIRST_WRITES_KEPT) firstWrites.delete(firstWrites.keys().next().value!);
    // A failed check is not remembered: the next batch asks again.
    known.catch(() => firstWrites.delete(key));
  }
  return known;
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}

async function writeRows(
  db: Kysely<Database>,
  pool: ReturnType<typeof pgPoolOf>,
  columns: readonly StagingColumn[],
  rows: readonly (readonly StagingValue[])[],
  merge: (source: RawBuilder<unknown>) => RawBuilder<unknown>,
  first?: FirstWrite,
): Promise<number> {
  const derived = first?.derived;
  if (!pool || rows.length < COPY_MIN_ROWS) {
    const arrays = columns.map(([, type], i) => sql`${rows.map((r) => r[i] ?? null)}::${sql.raw(type)}[]`);
    const names = sql.raw(columns.map(([name]) => name).join(', '));
    const res = await merge(sql`unnest(${sql.join(arrays)}) AS t(${names})`).execute(db);
    return Number(res.numAffectedRows ?? 0);
  }
  const stage = stagingTable(columns);
  const statement = merge(sql`${sql.table(stage.name)} AS t`).compile(db);
  const client = await pool.connect();
  let broken: unknown = null;
  try {
    await client.query('BEGIN');
    if (derived) await client.query('SELECT set_config($1, $2, true)', [derived.skip, 'on']);
    if (first?.direct) {
      const written = await copyStraightIn(client, first.table, first.direct, rows);
      await writeDerived(db, client, derived, rows.length, written);
      await client.query('COMMIT');
      firstWriteStats.direct++;
      return written;
    }
    // One staging table per connection and column list, emptied by every commit: creating one per
    // batch (with its TOAST table and index, and the catalog invalidations) cost more than the COPY.
    let created = stagesOf.get(client);
    if (!created) stagesOf.set(client, (created = new Set()));
    if (!created.has(stage.name)) {
      await client.query(stage.create);
      created.add(stage.name);
    }
    await pipeline(Readable.from(copyText(rows)), client.query(copyFrom(`COPY ${stage.name} FROM STDIN`)));
    const res = await client.query(statement.sql, statement.parameters as unknown[]);
    await writeDerived(db, client, derived, rows.length, res.rowCount ?? 0);
    await client.query('COMMIT');
    return res.rowCount ?? 0;
  } catch (err) {
    broken = err;
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    // A connection whose COPY failed half-way may be in any state: do not hand it out again.
    client.release(broken !== null);
  }
}

/** Derived rows of a first write, from every row of the batch: right only if every row went in. */
async function writeDerived(db: Kysely<Database>, client: PoolClient, derived: FirstWrite['derived'], batch: number, written: number) {
  if (!derived) return;
  if (written !== batch) throw new Error(`a first write inserted ${written} of ${batch} rows`);
  const extra = derived.statement().compile(db);
  await client.query(extra.sql, extra.parameters as unknown[]);
  firstWriteStats.derived++;
}

async function copyStraightIn(
  client: PoolClient,
  table: FirstWrite['table'],
  direct: NonNullable<FirstWrite['direct']>,
  rows: readonly (readonly StagingValue[])[],
): Promise<number> {
  let out = [...rows].sort(direct.order);
  if (direct.keep) {
    const keep = await direct.keep(async (text, values) => (await client.query(text, [...values])).rows as Record<string, unknown>[]);
    out = out.filter(keep);
  }
  if (out.length === 0) return 0;
  const stream = client.query(copyFrom(`COPY ${table} (${direct.columns.join(', ')}) FROM STDIN`));
  await pipeline(Readable.from(copyText(out.map(direct.values))), stream);
  return stream.rowCount;
}

/** The staging tables each pooled connection has created (temporary tables live as long as it). */
const stagesOf = new WeakMap<object, Set<string>>();

function stagingTable(columns: readonly StagingColumn[]): { name: string; create: string } {
  const list = columns.map(([name, type]) => `${name} ${type}`).join(', ');
  const name = `warden_stage_${createHash('sha1').update(list).digest('hex').slice(0, 12)}`;
  return { name, create: `CREATE TEMP TABLE IF NOT EXISTS ${name} (${list}) ON COMMIT DELETE ROWS` };
}

/** COPY's text format, in chunks of a few hundred rows (a stream, not one string of the batch). */
function* copyText(rows: readonly (readonly StagingValue[])[]): Generator<string> {
  const CHUNK = 500;
  for (let i = 0; i < rows.length; i += CHUNK) {
    let out = '';
    const end = Math.min(rows.length, i + CHUNK);
    for (let r = i; r < end; r++) {
      const row = rows[r]!;
      for (let c = 0; c < row.length; c++) {
        if (c > 0) out += '\t';
        out += copyValue(row[c] ?? null);
      }
      out += '\n';
    }
    yield out;
  }
}

const SPECIAL = /[\\\t\n\r]/g;
const HAS_SPECIAL = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function copyValue(v: StagingValue): string {
  if (v === null) return '\\N';
  if (typeof v === 'boolean') return v ? 't' : 'f';
  // Almost no value needs escaping: a test is about half the CPU of a replace that finds nothing
  // (millions of values in a full sync at L).
  return HAS_SPECIAL.test(v) ? v.replace(SPECIAL, (m) => ESCAPES[m]!) : v;
}
