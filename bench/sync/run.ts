/**
 * Sync benchmark: full sync of a generated tenant, then 1% churn and an incremental sync, against
 * the Graph emulator in its own process with 50 ms injected latency and the L throttle budget
 * (8,000 RU per 10 s); the worker is the real deployable (`tsx apps/sync-worker/src/main.ts`) in its
 * own process too, so its peak RSS is its own. In the same run, a per-object baseline (the SDK's
 * default client, one collection after another) reads the same tenant.
 *
 * After both syncs, the Graph-only floor: the reads of a full sync's longest chains as the worker
 * makes them (the groups full pass: `latest` deltaLink, id list, filtered rounds 12 at a time with the
 * worker's own reader; the sign-in pages; the users list), at once with graph-core, written nowhere —
 * no writer design can finish a full sync faster than these reads.
 *
 *   npm run bench:sync -- --size M|L [--seed 1] [--baseline-sample N] [--no-baseline] [--no-floor] [--no-verify]
 *   npm run bench:sync -- --size L --floor-only     (the Graph-only floor alone, printed, no result file)
 */
import { sql } from 'kysely';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureCa, type EmulatorApp, type EmulatorConfig } from '@warden/graph-emulator';
import { GraphClient } from '@warden/graph-core';
import { type SyncMode, type SyncRunRow } from '@warden/database';
import { sealCredentials, SecretBox } from '@warden/service-kit';
import { createTestBus, TEST_NATS_URL } from '@warden/bus/testing';
import { createTestDatabase } from '@warden/database/testing';
import { requestSync } from '@warden/access-model';
import { diffDatabase } from '../../apps/sync-worker/test/support/compare';
import { expectedModel } from '../../apps/sync-worker/test/support/expected';
import {
  GROUP_CHUNK_SIZE,
  GROUP_ROUNDS_AT_ONCE,
  GROUPS_DELTA_PATH,
  GROUPS_LIST_PATH,
  groupsRoundPath,
} from '../../apps/sync-worker/src/syncers/groups';
import { PartitionedRounds, planChunks } from '../../apps/sync-worker/src/syncers/partitioned-rounds';
import { SIGN_IN_PATH } from '../../apps/sync-worker/src/syncers/sign-ins';
import { USER_SELECT } from '../../apps/sync-worker/src/syncers/users';
import { runBaseline, type BaselineResult } from './baseline';
import { cpuSecondsOf, postgresCpu } from '../support/postgres-cpu';
import { loadAverage, writeBenchResult } from '../support/result';
import { startEmulatorProcess } from '../support/emulator-process';
import { startSyncWorkerProcess } from '../support/sync-worker-process';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'M' },
    seed: { type: 'string', default: '1' },
    'baseline-sample': { type: 'string' },
    'no-baseline': { type: 'boolean', default: false },
    'no-floor': { type: 'boolean', default: false },
    'floor-only': { type: 'boolean', default: false },
    'no-verify': { type: 'boolean', default: false },
    latency: { type: 'string', default: '50' },
    'keep-db': { type: 'boolean', default: false },
  },
});
const size = String(values.size).toUpperCase();
const seed = Number(values.seed);
const latencyMs = Number(values.latency);
// Per-object reads of every group and app of L take tens of minutes at 50 ms: a seeded random sample, extrapolated.
const baselineSample = values['baseline-sample'] !== undefined ? Number(values['baseline-sample']) : size === 'M' || size === 'S' ? 0 : 400;

const { caCertPath } = await ensureCa();
if (process.env['NODE_EXTRA_CA_CERTS'] !== caCertPath) {
  // Node reads NODE_EXTRA_CA_CERTS only at start: run again with it set.
  const child = spawn(process.execPath, process.execArgv.concat(process.argv.slice(1)), {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: caCertPath },
  });
  child.on('exit', (code) => process.exit(code ?? 1));
} else {
  await main();
}

interface PhaseResult {
  mode: SyncMode;
  /** Requested (the run's row inserted) → finished, both on the database's clock. */
  wallMs: number;
  /** The same as the bench's polling loop saw it (up to one 50 ms poll later). */
  observedMs: number;
  /** Started (claimed by the worker) → finished. */
  runMs: number;
  graphHttpRequests: number;
  graphBatchItems: number;
  graphRequestsUnbatched: number;
  ru: number;
  throttled429: number;
  rowsWritten: number;
  rowsPerSecond: number;
  peakRssMB: number;
  /** CPU seconds (user + system) the worker and the emulator processes spent during the phase. */
  cpuSeconds: { worker: number; emulator: number; postgres: number };
  stats: SyncRunRow['stats'];
  /** Graph reads of app access (per app and collection) and of the directory audit log, from the emulator's counts. */
  appAccessReads: { appRoleAssignedTo: number; owners: number; directoryAudits: number };
  exact?: boolean;
  differences?: number;
}

function readStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

interface FloorResult {
  /** The groups full pass as the worker reads it: the `latest` deltaLink, the id list, then the filtered rounds. */
  groupsMs: number;
  groupsListPages: number;
  groupsRounds: number;
  groupsPages: number;
  /** The most pages one of the rounds-at-once workers read one after another: the pass's critical path in round trips (plus the latest link and the list pages). */
  groupsLongestChainPages: number;
  /** The sign-in pages (read beside the users list, as the worker does): one chain. */
  signInsMs: number;
  signInPages: number;
  /** The users list (999 a page): one chain. */
  usersMs: number;
  usersPages: number;
  /** All of them at once: the least a full sync can take with these reads. */
  wallMs: number;
}

/** Graph alone: the worker's reads of a full sync's longest chains (groups pass, sign-ins, users list), with graph-core at once, discarded. */
async function graphFloor(config: EmulatorConfig, app: EmulatorApp): Promise<FloorResult> {
  const client = new GraphClient({
    tenantId: config.tenantId,
    clientId: app.clientId,
    auth: { kind: 'secret', clientSecret: app.clientSecret },
    graphBaseUrl: config.baseUrl,
    authorityHost: config.authorityHost,
    budget: { ruPer10s: 8_000 },
  });
  await client.getAccessToken();
  const t0 = performance.now();
  const groups = (async () => {
    const latest = client.delta<{ id: string }>(`${GROUPS_DELTA_PATH}&$deltatoken=latest`);
    while (!(await latest.next()).done);
    const ids: string[] = [];
    let listPages = 0;
    for await (const page of client.pages<{ id: string }>(GROUPS_LIST_PATH)) {
      listPages++;
      for (const g of page.items) ids.push(g.id);
    }
    const chunks = planChunks(ids, GROUP_CHUNK_SIZE);
    const reader = new PartitionedRounds<{ id: string }>(client, {
      chunks,
      todo: chunks.map((_, i) => i),
      roundPath: groupsRoundPath,
      concurrency: GROUP_ROUNDS_AT_ONCE,
      depth: 8,
    });
    while (await reader.next());
    return { ms: performance.now() - t0, listPages, ...reader.stats };
  })();
  const users = (async () => {
    let pages = 0;
    for await (const page of client.pages(`/v1.0/users?$select=${USER_SELECT.join(',')}&$expand=manager($select=id)&$top=999`))
      if (page) pages++;
    return { ms: performance.now() - t0, pages };
  })();
  // The worker reads the sign-in pages from the start of the run, beside the users list.
  const signIns = (async () => {
    let pages = 0;
    for await (const page of client.pages(SIGN_IN_PATH)) if (page) pages++;
    return { ms: performance.now() - t0, pages };
  })();
  const [g, p, u] = await Promise.all([groups, signIns, users]);
  return {
    groupsMs: Math.round(g.ms),
    groupsListPages: g.listPages,
    groupsRounds: g.rounds,
    groupsPages: g.pages,
    groupsLongestChainPages: g.longestWorkerPages,
    signInsMs: Math.round(p.ms),
    signInPages: p.pages,
    usersMs: Math.round(u.ms),
    usersPages: u.pages,
    wallMs: Math.round(performance.now() - t0),
  };
}

