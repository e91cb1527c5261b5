import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncMode } from '@warden/database';
import { testSeed } from '@warden/graph-emulator';
import type { SyncWorker } from '../src';
import { createHarness, type Harness } from './support/harness';

/**
 * Many rounds of random tenant changes, mixing incremental and full runs, transient faults, runs
 * interrupted by a worker shutdown and resumed by another worker, and changes made while a run is
 * going: the database equals the tenant after every round (or, for changes made mid-run, after the
 * next one — a delta round is a snapshot of its start).
 */
describe('random churn over many rounds', () => {
  let h: Harness;
  let connectorId: string;
  let worker: SyncWorker;
  const seed = testSeed('churn');

  beforeAll(async () => {
    h = await createHarness({ seed: 31 });
    connectorId = await h.addConnector();
    worker = await h.startWorker();
  });
  afterAll(async () => {
    await h.close();
  });

  const exact = async () => (await h.diff(connectorId)).differences;

  it('stays exact round after round', async () => {
    const first = await h.sync(connectorId, 'FULL');
    expect(first.error).toBeNull();
    expect(await exact()).toEqual([]);

    const plan: { mode: SyncMode; faults?: boolean; interrupt?: boolean }[] = [
      { mode: 'INCREMENTAL' },
      { mode: 'INCREMENTAL', faults: true },
      { mode: 'INCREMENTAL', interrupt: true },
      { mode: 'FULL', faults: true },
      { mode: 'INCREMENTAL', interrupt: true },
      { mode: 'INCREMENTAL' },
    ];
    // Members changed in groups outside any nesting are left out of the closure's roots: counted here,
    // while every round's inherited grants stay exact.
    let rootsSkipped = 0;
    for (const [i, step] of plan.entries()) {
      h.emulator.mutate(25 + i * 15, 3_100 + i);
      if (step.faults) h.emulator.updateSettings({ faultRate: 0.15, faultSeed: seed + i, forceFaults: 1 });
      try {
        let runId: string;
        if (step.interrupt) {
          runId = await h.trigger(connectorId, step.mode);
          await h.waitForRun(runId, 30_000, ['RUNNING', 'SUCCEEDED']);
          await worker.close();
          worker = await h.startWorker();
        } else {
          runId = await h.trigger(connectorId, step.mode);
        }
        const run = await h.waitForRun(runId, 60_000);
        expect(run.error, `round ${i}`).toBeNull();
        expect(run.status).toBe('SUCCEEDED');
      } finally {
        h.emulator.updateSettings({ faultRate: 0 });
      }
      expect(await exact(), `round ${i} (${step.mode}${step.faults ? ', faults' : ''}${step.interrupt ? ', interrupted' : ''})`).toEqual(
        [],
      );
      // The stats' row counts (running sums kept by triggers) equal a count of the rows.
      const last = await h.tdb.db
        .selectFrom('sync_runs')
        .select('stats')
        .where('connector_id', '=', connectorId)
        .where('status', '=', 'SUCCEEDED')
        .orderBy('finished_at', 'desc')
        .executeTakeFirstOrThrow();
      expect(last.stats, `round ${i}`).toMatchObject(await h.countedStats(connectorId));
      rootsSkipped += Number((last.stats as Record<string, unknown>)['closureRootsSkipped'] ?? 0);
    }
    expect(rootsSkipped).toBeGreaterThan(0);
  });

  it('changes made while a full run is going are picked up by the next incremental run', async () => {
    // Latency keeps the run going long enough to change the tenant under it.
    h.emulator.updateSettings({ latencyMs: 60 });
    let runId: string;
    try {
      runId = await h.trigger(connectorId, 'FULL');
      expect((await h.waitForRun(runId, 30_000, ['RUNNING', 'SUCCEEDED'])).status).toBe('RUNNING');
      const changes = h.emulator.mutate(40, 3_200);
      expect(changes.length).toBeGreaterThan(0);
      expect((await h.tdb.db.selectFrom('sync_runs').select('status').where('id', '=', runId).executeTakeFirstOrThrow()).status).toBe(
        'RUNNING',
      );
    } finally {
      h.emulator.updateSettings({ latencyMs: 0 });
    }
    expect((await h.waitForRun(runId)).status).toBe('SUCCEEDED');
    const next = await h.sync(connectorId, 'INCREMENTAL');
    expect(next.error).toBeNull();
    expect(await exact()).toEqual([]);
  });
});
