import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { SyncRunUpdated } from '@warden/bus';
import { createTestBus, type TestBus } from '@warden/bus/testing';
import { createTestDatabase, type TestDatabase } from '@warden/database/testing';
import { requestSync } from '@warden/access-model';
import { scheduleDueSyncs } from '../src/scheduler';

describe('scheduler and requestSync', () => {
  let tdb: TestDatabase;
  let tbus: TestBus;
  beforeAll(async () => {
    tdb = await createTestDatabase('sync_sched');
    tbus = await createTestBus();
  });
  afterAll(async () => {
    await tbus.destroy();
    await tdb.drop();
  });

  async function connector(values: { secret?: boolean } = {}): Promise<string> {
    const row = await tdb.db
      .insertInto('connectors')
      .values({
        display_name: 'c',
        auth_method: 'CLIENT_SECRET',
        tenant_id: 't',
        client_id: 'c',
        secret_ciphertext: values.secret === false ? null : 'x',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  it('enqueues a FULL run first, nothing while it is active, then INCREMENTAL and FULL by their intervals', async () => {
    const c = await connector();
    const idle = await connector({ secret: false });
    const events: SyncRunUpdated[] = [];
    const unsubscribe = tbus.bus.subscribeSyncRunUpdated(c, (e) => events.push(e));

    // Two replicas at once: exactly one run.
    const [a, b] = await Promise.all([
      scheduleDueSyncs(tdb.db, tbus.bus, { staleRunMs: 60_000 }),
      scheduleDueSyncs(tdb.db, tbus.bus, { staleRunMs: 60_000 }),
    ]);
    const all = [...a.enqueued, ...b.enqueued].filter((e) => e.connectorId === c);
    expect(all).toHaveLength(1);
    expect(all[0]!.mode).toBe('FULL');
    expect([...a.enqueued, ...b.enqueued].some((e) => e.connectorId === idle)).toBe(false);

    expect((await scheduleDueSyncs(tdb.db, tbus.bus, { staleRunMs: 60_000 })).enqueued.filter((e) => e.connectorId === c)).toHaveLength(0);

    // The run finished 20 minutes ago: incremental (900 s) is due, full (86,400 s) is not.
    await sql`UPDATE sync_runs SET status = 'SUCCEEDED', queued_at = now() - interval '20 minutes' WHERE connector_id = ${c}::uuid`.execute(
      tdb.db,
    );
    const inc = (await scheduleDueSyncs(tdb.db, tbus.bus, { staleRunMs: 60_000 })).enqueued.filter((e) => e.connectorId === c);
    expect(inc.map((e) => e.mode)).toEqual(['INCREMENTAL']);

    await sql`UPDATE sync_runs SET status = 'SUCCEEDED', queued_at = now() - interval '2 days' WHERE connector_id = ${c}::uuid`.execute(
      tdb.db,
    );
    const full = (await scheduleDueSyncs(tdb.db, tbus.bus, { staleRunMs: 60_000 })).enqueued.filter((e) => e.connectorId === c);
    expect(full.map((e) => e.mode)).toEqual(['FULL']);

    await new Promise((r) => setTimeout(r, 200));
    unsubscribe();
    expect(events.filter((e) => e.status === 'QUEUED')).toHaveLength(3);
  });

  it('joins the active run instead of creating a second one', async () => {
    const c = await connector();
    const first = await requestSync(tdb.db, tbus.bus, { connectorId: c, mode: 'INCREMENTAL', requestedBy: 'alice' });
    const second = await requestSync(tdb.db, tbus.bus, { connectorId: c, mode: 'FULL', requestedBy: 'bob' });
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.run.id).toBe(first.run.id);
  });

  it('republishes runs whose worker is gone (stale heartbeat)', async () => {
    const c = await connector();
    await sql`INSERT INTO sync_runs (connector_id, mode, status, heartbeat_at, started_at) VALUES (${c}::uuid, 'FULL', 'RUNNING', now() - interval '10 minutes', now() - interval '10 minutes')`.execute(
      tdb.db,
    );
    const r = await scheduleDueSyncs(tdb.db, tbus.bus, { staleRunMs: 60_000 });
    expect(r.republished).toBeGreaterThanOrEqual(1);
  });
});