async function main(): Promise<void> {
  const tStart = performance.now();
  const loadAtStart = loadAverage();
  console.error(`starting emulator (size ${size}, seed ${seed}) and services…`);
  const emu = await startEmulatorProcess(size, seed);
  await emu.settings({ latencyMs, jitterMs: 0, faultRate: 0, throttle: { enabled: true, ruPer10s: 8_000, writesPer150s: 3_000 } });
  if (values['floor-only']) {
    try {
      const load = loadAverage();
      const f = await graphFloor(
        emu.config,
        emu.config.apps.find((a) => a.name === 'readonly')!,
      );
      console.log(JSON.stringify({ size, seed, latencyMs, graphFloor: f, loadAverage: { start: load, end: loadAverage() } }, null, 2));
    } finally {
      await emu.close();
    }
    return;
  }
  const tdb = await createTestDatabase('bench_sync');
  const tbus = await createTestBus({ ackWaitMs: 30_000 });
  const secretKeys = `b1:${randomBytes(32).toString('base64')}`;
  const box = SecretBox.fromConfig(secretKeys);
  const app = emu.config.apps.find((a) => a.name === 'readonly')!;
  const connectorId = (
    await tdb.db
      .insertInto('connectors')
      .values({
        display_name: `bench ${size}`,
        tenant_id: emu.config.tenantId,
        client_id: app.clientId,
        auth_method: 'CLIENT_SECRET',
        graph_base_url: emu.config.baseUrl,
        authority_host: emu.config.authorityHost,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
  await tdb.db
    .updateTable('connectors')
    .set({ secret_ciphertext: sealCredentials(box, connectorId, { kind: 'secret', clientSecret: app.clientSecret }) })
    .where('id', '=', connectorId)
    .execute();

  const worker = startSyncWorkerProcess({
    DATABASE_URL: tdb.url,
    NATS_URL: TEST_NATS_URL,
    BUS_NAMESPACE: tbus.namespace,
    WARDEN_SECRET_KEYS: secretKeys,
    SCHEDULER_INTERVAL_MS: '0',
    LOG_LEVEL: 'info',
    ALLOWED_GRAPH_HOSTS: new URL(emu.config.baseUrl).host,
  });
  const pid = worker.proc.pid!;
  let results: Record<string, unknown> = {};
  try {
    await worker.ready;
    const verify = async (): Promise<{ exact: boolean; differences: number }> => {
      if (values['no-verify']) return { exact: false, differences: -1 };
      const want = expectedModel(await emu.exportTenant());
      const d = await diffDatabase(tdb.db, connectorId, want, 10);
      if (d.differences.length) console.error('differences:', d.differences);
      return { exact: d.differences.length === 0, differences: d.differences.length };
    };
    const phase = async (mode: SyncMode): Promise<PhaseResult> => {
      await emu.resetStats();
      let peak = readStatus(pid, 'VmRSS');
      const cpu0 = { worker: cpuSecondsOf(pid), emulator: cpuSecondsOf(emu.pid) };
      const sampler = setInterval(() => (peak = Math.max(peak, readStatus(pid, 'VmRSS'))), 100);
      const pg = postgresCpu(tdb.db, tdb.name);
      await pg.start();
      const t0 = performance.now();
      const { run } = await requestSync(tdb.db, tbus.bus, { connectorId, mode, requestedBy: 'bench' });
      let row: SyncRunRow;
      for (;;) {
        row = await tdb.db.selectFrom('sync_runs').selectAll().where('id', '=', run.id).executeTakeFirstOrThrow();
        if (row.status !== 'QUEUED' && row.status !== 'RUNNING') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      // Request to finish on the database's own clock: the run's row is inserted (queued_at) by the
      // request and closed (finished_at) by the finishing transaction. The loop above notices up to
      // one poll (50 ms) later; that delay is the bench's, kept as observedMs.
      const observedMs = performance.now() - t0;
      const timed = await sql<{ ms: number | null }>`
        SELECT (extract(epoch FROM finished_at - queued_at) * 1000)::float8 AS ms FROM sync_runs WHERE id = ${run.id}::uuid`.execute(
        tdb.db,
      );
      const wallMs = timed.rows[0]?.ms ?? observedMs;
      clearInterval(sampler);
      const pgCpu = await pg.stop();
      peak = Math.max(peak, readStatus(pid, 'VmRSS'));
      if (row.status !== 'SUCCEEDED') throw new Error(`${mode} run ${row.status}: ${row.error}\n${worker.output().slice(-5000)}`);
      const es = await emu.stats();
      // The emulator counts every $batch item under its own route plus the POST /$batch itself.
      const batchPosts = Object.entries(es.byRoute)
        .filter(([route]) => route.includes('$batch'))
        .reduce((sum, [, byStatus]) => sum + Object.values(byStatus).reduce((a, b) => a + b, 0), 0);
      const routeCount = (route: string) => Object.values(es.byRoute[route] ?? {}).reduce((a, b) => a + b, 0);
      const runMs = row.finished_at && row.started_at ? row.finished_at.getTime() - row.started_at.getTime() : wallMs;
      const rowsWritten = Number(row.stats['rowsWritten'] ?? 0);
      return {
        mode,
        wallMs: Math.round(wallMs),
        observedMs: Math.round(observedMs),
        runMs,
        // graph-core's count of HTTP requests it sent (a $batch of 20 is one; retries count).
        graphHttpRequests: Number(row.stats.graphRequests ?? 0),
        graphBatchItems: Number(row.stats['graphBatchItems'] ?? 0),
        graphRequestsUnbatched: es.requests - batchPosts,
        ru: es.ruSpent,
        throttled429: es.throttled,
        rowsWritten,
        rowsPerSecond: Math.round(rowsWritten / (runMs / 1000)),
        peakRssMB: Math.round(peak),
        cpuSeconds: {
          worker: round(cpuSecondsOf(pid) - cpu0.worker),
          emulator: round(cpuSecondsOf(emu.pid) - cpu0.emulator),
          postgres: round(pgCpu),
        },
        stats: row.stats,
        appAccessReads: {
          appRoleAssignedTo: routeCount('GET /servicePrincipals/{id}/appRoleAssignedTo'),
          owners: routeCount('GET /servicePrincipals/{id}/owners'),
          directoryAudits: routeCount('GET /auditLogs/directoryAudits'),
        },
      };
    };

    console.error('full sync…');
    const full = await phase('FULL');
    Object.assign(full, await verify());
    const users = Number(full.stats.users ?? 0);
    const churn = Math.max(1, Math.round(users * 0.01));
    console.error(`mutating ${churn} changes (1% of ${users} users), incremental sync…`);
    const changes = await emu.mutate(churn, seed + 1);
    const incremental = await phase('INCREMENTAL');
    Object.assign(incremental, await verify());
    const workerPeakMB = Math.round(readStatus(pid, 'VmHWM'));

    let floor: FloorResult | null = null;
    if (!values['no-floor']) {
      console.error('Graph-only floor (the sequential page chains, nothing written)…');
      floor = await graphFloor(emu.config, app);
    }

    let baseline: (BaselineResult & { ru: number; throttled429: number }) | null = null;
    if (!values['no-baseline']) {
      console.error(`baseline (per-object, SDK default client)${baselineSample ? `, sample of ${baselineSample} groups` : ''}…`);
      await emu.resetStats();
      const b = await runBaseline(emu.config, app, {
        ...(baselineSample ? { sample: baselineSample, sampleSeed: seed } : {}),
        graphRequests: async () => (await emu.stats()).requests,
      });
      const es = await emu.stats();
      const scale = b.measured.requests ? b.requests / b.measured.requests : 1;
      baseline = { ...b, ru: Math.round(es.ruSpent * scale), throttled429: es.throttled };
    }

    results = {
      size,
      seed,
      latencyMs,
      ruBudgetPer10s: 8000,
      at: new Date().toISOString(),
      // Other work on the machine changes these numbers a lot: record how busy it was.
      machine: { cpus: cpus().length, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadAverage() },
      tenant: {
        ...pick(full.stats, [
          'users',
          'managedIdentities',
          'groups',
          'enterpriseApplications',
          'directoryRoles',
          'grants',
          'directGrants',
          'inheritedGrants',
        ]),
      },
      full,
      churn: { changes: changes.length },
      incremental,
      workerPeakRssMB: workerPeakMB,
      graphFloor: floor,
      baseline,
      ratios: baseline
        ? {
            wallTime: round(baseline.wallMs / full.wallMs),
            httpRequests: round(baseline.requests / full.graphHttpRequests),
            requestsCountingBatchItems: round(baseline.requests / Math.max(1, full.graphRequestsUnbatched)),
          }
        : null,
      targets: targetsOf(size, full, incremental, workerPeakMB, baseline),
      totalBenchSeconds: Math.round((performance.now() - tStart) / 1000),
    };
    printTable(results as unknown as Printable);
    const file = writeBenchResult({
      bench: 'sync',
      size,
      loadAtStart,
      command: `npm run bench:sync -- --size ${size}${values['no-baseline'] ? ' --no-baseline' : ''}`,
      caveats: caveatsOf(latencyMs, baseline, floor),
      ours: {
        fullSyncSeconds: seconds(full.wallMs),
        incrementalSeconds: seconds(incremental.wallMs),
        fullGraphHttpRequests: full.graphHttpRequests,
        fullRequestsCountingBatchItems: full.graphRequestsUnbatched,
        fullResourceUnits: full.ru,
        fullRowsPerSecond: full.rowsPerSecond,
        incrementalResourceUnits: incremental.ru,
        workerPeakRssMB: workerPeakMB,
        graphFloorSeconds: floor ? seconds(floor.wallMs) : null,
      },
      baseline: baseline
        ? {
            fullSyncSeconds: seconds(baseline.wallMs),
            fullGraphHttpRequests: baseline.requests,
            fullRequestsCountingBatchItems: baseline.requests,
            fullResourceUnits: baseline.ru,
          }
        : null,
      ratio: {
        fullSyncSpeedup: baseline ? round(baseline.wallMs / full.wallMs) : null,
        fewerHttpRequests: baseline ? round(baseline.requests / full.graphHttpRequests) : null,
        fewerRequestsCountingBatchItems: baseline ? round(baseline.requests / Math.max(1, full.graphRequestsUnbatched)) : null,
        fullSyncOverGraphFloor: floor ? round(full.wallMs / floor.wallMs) : null,
      },
      correct: full.exact === true && incremental.exact === true,
      targets: results['targets'] as Record<string, boolean>,
      details: results,
    });
    console.log(`\nwritten ${path.relative(ROOT, file)}`);
  } finally {
    await worker.stop();
    await tbus.destroy().catch(() => undefined);
    if (values['keep-db']) {
      console.error(`kept database ${tdb.name}, connector ${connectorId}`);
      await tdb.db.destroy();
    } else await tdb.drop().catch(() => undefined);
    await emu.close();
  }
}

/** The issue's goals as true/false (a target without its measurement, e.g. no baseline, is left out). */
function targetsOf(
  size: string,
  full: PhaseResult,
  incremental: PhaseResult,
  workerPeakMB: number,
  baseline: BaselineResult | null,
): Record<string, boolean> {
  const t: Record<string, boolean> = {
    exact: full.exact === true && incremental.exact === true,
    fullSyncUnder60s: full.wallMs <= 60_000,
    incrementalUnder5s: incremental.wallMs <= 5_000,
    rssUnder500MB: workerPeakMB <= 500,
  };
  if (size === 'L') {
    t['fullSyncL_le_15s'] = full.wallMs <= 15_000;
    t['incrementalL_le_1s'] = incremental.wallMs <= 1_000;
  }
  if (baseline) {
    t['tenTimesFaster'] = baseline.wallMs / full.wallMs >= 10;
    t['tenTimesFewerRequests'] = baseline.requests / full.graphHttpRequests >= 10;
  }
  return t;
}

function caveatsOf(latencyMs: number, baseline: BaselineResult | null, floor: FloorResult | null): string[] {
  const c = [
    `Emulator with ${latencyMs} ms on every Graph request and an 8,000 RU / 10 s budget, in its own process; the worker in its own process; all on a shared 2-CPU machine (see load).`,
    "The incremental run follows the full one within a minute, on the Postgres connections the worker kept from it (DB_IDLE_TIMEOUT_MS, default 30 min, outlasts the default 15-minute incremental interval). With new server processes (pg's own 10 s idle timeout, the behaviour before 2026-12-01 19:00) the same L incremental took 1.6–1.9 s on this machine.",
  ];
  if (baseline?.sampled)
    c.push(
      `Baseline per-object loops measured on a ${baseline.sampling?.method ?? 'random'} sample (seed ${baseline.sampling?.seed ?? '?'}) of ${baseline.measured.groupsRead} groups and ${baseline.measured.appsRead} apps, extrapolated linearly; the baseline writes nothing to Postgres.`,
    );
  if (floor)
    c.push(
      `Graph-only floor: the groups full pass as the worker reads it (latest deltaLink, ${floor.groupsListPages} list pages, ${floor.groupsRounds} filtered rounds ${GROUP_ROUNDS_AT_ONCE} at a time, ${floor.groupsPages} pages), the sign-in pages (${floor.signInPages}) and the users list (${floor.usersPages} pages) read at once with nothing written: ${seconds(floor.wallMs)} s.`,
    );
  return c;
}

function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, o[k]]));
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

interface Printable {
  size: string;
  machine: { cpus: number; loadAverageAtStart: number; loadAverageAtEnd: number };
  full: PhaseResult;
  incremental: PhaseResult;
  churn: { changes: number };
  workerPeakRssMB: number;
  baseline: (BaselineResult & { ru: number; throttled429: number }) | null;
  graphFloor: FloorResult | null;
  ratios: { wallTime: number; httpRequests: number; requestsCountingBatchItems: number } | null;
  tenant: Record<string, number>;
}

function printTable(r: Printable): void {
  const n = (v: number | undefined) => (v === undefined ? '—' : Math.round(v).toLocaleString('en-US'));
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const rows: [string, string, string, string][] = [
    [
      '',
      'full sync',
      `incremental (${r.churn.changes} changes)`,
      r.baseline ? `baseline${r.baseline.sampled ? ' (extrapolated)' : ''}` : 'baseline',
    ],
    ['wall time', s(r.full.wallMs), s(r.incremental.wallMs), r.baseline ? s(r.baseline.wallMs) : '—'],
    ['Graph HTTP requests', n(r.full.graphHttpRequests), n(r.incremental.graphHttpRequests), r.baseline ? n(r.baseline.requests) : '—'],
    ['$batch items sent', n(r.full.graphBatchItems), n(r.incremental.graphBatchItems), '—'],
    [
      'requests, each item counted',
      n(r.full.graphRequestsUnbatched),
      n(r.incremental.graphRequestsUnbatched),
      r.baseline ? n(r.baseline.requests) : '—',
    ],
    ['resource units', n(r.full.ru), n(r.incremental.ru), r.baseline ? n(r.baseline.ru) : '—'],
    [
      'apps read (assignments / owners / audit pages)',
      `${n(r.full.appAccessReads.appRoleAssignedTo)} / ${n(r.full.appAccessReads.owners)} / ${n(r.full.appAccessReads.directoryAudits)}`,
      `${n(r.incremental.appAccessReads.appRoleAssignedTo)} / ${n(r.incremental.appAccessReads.owners)} / ${n(r.incremental.appAccessReads.directoryAudits)}`,
      '—',
    ],
    ['429 responses', n(r.full.throttled429), n(r.incremental.throttled429), r.baseline ? n(r.baseline.throttled429) : '—'],
    ['rows written', n(r.full.rowsWritten), n(r.incremental.rowsWritten), 'none (reads only)'],
    ['rows/s', n(r.full.rowsPerSecond), n(r.incremental.rowsPerSecond), '—'],
    ['worker peak RSS', `${r.full.peakRssMB} MB`, `${r.incremental.peakRssMB} MB`, '—'],
    [
      'CPU s worker / emulator',
      `${r.full.cpuSeconds.worker} / ${r.full.cpuSeconds.emulator}`,
      `${r.incremental.cpuSeconds.worker} / ${r.incremental.cpuSeconds.emulator}`,
      '—',
    ],
    ['database equals tenant', String(r.full.exact ?? '—'), String(r.incremental.exact ?? '—'), '—'],
  ];
  const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  console.log(
    `\nsync bench, size ${r.size}: ${Object.entries(r.tenant)
      .map(([k, v]) => `${k} ${n(v)}`)
      .join(', ')}\n`,
  );
  for (const row of rows) console.log(row.map((c, i) => c.padEnd(w[i]!)).join('  '));
  if (r.ratios)
    console.log(
      `\nbaseline / ours: ${r.ratios.wallTime}× wall time, ${r.ratios.httpRequests}× HTTP requests, ${r.ratios.requestsCountingBatchItems}× counting each batch item as a request`,
    );
  if (r.graphFloor) {
    const f = r.graphFloor;
    console.log(
      `Graph-only floor (nothing written): groups pass ${f.groupsListPages} list pages + ${f.groupsRounds} filtered rounds, ${f.groupsPages} pages (critical path 1 + ${f.groupsListPages} + ${f.groupsLongestChainPages} round trips) ${s(f.groupsMs)}; ${f.signInPages} sign-in pages ${s(f.signInsMs)}; users list ${f.usersPages} pages ${s(f.usersMs)}; all at once ${s(f.wallMs)}.`,
    );
  }
  if (r.baseline?.sampled) {
    console.log(
      `baseline per-object loops measured on a seeded random sample (seed ${r.baseline.sampling?.seed ?? '?'}) of ${r.baseline.measured.groupsRead} groups and ${r.baseline.measured.appsRead} apps ` +
        `(${s(r.baseline.measured.wallMs)}, ${n(r.baseline.measured.requests)} requests) and extrapolated linearly to the whole tenant.`,
    );
  }
  console.log(`worker peak RSS over both runs: ${r.workerPeakRssMB} MB. The baseline writes nothing to Postgres.`);
  console.log(
    `machine: ${r.machine.cpus} CPUs, load average (1 min) ${r.machine.loadAverageAtStart} at start, ${r.machine.loadAverageAtEnd} at the end.`,
  );
}
