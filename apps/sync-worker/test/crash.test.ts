import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { spawnWorker, type ChildWorker } from './support/child';
import { createHarness, type Harness } from './support/harness';

describe('SIGKILL mid-run', () => {
  let h: Harness;
  const children: ChildWorker[] = [];
  beforeAll(async () => {
    // Small delta pages and some latency: a full run takes a few seconds and has many checkpoints.
    h = await createHarness({ seed: 41, settings: { latencyMs: 15, deltaPageSize: 10, deltaLinksPerPage: 60 } });
  });
  afterAll(async () => {
    for (const c of children) await c.kill('SIGKILL');
    await h.close();
  });

  it('another worker resumes from the checkpoint and ends exactly at the tenant, without duplicates', async () => {
    const c = await h.addConnector();
    // Small write batches: every few pages end in a checkpoint, so the kill lands between two of them.
    // The 30 groups go in 10 filtered rounds of 3, two at a time: the kill lands with some rounds done.
    // Every batch's checkpoint saved (by default a groups pass saves at most once a second).
    const env = h.env({
      LOG_LEVEL: 'info',
      SYNC_WRITE_BATCH_ROWS: '40',
      SYNC_GROUPS_CHUNK_SIZE: '3',
      SYNC_GROUPS_ROUNDS_AT_ONCE: '2',
      SYNC_CHECKPOINT_MIN_INTERVAL_MS: '0',
    });
    const first = spawnWorker(env);
    children.push(first);
    await first.ready;
    const runId = await h.trigger(c, 'FULL');
    // Wait until delta pages have been applied and checkpointed, then kill without warning.
    for (let i = 0; ; i++) {
      const run = await h.tdb.db.selectFrom('sync_runs').select(['status', 'checkpoint']).where('id', '=', runId).executeTakeFirstOrThrow();
      const stages = (run.checkpoint as { stages?: Record<string, { state?: string; chunksDone?: number[] }> }).stages ?? {};
      // Some groups rounds written and checkpointed, the pass not finished.
      if (stages['groups']?.state === 'running' && (stages['groups'].chunksDone?.length ?? 0) > 0) break;
      expect(['QUEUED', 'RUNNING'], first.output()).toContain(run.status);
      if (i > 600) throw new Error(`no checkpoint after 12 s:\n${first.output()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await first.kill('SIGKILL');
    const mid = await h.tdb.db
      .selectFrom('sync_runs')
      .select(['status', 'attempt', 'checkpoint'])
      .where('id', '=', runId)
      .executeTakeFirstOrThrow();
    expect({ status: mid.status, attempt: mid.attempt }).toEqual({ status: 'RUNNING', attempt: 1 });
    type GroupsStage = { state: string; chunks?: string[][]; chunksDone?: number[]; counters?: Record<string, number> };
    const killed = (mid.checkpoint as { stages: { groups: GroupsStage } }).stages.groups;
    const chunks = killed.chunks ?? [];
    const doneAtKill = killed.chunksDone?.length ?? 0;
    expect(chunks.length).toBe(Math.ceil(h.emulator.exportTenant().groups.length / 3));
    expect(doneAtKill).toBeGreaterThan(0);
    expect(doneAtKill).toBeLessThan(chunks.length);

    const second = spawnWorker(env);
    children.push(second);
    await second.ready;
    const run = await h.waitForRun(runId, 60_000);
    expect(run.error, second.output()).toBeNull();
    expect(run.status).toBe('SUCCEEDED');
    expect(run.attempt).toBe(2);
    expect(second.output()).toMatch(/resumed|stage done/);

    const d = await h.diff(c);
    expect(d.differences).toEqual([]);
    const dup = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM (SELECT entitlement_key, principal_external_id, direct FROM grants WHERE connector_id = ${c}::uuid
      GROUP BY 1, 2, 3 HAVING count(*) > 1) x`.execute(h.tdb.db);
    expect(dup.rows[0]!.n).toBe(0);
    // The resumed pass read only the rounds not done when the first worker died.
    const groups = (run.checkpoint as { stages: { groups: GroupsStage } }).stages.groups;
    expect(groups.state).toBe('done');
    expect(groups.counters?.['graphRounds_groups']).toBe(chunks.length - doneAtKill);
    const logs = await h.tdb.db.selectFrom('connector_logs').select('message').where('sync_run_id', '=', runId).execute();
    expect(logs.some((l) => /resumed from its checkpoint \(attempt 2\)/.test(l.message))).toBe(true);
    expect(logs.some((l) => l.message === `groups: resuming the full pass, ${doneAtKill} of ${chunks.length} chunks already read`)).toBe(
      true,
    );
  });
});

describe('checkpoint saves of a full groups pass', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ seed: 41, settings: { latencyMs: 15, deltaPageSize: 10, deltaLinksPerPage: 60 } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('are at most one per SYNC_CHECKPOINT_MIN_INTERVAL_MS besides the first and the last, and the run is exact', async () => {
    // The settings under which the test above sees a checkpoint after every few pages.
    await h.startWorker({
      SYNC_WRITE_BATCH_ROWS: '40',
      SYNC_GROUPS_CHUNK_SIZE: '3',
      SYNC_GROUPS_ROUNDS_AT_ONCE: '2',
      SYNC_CHECKPOINT_MIN_INTERVAL_MS: '600000',
    });
    const c = await h.addConnector();
    const runId = await h.trigger(c, 'FULL');
    // Every distinct stored state of the running pass once its chunks are listed (chunks done, rows written).
    const seen = new Set<string>();
    for (;;) {
      const run = await h.tdb.db.selectFrom('sync_runs').select(['status', 'checkpoint']).where('id', '=', runId).executeTakeFirstOrThrow();
      const groups = (
        run.checkpoint as { stages?: Record<string, { state?: string; chunksDone?: number[]; counters?: Record<string, number> }> }
      ).stages?.['groups'];
      if (groups?.state === 'running' && groups.chunksDone)
        seen.add(`${groups.chunksDone.length}:${groups.counters?.['rowsWritten'] ?? 0}`);
      if (run.status !== 'QUEUED' && run.status !== 'RUNNING') {
        expect(run.status).toBe('SUCCEEDED');
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    // The save after listing the ids (no chunk done), then the first batch's; the rest wait for the interval.
    expect(seen.size).toBeGreaterThan(0);
    expect(seen.size).toBeLessThanOrEqual(2);
    expect((await h.diff(c)).differences).toEqual([]);
  });
});
