import { createDb } from '@warden/database';
import { Cluster, GqlError, until } from './cluster';
import { applyFault, faultSchedule, type FaultObservations, type FaultRecord } from './faults';
import { INVARIANTS, DELETION_LOG_SQL, type InvariantResult } from './invariants';
import { newFreshnessStats } from './freshness';
import { GOVERNANCE_ACTORS, setupGovernance } from './governance';
import { ACTORS as BASE_ACTORS, choosePairs, type LoadContext } from './load';
import { Rng } from './rng';

const ACTORS = [...BASE_ACTORS, ...GOVERNANCE_ACTORS];

export interface ChaosOptions {
  seed: number;
  /** Length of the load (faults run during all but its last few seconds). */
  minutes: number;
  log?: (line: string) => void;
  /** Keep the temp dir (logs, data) even when every invariant holds. */
  keepDir?: boolean;
}

export interface ChaosReport {
  seed: number;
  minutes: number;
  faults: Record<string, number>;
  faultLog: FaultRecord[];
  operations: Record<string, { ok: number; rejected: number; failed: number }>;
  invariants: InvariantResult[];
  settleMs: number;
  finalSyncMs: number;
  pass: boolean;
  dir: string;
}

/**
 * One chaos run: start the cluster, sync, then load and faults together on the seed's schedule,
 * then stop the faults, let the system settle, run one full sync and check every invariant.
 */
