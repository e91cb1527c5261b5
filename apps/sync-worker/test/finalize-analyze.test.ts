import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tablesToAnalyze } from '../src/runs/finalize';
import { createHarness, type Harness } from './support/harness';

/**
 * The finishing step analyzes grants, resources and entitlements when they were never analyzed, or
 * after a run that wrote a lot, those that changed by more than autovacuum's threshold (50 rows +
 * 10 %): a full pass of a small connector must not analyze tables that hold a big one.
 */
let h: Harness;
let connectorId: string;
beforeAll(async () => {
  h = await createHarness({ seed: 5 });
  connectorId = await h.addConnector();
});
afterAll(async () => h?.close());

const analyzeList = (wroteALot: boolean) => h.tdb.db.transaction().execute((trx) => tablesToAnalyze(trx, wroteALot));

/** Updates `n` of the connector's resources and makes the change counts visible to other sessions. */
async function touch(n: number): Promise<void> {
  await h.tdb.db.connection().execute(async (conn) => {
    await sql`UPDATE resources SET display_name = display_name || '.' WHERE id IN (
      SELECT id FROM resources WHERE connector_id = ${connectorId}::uuid ORDER BY id LIMIT ${n})`.execute(conn);
    await sql`SELECT pg_stat_force_next_flush()`.execute(conn);
    await sql`SELECT 1`.execute(conn);
  });
}

describe('planner statistics after a run', () => {
  it('analyzes tables never analyzed, whatever the run wrote', async () => {
    expect(await analyzeList(false)).toEqual(['entitlements', 'grants', 'resources']);
  });

  it('after a run that wrote a lot, analyzes only the tables that changed by more than 50 + 10 %', async () => {
    await h.tdb.db.connection().execute(async (conn) => {
      await sql`INSERT INTO resources (connector_id, type, external_id, display_name, profile, search_text)
        SELECT ${connectorId}::uuid, 'USER', 'analyze-' || i, 'User ' || i, '{}', 'user ' || i FROM generate_series(1, 2000) i`.execute(
        conn,
      );
      // The insert's change count must reach the statistics before ANALYZE resets it.
      await sql`SELECT pg_stat_force_next_flush()`.execute(conn);
      await sql`SELECT 1`.execute(conn);
      for (const t of ['grants', 'resources', 'entitlements']) await sql`ANALYZE ${sql.table(t)}`.execute(conn);
    });
    await touch(100);
    expect(await analyzeList(true)).toEqual([]);
    await touch(400);
    expect(await analyzeList(false)).toEqual([]);
    expect(await analyzeList(true)).toEqual(['resources']);
  });
});
