import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, pgPoolOf } from '@warden/database';
import { createTestDatabase, type TestDatabase } from '@warden/database/testing';
import { DatabasePacer } from '../src/pacing';

/**
 * A sync yields Postgres to other clients: while another session runs statements, the sync's
 * statements may take at most `share` of wall time; alone, they never wait.
 */
let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase('pacing');
});
afterAll(async () => tdb?.drop());

const STATEMENT_MS = 20;
const STATEMENTS = 20;

async function syncStatements(share: number, other: { applicationName: string } | null) {
  const db = createDb({ connectionString: tdb.url, max: 2, applicationName: 'warden-sync-worker' });
  const pacer = new DatabasePacer({ connectionString: tdb.url, share, probeEveryMs: 50, burstMs: 20 });
  pacer.attach(pgPoolOf(db)!);
  // Another client busy for the whole test: a statement that runs until cancelled.
  const busy = other ? new pg.Client({ connectionString: tdb.url, application_name: other.applicationName }) : null;
  let running: Promise<unknown> | null = null;
  if (busy) {
    await busy.connect();
    running = busy.query('SELECT pg_sleep(30)').catch(() => undefined);
  }
  try {
    // The first statement starts the probes; let them see the database as it is.
    await sql`SELECT 1`.execute(db);
    await sleep(600);
    const t0 = performance.now();
    for (let i = 0; i < STATEMENTS; i++) await sql`SELECT pg_sleep(${STATEMENT_MS / 1000})`.execute(db);
    const wallMs = performance.now() - t0;
    // Inside a transaction nothing waits (its row locks would be held while the budget refills): the
    // BEGIN does, then ten statements run back to back.
    const waitsBefore = pacer.stats.waited;
    const txInnerMs = await db.transaction().execute(async (tx) => {
      const t1 = performance.now();
      for (let i = 0; i < 10; i++) {
        await sql`SELECT pg_sleep(${STATEMENT_MS / 1000})`.execute(tx);
        // A savepoint rolled back does not end the transaction.
        if (i === 4) await sql`SAVEPOINT s`.execute(tx).then(() => sql`ROLLBACK TO SAVEPOINT s`.execute(tx));
      }
      return performance.now() - t1;
    });
    const txWaits = pacer.stats.waited - waitsBefore;
    return { wallMs, txInnerMs, txWaits, engaged: pacer.engaged, stats: { ...pacer.stats } };
  } finally {
    if (busy) {
      await sql`SELECT pg_cancel_backend(${(busy as unknown as { processID: number }).processID})`.execute(db);
      await running;
      await busy.end();
    }
    await pacer.close();
    await db.destroy();
  }
}

describe('DatabasePacer', () => {
  it('never waits while the sync is alone in the database', async () => {
    const r = await syncStatements(0.25, null);
    expect(r.engaged).toBe(false);
    expect(r.stats.waited).toBe(0);
    expect(r.stats.probes).toBeGreaterThan(5);
    expect(r.stats.busyProbes).toBe(0);
  });

  it('keeps its statements to `share` of the time while another client is running one', async () => {
    const r = await syncStatements(0.25, { applicationName: 'warden-gateway' });
    expect(r.engaged).toBe(true);
    expect(r.stats.waited).toBeGreaterThan(10);
    // At least 20 × 20 ms of statements within a quarter of the time: the budget admits the burst
    // (20 ms) and one statement over it at most, so the rest took four times its length.
    const statementMs = STATEMENTS * STATEMENT_MS;
    expect(r.wallMs).toBeGreaterThanOrEqual((statementMs - 20 - STATEMENT_MS) / 0.25 - 5);
    // Paced, the transaction's 200 ms of statements would have taken at least (200 − 40) / 0.25 ms.
    expect(r.txInnerMs).toBeLessThan(600);
    // Only the BEGIN may have waited.
    expect(r.txWaits).toBeLessThanOrEqual(1);
  });

  it('does not yield to another sync worker', async () => {
    const r = await syncStatements(0.25, { applicationName: 'warden-sync-worker' });
    expect(r.engaged).toBe(false);
    expect(r.stats.waited).toBe(0);
  });

  it('share 0 attaches nothing', async () => {
    const r = await syncStatements(0, { applicationName: 'warden-gateway' });
    expect(r.stats.statements).toBe(0);
    expect(r.stats.waited).toBe(0);
  });
});