export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`chaos | ${l}\n`));
  const root = new Rng(opts.seed);
  const loadRng = root.fork(1);
  const faultRng = root.fork(2);
  const pairRng = root.fork(3);
  log(`seed ${opts.seed}, ${opts.minutes} minute(s)`);
  const cluster = new Cluster({ seed: opts.seed, log });
  let pass = false;
  try {
    await cluster.start();
    await cluster.db.query(DELETION_LOG_SQL);
    const firstSync = await fullSync(cluster, 180_000);
    log(`first full sync done in ${firstSync} ms`);
    const pairs = await choosePairs(cluster, pairRng);
    const gov = await setupGovernance(cluster, pairs, root.fork(4));
    let counter = 0;
    const ctx: LoadContext = {
      cluster,
      seed: opts.seed,
      pairs,
      next: () => ++counter,
      usedKeys: [],
      gov,
      freshness: newFreshnessStats(),
      following: new Set(),
    };

    const loadMs = Math.round(opts.minutes * 60_000);
    // Faults stop a little before the load so the last faults' effects overlap with work too.
    const schedule = faultSchedule(
      faultRng,
      Math.max(5_000, loadMs - 5_000),
      cluster.services.map((s) => s.name),
    );
    log(`fault schedule: ${schedule.length} faults (${schedule.map((f) => f.kind + (f.target ? `@${f.target}` : '')).join(', ')})`);
    const obs: FaultObservations = {
      sigtermMs: [],
      sigtermOverDeadline: 0,
      readinessWhileDown: { probes: 0, readyzNot200: 0, healthz200: 0 },
      readinessWrong: [],
    };
    const operations: ChaosReport['operations'] = {};
    for (const a of ACTORS) operations[a.name] = { ok: 0, rejected: 0, failed: 0 };
    const baseWeights = Object.fromEntries(BASE_ACTORS.map((a) => [a.name, a.weight]));
    const governanceWeights = Object.fromEntries(GOVERNANCE_ACTORS.map((a) => [a.name, a.weight]));

    const noAnswer: Record<string, number> = {};
    const t0 = Date.now();
    const loadDone = (async () => {
      // Three users grant, revoke, sync, churn and read; a fourth requests, decides and reviews (so a slow
      // machine still does both kinds of work). Each draws its operations from its own stream.
      await Promise.all(
        [0, 1, 2, 3].map(async (u) => {
          const rng = loadRng.fork(100 + u);
          const weights = u < 3 ? baseWeights : governanceWeights;
          while (Date.now() - t0 < loadMs) {
            const name = rng.weighted(weights);
            const actor = ACTORS.find((a) => a.name === name)!;
            const stepRng = rng.fork(counter);
            try {
              operations[actor.name]![await actor.step(ctx, stepRng)]++;
            } catch (err) {
              // No answer at all (a gateway down, a timeout): the caller would retry; the key makes it safe.
              operations[actor.name]!.failed++;
              const why = (
                err instanceof Error ? `${err.name}: ${(err.cause as Error | undefined)?.message ?? err.message}` : String(err)
              ).replace(/ \(request id [^)]*\)/, '');
              noAnswer[why] = (noAnswer[why] ?? 0) + 1;
            }
            await new Promise((r) => setTimeout(r, rng.int(50, 400)));
          }
        }),
      );
    })();
    const faultLog: FaultRecord[] = [];
    for (const f of schedule) {
      const wait = t0 + f.atMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const r = await applyFault(cluster, f, faultRng.fork(f.atMs), obs).catch((err: unknown) => ({
        kind: f.kind,
        startedAt: Date.now(),
        ms: 0,
        note: `could not inject: ${err instanceof Error ? err.message : String(err)}`,
      }));
      faultLog.push(r);
      log(`fault ${r.kind}${f.target ? ` ${f.target}` : ''} (${r.ms} ms)${r.note ? `: ${r.note}` : ''}`);
    }
    await loadDone;
    await Promise.all([...ctx.following]);
    log(`load done: ${JSON.stringify(operations)}; no answer because: ${JSON.stringify(noAnswer)}`);

    // Settle: every replica up, then wait for the work in flight to finish.
    const settleStart = Date.now();
    for (const s of cluster.services) if (!s.running) s.start();
    await Promise.all(cluster.services.map((s) => s.waitReady(120_000)));
    await until(
      async () => {
        const { rows } = await cluster.db.query<{ open: string; timed: string; runs: string; governance: string }>(
          `SELECT (SELECT count(*) FROM provisioning_tasks WHERE status IN ('PENDING', 'RUNNING'))::text AS open,
                  -- Time-bound grants of the load: all of their times passed, and none left standing.
                  ((SELECT count(*) FROM grants WHERE direct AND expires_at <= now())
                   + (SELECT count(*) FROM provisioning_tasks WHERE expires_at > now()))::text AS timed,
                  (SELECT count(*) FROM sync_runs WHERE status IN ('QUEUED', 'RUNNING'))::text AS runs,
                  -- Approved requests provisioned and followed, ended time-bound ones expired, completing reviews remediated.
                  ((SELECT count(*) FROM access_requests WHERE status = 'APPROVED' OR (status = 'ACTIVE' AND expires_at <= now()))
                   + (SELECT count(*) FROM access_reviews WHERE status = 'COMPLETING'))::text AS governance`,
        );
        const r = rows[0]!;
        return r.open === '0' && r.timed === '0' && r.runs === '0' && r.governance === '0';
      },
      'tasks final, time-bound grants revoked, sync runs finished, requests and reviews settled',
      240_000,
      500,
    ).catch(async (err: unknown) => {
      log(`did not settle; open work:\n${await openWork(cluster)}`);
      throw err;
    });
    const settleMs = Date.now() - settleStart;
    log(`settled in ${settleMs} ms`);
    const finalSyncMs = await fullSync(cluster, 180_000);
    log(`final full sync in ${finalSyncMs} ms`);

    const kdb = createDb({ connectionString: cluster.directUrl, max: 2 });
    const invariants: InvariantResult[] = [];
    try {
      const ictx = {
        cluster,
        kdb,
        pairs,
        finalExport: cluster.emulator.exportTenant(),
        writes: cluster.emulator.writeLog(),
        observations: obs,
        freshness: ctx.freshness,
      };
      for (const inv of INVARIANTS) invariants.push(await inv.check(ictx));
    } finally {
      await kdb.destroy();
    }
    pass = invariants.every((i) => i.pass);
    const faults: Record<string, number> = {};
    for (const f of faultLog) faults[f.kind] = (faults[f.kind] ?? 0) + 1;
    return {
      seed: opts.seed,
      minutes: opts.minutes,
      faults,
      faultLog,
      operations,
      invariants,
      settleMs,
      finalSyncMs,
      pass,
      dir: cluster.dir,
    };
  } finally {
    await cluster.stop(opts.keepDir || !pass);
  }
}

