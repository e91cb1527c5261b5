import http from 'node:http';
import { sql, type Kysely } from 'kysely';
import type { Database } from '@warden/database';
import { Rng } from '../../tests/chaos/src/rng';
import type { EmulatorProcess } from '../support/emulator-process';
import { percentile } from '../support/process';
import { failure, post } from './load';
import { sleep, waitForRun } from './setup';

/**
 * What changes while the dashboards read: grants and revokes at a steady rate through the cached
 * gateway (→ provision worker → emulator, then written through to Postgres), tenant churn followed by
 * an incremental sync every `syncEveryMs`, and a full sync of another connector. After each grant or
 * revoke succeeds, the same question asked just before it is asked again through the cached gateway:
 * an answer from before the change is a stale read.
 */
export interface WriteStats {
  grants: { ok: number; failed: number; p50Ms: number; p99Ms: number };
  revokes: { ok: number; failed: number; p50Ms: number; p99Ms: number };
  readBacks: number;
  staleReads: number;
  /**
   * Stale reads the database agreed with (the row's presence, read straight from Postgres right
   * after): not the cache but a writer — e.g. an incremental sync that read Graph before a revoke
   * reached it and wrote the membership back after the revoke's write-through deleted it.
   */
  staleInDatabase: number;
  staleExamples: string[];
  incrementalSyncs: { runs: number; churnChanges: number; ms: number[] };
  fullSyncs: { runs: number; ms: number[] };
  errors: string[];
}

export interface Pair {
  entitlementId: string;
  principalId: string;
}

/** Grantable (user, group membership) pairs the user does not hold directly, drawn with the seed. */
export async function grantablePairs(db: Kysely<Database>, connectorId: string, count: number, seed: number): Promise<Pair[]> {
  const rng = new Rng(seed ^ 0x9a17);
  const ents = (
    await sql<{ id: string; key: string }>`SELECT id, key FROM entitlements WHERE connector_id = ${connectorId} AND resource_type = 'GROUP'
      AND slug = 'member' AND grantable ORDER BY key`.execute(db)
  ).rows;
  const users = (
    await sql<{
      id: string;
      external_id: string;
    }>`SELECT id, external_id FROM resources WHERE connector_id = ${connectorId} AND type = 'USER'
      AND coalesce(profile->>'accountEnabled', 'true') = 'true' ORDER BY external_id`.execute(db)
  ).rows;
  const out: Pair[] = [];
  const seen = new Set<string>();
  while (out.length < count) {
    const e = rng.pick(ents);
    const u = rng.pick(users);
    const k = `${e.id}|${u.id}`;
    if (seen.has(k)) continue;
    seen.add(k);
    const held = await sql`SELECT 1 FROM grants WHERE connector_id = ${connectorId} AND entitlement_key = ${e.key}
      AND principal_external_id = ${u.external_id} AND direct`.execute(db);
    if (held.rows.length === 0) out.push({ entitlementId: e.id, principalId: u.id });
  }
  return out;
}

const READ_BACK =
  'query ReadBack($c: ID!, $e: ID, $p: ID) { grants(connectorId: $c, entitlementId: $e, principalId: $p, includeInherited: false) { totalCount } }';

