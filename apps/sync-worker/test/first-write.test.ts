import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@warden/database/testing';
import type { DirectGrantInput, ResourceInput } from '../src/model';
import { COPY_MIN_ROWS, firstWriteStats } from '../src/writers/bulk';
import { pairKey, upsertDirectGrants } from '../src/writers/grants';
import { upsertResources } from '../src/writers/resources';

// A full pass into a connector without rows inserts without ON CONFLICT; these tests check that the
// result is the same as a merge's, and that a row written by someone else meanwhile is merged, not lost.

function users(prefix: string, n: number): ResourceInput[] {
  return Array.from({ length: n }, (_, i) => ({
    type: 'USER' as const,
    externalId: `${prefix}-${String(i).padStart(5, '0')}`,
    displayName: `${prefix} ${i}`,
    profile: { userPrincipalName: `${prefix}.${i}@example.com` },
    searchText: `${prefix} ${i}`,
  }));
}

function memberships(group: string, from: number, n: number): DirectGrantInput[] {
  return Array.from({ length: n }, (_, i) => ({
    entitlementKey: `GROUP:${group}:member`,
    principalExternalId: `u-${String(from + i).padStart(5, '0')}`,
    principalKind: 'USER' as const,
    graphAssignmentId: null,
    expiresAt: null,
  }));
}

const fullPass = (runId: string) => ({ markRunId: runId, assignmentIdFromGraph: false, expiryFromGraph: false });