/** What is still open (for the report of a run that did not settle). */
async function openWork(cluster: Cluster): Promise<string> {
  const q = async (text: string) => JSON.stringify((await cluster.db.query(text)).rows);
  return [
    `tasks: ${await q(`SELECT id, action, status, attempt, requested_at, started_at, expires_at FROM provisioning_tasks WHERE status IN ('PENDING', 'RUNNING') ORDER BY seq LIMIT 10`)}`,
    `expired grants: ${await q(`SELECT entitlement_key, principal_external_id, expires_at FROM grants WHERE direct AND expires_at <= now() LIMIT 10`)}`,
    `sync runs: ${await q(`SELECT id, mode, status, attempt, worker_id, heartbeat_at, queued_at FROM sync_runs WHERE status IN ('QUEUED', 'RUNNING')`)}`,
    `requests: ${await q(`SELECT id, status, approved_at, expires_at, provisioning_task_id FROM access_requests WHERE status = 'APPROVED' OR (status = 'ACTIVE' AND expires_at <= now()) LIMIT 10`)}`,
    `reviews: ${await q(`SELECT id, status, completed_at FROM access_reviews WHERE status = 'COMPLETING'`)}`,
  ].join('\n');
}

/** Triggers a FULL sync (waiting out one already running) and waits for it to succeed; returns its duration. */
async function fullSync(cluster: Cluster, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  const runId = await until(
    async () => {
      try {
        const r = await cluster.gql<{ triggerSync: { id: string } }>(
          0,
          'mutation($id: ID!) { triggerSync(connectorId: $id, mode: FULL) { id } }',
          {
            id: cluster.connectorId,
          },
        );
        return r.triggerSync.id;
      } catch (err) {
        if (err instanceof GqlError) return undefined;
        throw err;
      }
    },
    'a full sync to be accepted',
    timeoutMs,
    1_000,
  );
  await until(
    async () => {
      const { rows } = await cluster.db.query<{ status: string; error: string | null }>(
        `SELECT status, error FROM sync_runs WHERE id = $1`,
        [runId],
      );
      const s = rows[0]?.status;
      if (s === 'FAILED' || s === 'CANCELLED') throw new Error(`full sync ${runId} ${s}: ${rows[0]?.error}`);
      return s === 'SUCCEEDED';
    },
    `full sync ${runId}`,
    timeoutMs,
    500,
  );
  return Date.now() - t0;
}

/** The report as people read it. */
export function formatReport(r: ChaosReport): string {
  const lines = [
    `chaos run: seed ${r.seed}, ${r.minutes} minute(s) — ${r.pass ? 'PASS' : 'FAIL'}`,
    `faults injected (${r.faultLog.length}): ${Object.entries(r.faults)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
    `operations: ${Object.entries(r.operations)
      .map(([k, o]) => `${k} ${o.ok} ok / ${o.rejected} rejected / ${o.failed} no answer`)
      .join('; ')}`,
    `time to settle: ${(r.settleMs / 1000).toFixed(1)} s; final full sync: ${(r.finalSyncMs / 1000).toFixed(1)} s`,
    'invariants:',
    ...r.invariants.map(
      (i) =>
        `  ${i.pass ? 'PASS' : 'FAIL'}  ${i.name}: ${Object.entries(i.figures)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}${!i.pass && i.examples?.length ? `\n        e.g. ${JSON.stringify(i.examples.slice(0, 3))}` : ''}`,
    ),
  ];
  if (!r.pass) lines.push(`logs and data kept in ${r.dir}`);
  return lines.join('\n');
}
