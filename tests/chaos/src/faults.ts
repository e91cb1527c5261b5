import { randomUUID } from 'node:crypto';
import type { Cluster } from './cluster';
import type { Rng } from './rng';

export const FAULT_KINDS = [
  'kill-9',
  'sigterm',
  'nats-restart-keep-data',
  'nats-restart-lose-data',
  'postgres-restart',
  'pg-terminate-storm',
  'graph-5xx-storm',
  'graph-429-storm',
  'graph-drop-mid-response',
  'postgres-stall',
  'graph-stall',
  'duplicate-deliveries',
  'clock-jump',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Share of each fault in the schedule: process deaths most, since they hit every code path. */
const WEIGHTS: Record<FaultKind, number> = {
  'kill-9': 6,
  sigterm: 2,
  'nats-restart-keep-data': 1,
  'nats-restart-lose-data': 1,
  'postgres-restart': 1,
  'pg-terminate-storm': 1.5,
  'graph-5xx-storm': 1.5,
  'graph-429-storm': 1,
  'graph-drop-mid-response': 1.5,
  'postgres-stall': 1,
  'graph-stall': 1,
  'duplicate-deliveries': 2,
  'clock-jump': 1,
};

export interface Fault {
  atMs: number;
  kind: FaultKind;
  /** The replica for kill-9 / sigterm. */
  target?: string;
  durationMs: number;
}

/** The whole schedule, drawn up front from the seed (so it is the same whatever the timing). */
export function faultSchedule(rng: Rng, windowMs: number, services: string[]): Fault[] {
  const out: Fault[] = [];
  let t = 3_000;
  // Every kind once first (in a seeded order), so even a short run covers them all; then by weight.
  const firstRound = [...FAULT_KINDS];
  for (let i = firstRound.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [firstRound[i], firstRound[j]] = [firstRound[j]!, firstRound[i]!];
  }
  while (t < windowMs) {
    const kind = firstRound.shift() ?? rng.weighted(WEIGHTS);
    const f: Fault = { atMs: t, kind, durationMs: rng.int(2_000, 5_000) };
    if (kind === 'kill-9' || kind === 'sigterm') f.target = rng.pick(services);
    out.push(f);
    t += rng.int(2_000, 6_000);
  }
  return out;
}

export interface FaultRecord {
  kind: FaultKind;
  target?: string;
  startedAt: number;
  ms: number;
  note?: string;
}

/**
 * Observations while faults are on: how long SIGTERM shutdowns took, and whether readiness and
 * liveness answered as they should while Postgres or NATS was away.
 */
export interface FaultObservations {
  sigtermMs: number[];
  sigtermOverDeadline: number;
  /** Probes of a replica while its Postgres or NATS was down: readyz must be 503, healthz 200. */
  readinessWhileDown: { probes: number; readyzNot200: number; healthz200: number };
  /** The probes that answered wrongly: replica, fault and answers. */
  readinessWrong: string[];
}

/** Applies one fault and undoes it; every service is running again when it resolves. */
export async function applyFault(cluster: Cluster, f: Fault, rng: Rng, obs: FaultObservations): Promise<FaultRecord> {
  const startedAt = Date.now();
  const rec = (note?: string): FaultRecord => ({
    kind: f.kind,
    ...(f.target ? { target: f.target } : {}),
    startedAt,
    ms: Date.now() - startedAt,
    ...(note ? { note } : {}),
  });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  switch (f.kind) {
    case 'kill-9': {
      const s = cluster.service(f.target!);
      await s.kill9();
      await sleep(rng.int(200, 2_000));
      s.start();
      return rec();
    }
    case 'sigterm': {
      const s = cluster.service(f.target!);
      const r = await s.terminate(30_000);
      if (r.ms === null) obs.sigtermOverDeadline++;
      else obs.sigtermMs.push(r.ms);
      s.start();
      return rec(r.ms === null ? 'did not exit within 30 s' : `exited in ${r.ms} ms (code ${r.code})`);
    }
    case 'nats-restart-keep-data':
    case 'nats-restart-lose-data': {
      await cluster.killNats();
      await probeWhileDown(cluster, obs, f);
      await cluster.startNats(f.kind === 'nats-restart-keep-data');
      return rec();
    }
    case 'postgres-restart': {
      await cluster.pgServer.stop();
      await probeWhileDown(cluster, obs, f);
      await cluster.pgServer.start();
      return rec();
    }
    case 'pg-terminate-storm': {
      let killed = 0;
      const end = Date.now() + f.durationMs;
      while (Date.now() < end) {
        const r = await cluster.db
          .query<{ n: string }>(
            `SELECT count(pg_terminate_backend(pid))::text AS n FROM pg_stat_activity
             WHERE application_name LIKE 'warden%' AND pid <> pg_backend_pid()`,
          )
          .catch(() => ({ rows: [{ n: '0' }] }));
        killed += Number(r.rows[0]?.n ?? 0);
        await sleep(250);
      }
      return rec(`${killed} backends terminated`);
    }
    case 'graph-5xx-storm':
      cluster.emulator.updateSettings({ faultRate: 0.6, faultSeed: rng.int(1, 1_000_000) });
      await sleep(f.durationMs);
      cluster.emulator.updateSettings({ faultRate: 0 });
      return rec();
    case 'graph-429-storm': {
      const before = cluster.emulator.settings().throttle;
      cluster.emulator.updateSettings({ throttle: { ...before, ruPer10s: 40, writesPer150s: 20 } });
      await sleep(f.durationMs);
      cluster.emulator.updateSettings({ throttle: before });
      return rec();
    }
    case 'graph-drop-mid-response':
      cluster.emulator.updateSettings({ dropRate: 0.5, faultSeed: rng.int(1, 1_000_000) });
      await sleep(f.durationMs);
      cluster.emulator.updateSettings({ dropRate: 0 });
      return rec();
    case 'postgres-stall':
      cluster.pgProxy.stall();
      await sleep(f.durationMs);
      cluster.pgProxy.resume();
      return rec();
    case 'graph-stall':
      cluster.graphProxy.stall();
      await sleep(f.durationMs);
      cluster.graphProxy.resume();
      return rec();
    case 'duplicate-deliveries': {
      // Old commands again, oldest first (out of order), each under a fresh message id so JetStream's
      // de-duplication does not hide them: the handlers must make them no-ops.
      const tasks = (
        await cluster.db.query<{ id: string }>(`SELECT id FROM provisioning_tasks WHERE connector_id = $1 ORDER BY random() LIMIT 8`, [
          cluster.connectorId,
        ])
      ).rows;
      const runs = (
        await cluster.db.query<{ id: string; mode: 'FULL' | 'INCREMENTAL' }>(
          `SELECT id, mode FROM sync_runs WHERE connector_id = $1 ORDER BY random() LIMIT 2`,
          [cluster.connectorId],
        )
      ).rows;
      let sent = 0;
      for (const t of tasks.reverse()) {
        for (let i = 0; i < 2; i++) {
          await cluster.bus!.publishProvisioningRequested(
            { v: 1, taskId: t.id, connectorId: cluster.connectorId },
            `${t.id}:chaos:${randomUUID()}`,
          );
          sent++;
        }
      }
      for (const r of runs) {
        // Sync commands are de-duplicated by run id; publish through NATS directly to get past it.
        const js = cluster.bus!.nc;
        js.publish(
          `${cluster.bus!.names.syncSubject}`,
          new TextEncoder().encode(JSON.stringify({ v: 1, runId: r.id, connectorId: cluster.connectorId, mode: r.mode })),
        );
        sent++;
      }
      return rec(`${sent} commands re-delivered`);
    }
    case 'clock-jump': {
      // The governance workers' timers (step escalation and denial, review due dates, expiry notices and
      // follow-up) jump forward; the provision worker's expiry scan uses the database's clock.
      const ms = rng.int(20, 60) * 1000;
      cluster.jumpClock(ms);
      return rec(`governance clock +${ms / 1000} s (now ${cluster.clockOffsetMs / 1000} s ahead)`);
    }
  }
}

/** While a dependency is away: every replica's /readyz should fail and /healthz should not. */
async function probeWhileDown(cluster: Cluster, obs: FaultObservations, f: Fault): Promise<void> {
  const durationMs = f.durationMs;
  const end = Date.now() + durationMs;
  // Let clients notice the loss first (a NATS client sees the socket close at once; Postgres on the next query).
  await new Promise((r) => setTimeout(r, Math.min(1_500, durationMs / 2)));
  for (const s of cluster.services) {
    if (!s.running) continue;
    const live = await s.probe('/healthz');
    // A replica still starting (blocked in its migration) has no listener yet: nothing to judge.
    if (live === 0) continue;
    const ready = await s.probe('/readyz');
    obs.readinessWhileDown.probes++;
    if (ready !== 200) obs.readinessWhileDown.readyzNot200++;
    if (live === 200) obs.readinessWhileDown.healthz200++;
    if (ready === 200 || live !== 200)
      obs.readinessWrong.push(`${s.name} during ${f.kind} at ${f.atMs} ms: readyz ${ready}, healthz ${live}`);
  }
  const rest = end - Date.now();
  if (rest > 0) await new Promise((r) => setTimeout(r, rest));
}