describe('first-write fast path (plain INSERT while the connector has no rows)', () => {
  let tdb: TestDatabase;

  beforeAll(async () => {
    tdb = await createTestDatabase('sync_first_write');
  }, 60_000);
  afterAll(async () => {
    await tdb?.drop();
  });

  const newConnector = async () =>
    (
      await tdb.db
        .insertInto('connectors')
        .values({ display_name: 'first', tenant_id: 't', client_id: 'c', auth_method: 'CLIENT_SECRET' })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;

  const storedUsers = async (connectorId: string) =>
    tdb.db
      .selectFrom('resources')
      .select(['external_id', 'display_name', 'profile', 'search_text', 'last_seen_run_id'])
      .where('connector_id', '=', connectorId)
      .orderBy('external_id')
      .execute();

  const storedGrants = async (connectorId: string) =>
    tdb.db
      .selectFrom('grants')
      .select(['entitlement_key', 'principal_external_id', 'source', 'expires_at', 'last_seen_run_id'])
      .where('connector_id', '=', connectorId)
      .orderBy('entitlement_key')
      .orderBy('principal_external_id')
      .execute();

  /** Counters that differ from a recount of the connector's rows by `warden_search_grams` (0: exact). */
  const gramDrift = async (connectorId: string) =>
    (
      await sql<{ n: number }>`
      WITH counted AS (SELECT connector_id, type, gram, n FROM resource_gram_counts WHERE connector_id = ${connectorId}::uuid AND n <> 0),
           recount AS (SELECT connector_id, type, b AS gram, count(*) AS n FROM resources, unnest(warden_search_grams(search_text)) b
                       WHERE connector_id = ${connectorId}::uuid GROUP BY 1, 2, 3)
      SELECT count(*)::int AS n FROM ((TABLE counted EXCEPT TABLE recount) UNION ALL (TABLE recount EXCEPT TABLE counted)) d`.execute(
        tdb.db,
      )
    ).rows[0]!.n;

  it('inserts a first pass without merging (COPY and unnest batches), and a second full pass merges the same rows', async () => {
    const connectorId = await newConnector();
    const run1 = randomUUID();
    const big = users('a', COPY_MIN_ROWS + 11);
    const small = users('b', 20);
    const before = { ...firstWriteStats };
    expect(await upsertResources(tdb.db, connectorId, big, run1)).toBe(big.length);
    expect(await upsertResources(tdb.db, connectorId, small, run1)).toBe(small.length);
    expect(firstWriteStats.batches - before.batches).toBe(2);
    expect(firstWriteStats.fallbacks).toBe(before.fallbacks);
    // The COPY batch sent its own gram counts (migration 0019), the unnest one left them to the trigger.
    expect(firstWriteStats.derived - before.derived).toBe(1);
    expect(await gramDrift(connectorId)).toBe(0);
    const first = await storedUsers(connectorId);
    expect(first).toHaveLength(big.length + small.length);
    expect(first.every((r) => r.last_seen_run_id === run1)).toBe(true);

    // The next full pass finds rows: it merges (marking every row it saw, changing nothing else).
    const run2 = randomUUID();
    const mid = { ...firstWriteStats };
    expect(await upsertResources(tdb.db, connectorId, big, run2)).toBe(big.length);
    expect(await upsertResources(tdb.db, connectorId, small, run2)).toBe(small.length);
    expect(firstWriteStats).toEqual(mid);
    const second = await storedUsers(connectorId);
    expect(second.map((r) => ({ ...r, last_seen_run_id: run1 }))).toEqual(first);
    expect(second.every((r) => r.last_seen_run_id === run2)).toBe(true);
    // An incremental write (no run) never takes the fast path.
    expect(await upsertResources(tdb.db, connectorId, users('c', COPY_MIN_ROWS), null)).toBe(COPY_MIN_ROWS);
    expect(firstWriteStats).toEqual(mid);
    expect(await gramDrift(connectorId)).toBe(0);
  });

  it('counts the grams of a first write that meets a row written meanwhile: rolled back with it, counted by the trigger', async () => {
    const connectorId = await newConnector();
    const run = randomUUID();
    const before = { ...firstWriteStats };
    expect(await upsertResources(tdb.db, connectorId, users('m', COPY_MIN_ROWS), run)).toBe(COPY_MIN_ROWS);
    expect(firstWriteStats.derived - before.derived).toBe(1);
    // Someone else writes one of the next batch's users, under another name, before the batch comes.
    const next = users('n', COPY_MIN_ROWS + 5);
    await upsertResources(tdb.db, connectorId, [{ ...next[3]!, displayName: 'renamed meanwhile', searchText: 'renamed meanwhile' }], null);
    expect(await upsertResources(tdb.db, connectorId, next, run)).toBe(next.length);
    // The plain INSERT met that row: rolled back with its counts, merged, counted by the trigger.
    expect(firstWriteStats.fallbacks - before.fallbacks).toBe(1);
    expect(firstWriteStats.derived - before.derived).toBe(1);
    expect(await gramDrift(connectorId)).toBe(0);
  });

  it('COPYs a first write straight into the table, and keeps out a pair revoked after Graph confirmed it', async () => {
    const connectorId = await newConnector();
    const run = randomUUID();
    const batch = memberships('gr', 0, COPY_MIN_ROWS + 2);
    const revoke = async (principal: string, completedAt: string) =>
      sql`INSERT INTO provisioning_tasks (connector_id, action, entitlement_id, entitlement_key, principal_id, principal_external_id,
            status, requested_by, idempotency_key, completed_at)
          VALUES (${connectorId}::uuid, 'REVOKE', gen_random_uuid(), 'GROUP:gr:member', gen_random_uuid(), ${principal}, 'SUCCEEDED',
            'test', ${randomUUID()}, ${completedAt}::timestamptz)`.execute(tdb.db);
    const t = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
    // Graph's answer was read at `since`; u-00001 was revoked after it, so the writer asks Graph again.
    const since = t(-60_000);
    await revoke('u-00001', t(-30_000));
    const counters: Record<string, number> = {};
    const before = { ...firstWriteStats };
    const written = await upsertDirectGrants(tdb.db, connectorId, batch, {
      ...fullPass(run),
      guard: {
        since,
        counters,
        // Graph still holds it (checked 10 s ago), but a second revoke completes after that check,
        // after the writer looked: only the COPY's own check inside the transaction can see it.
        verify: async (rows) => {
          await revoke('u-00001', t(-5_000));
          return { held: new Map(rows.map((r) => [pairKey(r.entitlementKey, r.principalExternalId), null])), checkedAt: t(-10_000) };
        },
      },
    });
    expect(counters).toEqual({ additionsRevokedMeanwhile: 1, additionsConfirmed: 1 });
    expect(firstWriteStats.direct - before.direct).toBe(1);
    expect(firstWriteStats.fallbacks).toBe(before.fallbacks);
    expect(written).toBe(batch.length - 1);
    const rows = await storedGrants(connectorId);
    expect(rows.map((r) => r.principal_external_id)).toEqual(batch.map((b) => b.principalExternalId).filter((p) => p !== 'u-00001'));
    expect(rows.every((r) => r.last_seen_run_id === run && r.source === 'sync')).toBe(true);
  });

  it('skips the trigger for exactly one INSERT after warden.grams_counted is set, and counts the next', async () => {
    const connectorId = await newConnector();
    const counts = () =>
      tdb.db.selectFrom('resource_gram_counts').select(['gram', 'n']).where('connector_id', '=', connectorId).orderBy('gram').execute();
    await tdb.db.transaction().execute(async (trx) => {
      await sql`SELECT set_config('warden.grams_counted', 'on', true)`.execute(trx);
      await upsertResources(trx, connectorId, users('x', 2), null);
      await upsertResources(trx, connectorId, users('y', 1), null);
    });
    const after = await counts();
    const recount = await sql<{ gram: number; n: number }>`
      SELECT b AS gram, count(*)::int AS n FROM resources, unnest(warden_search_grams(search_text)) b
      WHERE connector_id = ${connectorId}::uuid AND external_id LIKE 'y-%' GROUP BY 1 ORDER BY 1`.execute(tdb.db);
    expect(after.map((r) => ({ gram: r.gram, n: Number(r.n) }))).toEqual(recount.rows);
  });

  it('merges a batch that meets a row written meanwhile (committed write-through), then merges for the rest of the pass', async () => {
    const connectorId = await newConnector();
    const run = randomUUID();
    const before = { ...firstWriteStats };
    expect(await upsertDirectGrants(tdb.db, connectorId, memberships('g1', 0, COPY_MIN_ROWS), fullPass(run))).toBe(COPY_MIN_ROWS);
    expect(firstWriteStats.batches - before.batches).toBe(1);
    // Provisioning writes through a just-in-time membership the next batch also carries.
    const expiry = new Date('2030-01-01T00:00:00Z');
    await tdb.db
      .insertInto('grants')
      .values({
        connector_id: connectorId,
        entitlement_key: 'GROUP:g2:member',
        principal_external_id: 'u-00007',
        principal_kind: 'USER',
        direct: true,
        expires_at: expiry,
        source: 'provisioning',
      })
      .execute();
    const batch2 = memberships('g2', 0, COPY_MIN_ROWS);
    // Written: the 499 new rows and the provisioning row, now marked as seen.
    expect(await upsertDirectGrants(tdb.db, connectorId, batch2, fullPass(run))).toBe(COPY_MIN_ROWS);
    expect(firstWriteStats.fallbacks - before.fallbacks).toBe(1);
    expect(firstWriteStats.batches - before.batches).toBe(1);
    // Later batches of the same pass merge straight away.
    expect(await upsertDirectGrants(tdb.db, connectorId, memberships('g3', 0, COPY_MIN_ROWS), fullPass(run))).toBe(COPY_MIN_ROWS);
    expect(firstWriteStats.batches - before.batches).toBe(1);
    expect(firstWriteStats.fallbacks - before.fallbacks).toBe(1);

    const rows = await storedGrants(connectorId);
    expect(rows).toHaveLength(3 * COPY_MIN_ROWS);
    expect(rows.every((r) => r.last_seen_run_id === run)).toBe(true);
    const written = rows.filter((r) => r.entitlement_key === 'GROUP:g2:member' && r.principal_external_id === 'u-00007');
    // The write-through's row is kept (its expiry, its source), not duplicated.
    expect(written).toEqual([
      {
        entitlement_key: 'GROUP:g2:member',
        principal_external_id: 'u-00007',
        source: 'provisioning',
        expires_at: expiry,
        last_seen_run_id: run,
      },
    ]);
    // The rolled-back attempt left nothing visible: the first batch's rows are there once each.
    expect(new Set(rows.map((r) => `${r.entitlement_key} ${r.principal_external_id}`)).size).toBe(rows.length);
  });

  it('waits for a concurrent uncommitted write-through of the same key, then merges the batch instead of failing', async () => {
    const connectorId = await newConnector();
    const run = randomUUID();
    const batch = memberships('g9', 0, COPY_MIN_ROWS + 3);
    const before = { ...firstWriteStats };
    let pending: Promise<number> | null = null;
    let sawWait = false;
    await tdb.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('grants')
        .values({
          connector_id: connectorId,
          entitlement_key: 'GROUP:g9:member',
          principal_external_id: 'u-00100',
          principal_kind: 'USER',
          direct: true,
          source: 'provisioning',
        })
        .execute();
      // The pass starts while the write-through is still open: its check sees an empty connector.
      pending = upsertDirectGrants(tdb.db, connectorId, batch, fullPass(run));
      // Commit only once the pass's INSERT waits on this transaction's row.
      for (let i = 0; i < 200; i++) {
        const waiting = await sql<{ n: number }>`
          SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'
            AND (query LIKE '%INSERT INTO grants%' OR query LIKE 'COPY grants%') AND query NOT LIKE '%ON CONFLICT%'`.execute(tdb.db);
        sawWait = waiting.rows[0]!.n > 0;
        if (sawWait) break;
        await new Promise((r) => setTimeout(r, 25));
      }
    });
    expect(sawWait).toBe(true);
    expect(await pending!).toBe(batch.length);
    expect(firstWriteStats.fallbacks - before.fallbacks).toBe(1);
    const rows = await storedGrants(connectorId);
    expect(rows).toHaveLength(batch.length);
    expect(rows.filter((r) => r.source === 'provisioning').map((r) => r.principal_external_id)).toEqual(['u-00100']);
    expect(rows.every((r) => r.last_seen_run_id === run)).toBe(true);
  });

  it("keeps a first sync's sign-in patches on their pages (HOT: no index entries), per migration 0016", async () => {
    const connectorId = await newConnector();
    // Users the size of L's (~650 bytes a row), inserted by a first pass, then all patched in one
    // statement as the sign-in stage does: each page needs room for a new version of every row on it.
    const rows = users('s', 2_000).map((u, i) => ({
      ...u,
      profile: { ...u.profile, jobTitle: 'x'.repeat(400), mail: `s.${i}@example.com`, accountEnabled: true },
    }));
    expect(await upsertResources(tdb.db, connectorId, rows, randomUUID())).toBe(rows.length);
    const patch = { lastSignInDateTime: '2026-11-30T10:00:00Z', lastSuccessfulSignInDateTime: '2026-11-30T10:00:00Z' };
    const { updated, hot } = await tdb.db.transaction().execute(async (trx) => {
      const res = await sql`
        UPDATE resources AS r SET profile = r.profile || ${JSON.stringify(patch)}::jsonb, updated_at = now()
        WHERE r.connector_id = ${connectorId}::uuid AND r.type = 'USER'`.execute(trx);
      const stats = await sql<{ hot: number }>`
        SELECT n_tup_hot_upd::int AS hot FROM pg_stat_xact_user_tables WHERE relname = 'resources'`.execute(trx);
      return { updated: Number(res.numAffectedRows ?? 0), hot: stats.rows[0]!.hot };
    });
    expect(updated).toBe(rows.length);
    // These rows (~740 bytes): at fillfactor 75 a third of the patches were HOT (0.33), at 50 0.83.
    expect(hot / updated).toBeGreaterThan(0.75);
  });
});
