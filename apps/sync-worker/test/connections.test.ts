import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnvironment } from '../src';
import { SYNC_DB_IDLE_TIMEOUT_MS } from '../src/worker';
import { createHarness, type Harness } from './support/harness';

// Scheduled runs come minutes apart; a connection opened anew for each is a new server process that
// loads its caches and compiles the trigger functions again (~0.8 s of an incremental run at L).
describe('Postgres connections between runs', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ seed: 47 });
  });
  afterAll(async () => {
    await h.close();
  });

  const workerBackends = async (): Promise<number[]> =>
    (
      await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'warden-sync-worker' ORDER BY pid`.execute(h.tdb.db)
    ).rows.map((r) => r.pid);

  it('keeps them past the pg default of 10 s idle, so the next run uses the same server processes', async () => {
    expect(SYNC_DB_IDLE_TIMEOUT_MS).toBe(1_800_000);
    expect(parseEnvironment(h.env()).DB_IDLE_TIMEOUT_MS).toBeUndefined();
    expect(() => parseEnvironment(h.env({ DB_IDLE_TIMEOUT_MS: '-1' }))).toThrow(/DB_IDLE_TIMEOUT_MS/);
    const connectorId = await h.addConnector();
    await h.startWorker();
    expect((await h.sync(connectorId, 'FULL')).status).toBe('SUCCEEDED');
    const afterFirst = await workerBackends();
    expect(afterFirst.length).toBeGreaterThan(1);
    await sleep(11_000);
    expect(await workerBackends()).toEqual(afterFirst);
    expect((await h.sync(connectorId, 'INCREMENTAL')).status).toBe('SUCCEEDED');
    // Every process of the first run is still there: the second run was served by them, not by new ones.
    expect(await workerBackends()).toEqual(expect.arrayContaining(afterFirst));
  }, 30_000);

  it('closes them after DB_IDLE_TIMEOUT_MS when it is set', async () => {
    const connectorId = await h.addConnector();
    await h.closeWorkers();
    await h.startWorker({ DB_IDLE_TIMEOUT_MS: '300' });
    expect((await h.sync(connectorId, 'FULL')).status).toBe('SUCCEEDED');
    let left = await workerBackends();
    for (let i = 0; i < 40 && left.length > 0; i++) {
      await sleep(100);
      left = await workerBackends();
    }
    expect(left).toEqual([]);
  });
});