export function startWrites(o: {
  gatewayUrl: string;
  adminToken: string;
  db: Kysely<Database>;
  emu: EmulatorProcess;
  mainConnectorId: string;
  otherConnectorId: string;
  pairs: Pair[];
  writesPerSecond: number;
  syncEveryMs: number;
  churnChanges: number;
  seed: number;
}): { stop(): Promise<WriteStats> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const url = new URL(o.gatewayUrl);
  const auth = { authorization: `Bearer ${o.adminToken}` };
  const gql = async <T>(query: string, variables: Record<string, unknown>): Promise<T> => {
    const a = await post(agent, url, JSON.stringify({ query, variables }), auth, 60_000);
    const f = failure(a);
    if (f) throw new Error(f);
    return a.body!.data as T;
  };
  const stats: WriteStats = {
    grants: { ok: 0, failed: 0, p50Ms: 0, p99Ms: 0 },
    revokes: { ok: 0, failed: 0, p50Ms: 0, p99Ms: 0 },
    readBacks: 0,
    staleReads: 0,
    staleInDatabase: 0,
    staleExamples: [],
    incrementalSyncs: { runs: 0, churnChanges: 0, ms: [] },
    fullSyncs: { runs: 0, ms: [] },
    errors: [],
  };
  const latency = { GRANT: [] as number[], REVOKE: [] as number[] };
  let stopped = false;
  const running: Promise<unknown>[] = [];
  const note = (e: unknown) => {
    if (stats.errors.length < 20) stats.errors.push(e instanceof Error ? e.message : String(e));
  };

  const held: Pair[] = [];
  let nextPair = 0;
  let op = 0;
  const change = async (action: 'GRANT' | 'REVOKE', p: Pair) => {
    const vars = { c: o.mainConnectorId, e: p.entitlementId, p: p.principalId };
    const before = await gql<{ grants: { totalCount: number } }>(READ_BACK, vars);
    const t0 = Date.now();
    const key = `bench-${o.seed}-${op++}`;
    const m = await gql<Record<string, { id: string }>>(
      `mutation($i: ${action === 'GRANT' ? 'GrantInput' : 'RevokeInput'}!) { ${action === 'GRANT' ? 'grant' : 'revoke'}(input: $i) { id status } }`,
      { i: { entitlementId: p.entitlementId, principalId: p.principalId, idempotencyKey: key } },
    );
    const taskId = Object.values(m)[0]!.id;
    let status = 'PENDING';
    while (status === 'PENDING' || status === 'RUNNING') {
      if (Date.now() - t0 > 120_000) throw new Error(`${action} task ${taskId} still ${status} after 120 s`);
      await sleep(100);
      status = (
        await gql<{ provisioningTask: { status: string } }>('query($id: ID!) { provisioningTask(id: $id) { status } }', { id: taskId })
      ).provisioningTask.status;
    }
    const s = action === 'GRANT' ? stats.grants : stats.revokes;
    if (status !== 'SUCCEEDED') {
      s.failed++;
      return false;
    }
    s.ok++;
    latency[action].push(Date.now() - t0);
    const after = await gql<{ grants: { totalCount: number } }>(READ_BACK, vars);
    stats.readBacks++;
    const expected = action === 'GRANT' ? 1 : 0;
    if (after.grants.totalCount !== expected) {
      stats.staleReads++;
      const row = await sql<{ n: number; runs: string | null }>`SELECT
          (SELECT count(*)::int FROM grants g JOIN entitlements e ON e.connector_id = g.connector_id AND e.key = g.entitlement_key
             JOIN resources r ON r.connector_id = g.connector_id AND r.external_id = g.principal_external_id
           WHERE e.id = ${p.entitlementId} AND r.id = ${p.principalId} AND g.direct) AS n,
          (SELECT string_agg(mode || ' ' || status || ' ' || coalesce(started_at::text, '-') || '..' || coalesce(finished_at::text, '-'), '; ')
             FROM sync_runs WHERE connector_id = ${o.mainConnectorId} AND queued_at > now() - interval '2 minutes') AS runs`.execute(o.db);
      const inDb = row.rows[0]!.n;
      if (inDb !== expected) stats.staleInDatabase++;
      if (stats.staleExamples.length < 5)
        stats.staleExamples.push(
          `${action} ${JSON.stringify(vars)}: before ${before.grants.totalCount}, after ${after.grants.totalCount}, database ${inDb} (task done ${new Date().toISOString()}; recent syncs: ${row.rows[0]!.runs ?? 'none'})`,
        );
    }
    return true;
  };

  // Grants and revokes: one every 1/writesPerSecond s, alternating once grants are held.
  const writer = (async () => {
    const every = 1000 / o.writesPerSecond;
    let turn = 0;
    while (!stopped) {
      const revoke = turn++ % 2 === 1 && held.length > 0;
      if (revoke) {
        const p = held.shift()!;
        running.push(change('REVOKE', p).catch(note));
      } else if (nextPair < o.pairs.length) {
        const p = o.pairs[nextPair++]!;
        running.push(
          change('GRANT', p).then((ok) => {
            if (ok) held.push(p);
          }, note),
        );
      }
      await sleep(every);
    }
  })();

  // The other connector's full sync, then churn + incremental syncs of the big tenant every syncEveryMs.
  const syncer = (async () => {
    const trigger = async (connectorId: string, mode: 'FULL' | 'INCREMENTAL') => {
      const r = await gql<{ triggerSync: { id: string } }>(
        'mutation($c: ID!, $m: SyncMode) { triggerSync(connectorId: $c, mode: $m) { id } }',
        {
          c: connectorId,
          m: mode,
        },
      );
      return r.triggerSync.id;
    };
    const full = (async () => {
      const id = await trigger(o.otherConnectorId, 'FULL');
      const ms = await waitForRun(o.db, id);
      stats.fullSyncs.runs++;
      stats.fullSyncs.ms.push(ms);
    })().catch(note);
    let round = 0;
    while (!stopped) {
      const started = Date.now();
      try {
        const changes = await o.emu.mutate(o.churnChanges, o.seed * 1000 + round++);
        stats.incrementalSyncs.churnChanges += changes.length;
        const id = await trigger(o.mainConnectorId, 'INCREMENTAL');
        stats.incrementalSyncs.ms.push(await waitForRun(o.db, id));
        stats.incrementalSyncs.runs++;
      } catch (e) {
        note(e);
      }
      while (!stopped && Date.now() - started < o.syncEveryMs) await sleep(200);
    }
    await full;
  })();

  return {
    async stop() {
      stopped = true;
      await writer;
      await Promise.all(running);
      await syncer;
      agent.destroy();
      for (const a of ['GRANT', 'REVOKE'] as const) {
        const l = latency[a].sort((x, y) => x - y);
        const s = a === 'GRANT' ? stats.grants : stats.revokes;
        s.p50Ms = percentile(l, 50);
        s.p99Ms = percentile(l, 99);
      }
      return stats;
    },
  };
}
