import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnvironment } from '../src';
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

  it('keeps them by default for 30 minutes, longer than the default incremental interval', () => {
    const env = parseEnvironment(h.env());
    expect(env.DB_IDLE_TIMEOUT_MS).toBe(1_800_000);
    expect(() => parseEnvironment(h.env({ DB_IDLE_TIMEOUT_MS: '-1' }))).toThrow(/DB_IDLE_TIMEOUT_MS/);
  });

  it('reuses the same server processes for the next run, and closes them after DB_IDLE_TIMEOUT_MS when set', async () => {
    const connectorId = await h.addConnector();
    await h.startWorker();
    expect((await h.sync(connectorId, 'FULL')).status).toBe('SUCCEEDED');
    const afterFirst = await workerBackends();
    expect(afterFirst.length).toBeGreaterThan(1);
    // The first test pins the default; the 300 ms case below shows the variable reaches the pool.
    await sleep(1_500);
    expect((await h.sync(connectorId, 'INCREMENTAL')).status).toBe('SUCCEEDED');
    const afterSecond = await workerBackends();
    // Every process of the first run is still there: the second run was served by them, not by new ones.
    expect(afterSecond).toEqual(expect.arrayContaining(afterFirst));

    await h.closeWorkers();
    await h.startWorker({ DB_IDLE_TIMEOUT_MS: '300' });
    expect((await h.sync(connectorId, 'INCREMENTAL')).status).toBe('SUCCEEDED');
    let left = await workerBackends();
    for (let i = 0; i < 40 && left.length > 0; i++) {
      await sleep(100);
      left = await workerBackends();
    }
    expect(left).toEqual([]);
  });
});
