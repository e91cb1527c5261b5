/**
 * npm run bench:gateway -- --size L|M [--seed S] [--rates 100,300,1000] [--cache on|off|both] [--duration 20]
 *   [--cpu 300] [--keep]   (--rates 0: CPU per shape only; --keep: leave the database for EXPLAIN)
 *
 * The dashboard workload of issue 17 §1 against the gateway (response cache on and/or off) and
 * PostGraphile v4 on the same synced tenant: open-loop load at fixed offered rates, 500 real RS256
 * tokens of every role from the emulator's sign-in, the same request sequence replayed against every
 * server, a read-only phase and a phase with grants, revokes, churn + incremental syncs and a full sync
 * of another connector. Method and results: bench/gateway/README.md.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import { createTestBus } from '@warden/bus/testing';
import { createTestDatabase } from '@warden/database/testing';
import { SecretBox } from '@warden/service-kit';
import { insertConnector } from '../../apps/provision-worker/test/support/seed';
import { Rng } from '../../tests/chaos/src/rng';
import { startEmulatorProcess } from '../support/emulator-process';
import { freePorts, percentile, rerunWithEmulatorCa, serviceEnv } from '../support/process';
import { loadAverage, writeBenchResult } from '../support/result';
import { startSyncWorkerProcess } from '../support/sync-worker-process';
import { failure, post, requestPayload, settle, type Outcome, type Target } from './load';
import { startSender } from './load-process';
import { cpuPerShape, type ShapeCpu } from './cpu';
import { listenChanges, metricValue, scrape, watchProcesses, type Usage } from './observe';
import {
  assignWardenRoles,
  ensureGraphql15,
  fullSync,
  log,
  ROOT,
  seedOtherConnectors,
  signIn,
  spawnService,
  waitFor,
  type CallerToken,
  type Service,
} from './setup';
import { DOCS, endCursorOf, generateRequests, loadPopulation, normalize, SHAPES, type Req, type Shape } from './workload';
import { grantablePairs, startWrites, type WriteStats } from './writes';
import { judge } from './judge';
import { saveWindowTrace, startTrace } from './trace';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'M' },
    seed: { type: 'string', default: '42' },
    rates: { type: 'string', default: '100,300,1000' },
    cache: { type: 'string', default: 'both' },
    /** Measured seconds per server, rate and phase (after a warm-up of --warmup seconds). */
    duration: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '4' },
    /** Grants + revokes per second through the gateway during the write phase. */
    writes: { type: 'string', default: '2' },
    'sync-every': { type: 'string', default: '60' },
    sockets: { type: 'string', default: '128' },
    compare: { type: 'string', default: '150' },
    /** Requests per shape and server for the CPU-per-request measure (0: skip it). */
    cpu: { type: 'string', default: '300' },
    /** Leave the bench's database behind (its name is printed) to iterate on SQL without a new sync. */
    keep: { type: 'boolean', default: false },
    /** Write, per window, every request's start and latency and samples of CPU and Postgres waits to this folder (trace.ts). */
    trace: { type: 'string' },
    /** Extra Node flags for both gateways (an A/B of V8 settings, e.g. "--max-semi-space-size=32"); recorded in the result. */
    'gateway-node-flags': { type: 'string', default: '' },
    /** Diagnostics: the peer still answers the comparison but is not driven in the windows (no throughput verdict). */
    'skip-peer': { type: 'boolean', default: false },
  },
});
const size = String(values.size).toUpperCase();
if (!['S', 'M', 'L'].includes(size)) throw new Error('--size must be S, M or L');
const seed = Number(values.seed);
const rates = String(values.rates)
  .split(',')
  .map((r) => Number(r.trim()))
  .filter((r) => r > 0);
const cacheModes = values.cache === 'on' ? ['on'] : values.cache === 'off' ? ['off'] : ['on', 'off'];
if (!['on', 'off', 'both'].includes(String(values.cache))) throw new Error('--cache must be on, off or both');
const DURATION_MS = Number(values.duration) * 1000;
const WARMUP_MS = Number(values.warmup) * 1000;
const POOL = 8;
const TOKENS = { superAdmins: 40, connectorAdmins: 60, viewers: 200, members: 200 };
const CPU_REQUESTS = Number(values.cpu);
const COMMAND = `npm run bench:gateway -- --size ${size} --seed ${seed} --rates ${rates.join(',') || '0'} --cache ${String(values.cache)} --duration ${Number(values.duration)} --cpu ${CPU_REQUESTS}${values['skip-peer'] ? ' --skip-peer' : ''}${values['gateway-node-flags'] ? ` --gateway-node-flags="${String(values['gateway-node-flags'])}"` : ''}`;

await rerunWithEmulatorCa();

interface ShapeRow {
  shape: Shape | 'all';
  requests: number;
  offeredPerSec: number;
  achievedPerSec: number;
  p50: number;
  p95: number;
  p99: number;
  p999: number;
  errors: number;
  errorExamples: string[];
}
interface WindowResult {
  phase: 'read-only' | 'writes';
  rate: number;
  server: string;
  all: ShapeRow;
  shapes: ShapeRow[];
  /** Hits ÷ every lookup (hits, misses, and lookups that found an answer a change had retired). */
  cacheHitRatio: number | null;
  /** Share of the lookups that found an answer a change had retired: what the writes cost the cache. */
  cacheRetiredRatio: number | null;
  /**
   * The change feed's marker round trips in the window (what a hit waits for, response-cache.ts):
   * how many, their mean, and how many took over 50 ms. Null with the cache off.
   */
  cacheCatchUp: { roundTrips: number; meanMs: number; over50Ms: number } | null;
  /** The same two per operation (the gateway labels its lookups with the operation name): `hit / retired` ratios. */
  cacheByOperation: Record<string, { lookups: number; hitRatio: number; retiredRatio: number }>;
  invalidationsPerSec: number;
  /** Change notifications in the window by table (and whether they named rows), per second. */
  notificationsPerSec: Record<string, number>;
  /** The measured server's event-loop delay p99 over the window (its own /metrics), for the gateways. */
  serverEventLoopP99Ms: number | null;
  /** The sync and provision workers' CPU during the window (share of one core): their competition. */
  workersCpuPercent: number;
  invalidationSource: string;
  server_usage: Usage;
  postgres_usage: Usage;
  /**
   * The load generator: the sender process (load-process.ts) and this one (writes, samplers); CPU of
   * both, and how late the sender's timers fired (a late sender delays sends, counted as latency).
   */
  client: {
    cpuPercent: number;
    senderCpuPercent: number;
    eventLoopDelayP99Ms: number;
    eventLoopDelayMaxMs: number;
    mainEventLoopDelayP99Ms: number;
  };
  writes: WriteStats | null;
  /** How long the server kept working after the window on requests the client had given up on. */
  drainAfterWindowMs: number;
}

function summarize(shape: Shape | 'all', os: Outcome[], durationMs: number): ShapeRow {
  const lat = os.map((o) => o.latencyMs).sort((a, b) => a - b);
  const ok = os.filter((o) => o.ok && o.doneAt <= durationMs).length;
  const errs = os.filter((o) => !o.ok);
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    shape,
    requests: os.length,
    offeredPerSec: r(os.length / (durationMs / 1000)),
    achievedPerSec: r(ok / (durationMs / 1000)),
    p50: r(percentile(lat, 50)),
    p95: r(percentile(lat, 95)),
    p99: r(percentile(lat, 99)),
    p999: r(percentile(lat, 99.9)),
    errors: errs.length,
    errorExamples: [...new Set(errs.map((e) => e.error ?? '?'))].slice(0, 3),
  };
}

async function main(): Promise<void> {
  const loadAtStart = loadAverage();
  const rng = new Rng(seed);
  log(
    `size ${size}, seed ${seed}, rates ${rates.join('/')} req/s, cache ${cacheModes.join('+')}, ${DURATION_MS / 1000} s per window; load ${loadAtStart}`,
  );
  const tdb = await createTestDatabase('gateway_bench');
  const tbus = await createTestBus({ ackWaitMs: 60_000 });
  const secretKeys = `b1:${randomBytes(32).toString('base64')}`;
  const box = SecretBox.fromConfig(secretKeys);
  const services: Service[] = [];
  const closers: (() => Promise<unknown>)[] = [];
  const emu = await startEmulatorProcess(size, seed);
  closers.push(() => emu.close());
  const other = await startEmulatorProcess(size === 'L' ? 'M' : 'S', seed + 1);
  closers.push(() => other.close());
  const cleanup = async () => {
    for (const s of services.reverse()) await s.stop().catch(() => undefined);
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await tbus.destroy().catch(() => undefined);
    if (values.keep) log(`kept the database: ${tdb.url}`);
    else await tdb.drop().catch(() => undefined);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      log(`${signal}: stopping every process this run started`);
      void cleanup().finally(() => process.exit(130));
    });
  try {
    // Setup runs without Graph latency (this bench is about reading); the measured phases get 50 ms.
    for (const e of [emu, other])
      await e.settings({ latencyMs: 0, jitterMs: 0, faultRate: 0, throttle: { enabled: false }, tokenLifetimeSeconds: 86_400 });
    const identities = await assignWardenRoles(emu, rng.fork(1), TOKENS);
    log(`assigned Warden app roles in the tenant: ${JSON.stringify(TOKENS)}`);

    const provisioning = emu.config.apps.find((a) => a.name === 'provisioning')!;
    const mainId = await insertConnector(tdb.db, box, emu.config, provisioning);
    await tdb.db
      .updateTable('connectors')
      .set({ display_name: `Contoso (${size})`, owners: ['bench'] })
      .where('id', '=', mainId)
      .execute();
    const otherId = await insertConnector(
      tdb.db,
      box,
      other.config,
      other.config.apps.find((a) => a.name === 'readonly')!,
    );
    await tdb.db.updateTable('connectors').set({ display_name: 'Fabrikam' }).where('id', '=', otherId).execute();
    const common = {
      ...serviceEnv({
        databaseUrl: tdb.url,
        busNamespace: tbus.namespace,
        secretKeys,
        graphBaseUrls: [emu, other].map((e) => e.config.baseUrl),
      }),
      NODE_ENV: 'production',
    };
    // info: its readiness is the "sync worker started" line.
    const syncWorker = startSyncWorkerProcess({ ...common, LOG_LEVEL: 'info', SCHEDULER_INTERVAL_MS: '0' });
    closers.push(() => syncWorker.stop());
    await syncWorker.ready;
    const provisionWorker = spawnService(
      'provision worker',
      ['--import', 'tsx', path.join(ROOT, 'apps/provision-worker/src/main.ts')],
      common,
    );
    services.push(provisionWorker);
    const workerPids = [syncWorker.proc.pid, provisionWorker.pid].filter((p): p is number => typeof p === 'number');
    const tSync = await fullSync(tdb.db, tbus.bus, mainId);
    log(`full sync of the ${size} tenant: ${(tSync / 1000).toFixed(1)} s`);
    log(`full sync of the other connector: ${((await fullSync(tdb.db, tbus.bus, otherId)) / 1000).toFixed(1)} s`);
    const seeded = await seedOtherConnectors(tdb.db, box, 4, seed);
    log(`seeded ${seeded.length} more connectors from generated tenants`);
    await sql.raw(readFileSync(path.join(ROOT, 'bench/gateway/postgraphile-peer.sql'), 'utf8')).execute(tdb.db);
    // What autovacuum does on a live database shortly after a bulk write (statistics, visibility map).
    await sql`VACUUM ANALYZE`.execute(tdb.db);
    const counts = (
      await sql<{ resources: number; entitlements: number; grants: number }>`SELECT
        (SELECT count(*) FROM resources WHERE connector_id = ${mainId})::int AS resources,
        (SELECT count(*) FROM entitlements WHERE connector_id = ${mainId})::int AS entitlements,
        (SELECT count(*) FROM grants WHERE connector_id = ${mainId})::int AS grants`.execute(tdb.db)
    ).rows[0]!;
    log(`main connector: ${counts.resources} resources, ${counts.entitlements} entitlements, ${counts.grants} grants`);

    // ---- servers, each in its own process, all NODE_ENV=production
    const warden = emu.config.apps.find((a) => a.api)!;
    // Each gateway's API and metrics ports, then PostGraphile's.
    const [onPort, onMetricsPort, offPort, offMetricsPort, pgPort] = (await freePorts(5)) as [number, number, number, number, number];
    const targets: (Target & { service: Service; metricsUrl: string | null })[] = [];
    const startGateway = async (cache: string, port: number, metricsPort: number) => {
      const service = spawnService(
        `gateway (cache ${cache})`,
        [...String(values['gateway-node-flags']).split(' ').filter(Boolean), '--import', 'tsx', 'src/main.ts'],
        {
          ...common,
          OIDC_ISSUER: `${emu.config.baseUrl}/${emu.config.tenantId}/v2.0`,
          OIDC_CLIENT_ID: warden.clientId,
          PORT: String(port),
          HOST: '127.0.0.1',
          METRICS_PORT: String(metricsPort),
          // Postgres here allows 100 connections for every helper's databases together: both servers get 8.
          DB_POOL_SIZE: String(POOL),
          CONSOLE_DIR: 'none',
          RESPONSE_CACHE_MB: cache === 'on' ? '64' : '0',
        },
        path.join(ROOT, 'apps/gateway'),
      );
      services.push(service);
      await waitFor(`gateway (cache ${cache})`, async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, service);
      targets.push({
        name: `gateway, cache ${cache}`,
        kind: 'gateway',
        url: `http://127.0.0.1:${port}/graphql`,
        service,
        metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
      });
    };
    // The cached gateway is always started: the writes and their read-backs go through it.
    await startGateway('on', onPort, onMetricsPort);
    if (cacheModes.includes('off')) await startGateway('off', offPort, offMetricsPort);
    const peer = spawnService(
      'postgraphile',
      [
        '--require',
        path.join(ROOT, 'bench/gateway/graphql15-shim.cjs'),
        path.join(ROOT, 'node_modules/postgraphile/cli.js'),
        '-c',
        tdb.url,
        '--schema',
        'public',
        '--host',
        '127.0.0.1',
        '--port',
        String(pgPort),
        '--disable-default-mutations',
        '--disable-query-log',
        '--dynamic-json',
        '--max-pool-size',
        String(POOL),
      ],
      { GRAPHQL15_DIR: ensureGraphql15(), NODE_ENV: 'production' },
    );
    services.push(peer);
    const peerUrl = `http://127.0.0.1:${pgPort}/graphql`;
    await waitFor(
      'postgraphile',
      async () =>
        (await fetch(peerUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' })).ok,
      peer,
    );
    targets.push({ name: 'PostGraphile v4', kind: 'postgraphile', url: peerUrl, service: peer, metricsUrl: null });
    const measured = targets.filter((t) => t.kind === 'postgraphile' || cacheModes.some((m) => t.name.endsWith(`cache ${m}`)));
    const cachedUrl = targets[0]!.url;

    // ---- 500 callers signed in through the emulator
    const callers: CallerToken[] = [];
    for (const id of identities) callers.push(await signIn(emu, id.upn));
    const byRole = callers.reduce<Record<string, number>>((m, c) => ((m[c.role] = (m[c.role] ?? 0) + 1), m), {});
    log(`signed in ${callers.length} callers (authorization code + PKCE): ${JSON.stringify(byRole)}`);
    const admin = callers.find((c) => c.role === 'SUPER_ADMIN')!;
    const tokens = callers.map((c) => c.token);

    // A running campaign whose reviewers are the principals' managers: the members' review queues.
    const popRng = new Rng(seed ^ 0x7e11);
    const ents = (
      await sql<{
        id: string;
      }>`SELECT id FROM entitlements WHERE connector_id = ${mainId} AND resource_type = 'GROUP' AND slug = 'member' AND grantable ORDER BY key`.execute(
        tdb.db,
      )
    ).rows.map((r) => r.id);
    const scope = Array.from({ length: Math.min(400, ents.length) }, () => popRng.pick(ents));
    const review = await gqlOnce<{ createAccessReview: { id: string; progress: { total: number } } }>(
      cachedUrl,
      admin.token,
      'mutation($i: AccessReviewInput!) { createAccessReview(input: $i) { id progress { total } } }',
      {
        i: {
          name: 'Quarterly group review',
          connectorId: mainId,
          entitlementIds: [...new Set(scope)],
          reviewers: 'MANAGER',
          fallbackSubjects: ['bench-fallback'],
          dueAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
        },
      },
    );
    log(`access review with ${review.createAccessReview.progress.total} items (reviewers: managers)`);
    // What autovacuum does within a minute of the campaign's bulk insert (it is off on this machine's
    // shared Postgres): statistics, and the merge of the reviewer index's pending list. Unmerged, all
    // 30,000 entries at M sit in that list and every review-queue query scans it: 48 ms of Postgres CPU
    // per queue read instead of about 1 ms, for every server alike.
    await sql`VACUUM ANALYZE`.execute(tdb.db);

    const pop = await loadPopulation(tdb.db, mainId, seed);
    const identitiesOf = callers.map((c) => ({ role: c.role, sub: c.sub, oid: c.oid }));

    // ---- correctness: the same sample answered by every server, normalized and compared
    const sample = generateRequests(pop, identitiesOf, 100, 60_000, seed + 1).slice(0, Number(values.compare));
    const compare = await compareAnswers(measured, sample, tokens);
    log(`compared ${sample.length} answers across servers: ${compare.mismatches} differ, ${compare.errors} errors`);

    // ---- the measured phases
    const pairs = await grantablePairs(tdb.db, mainId, 5_000, seed);
    const changes = await listenChanges(tdb.url);
    closers.push(() => changes.close());
    const pgBackends = new pg.Client({ connectionString: tdb.url });
    await pgBackends.connect();
    closers.push(() => pgBackends.end());
    const backendPids = async () =>
      (await pgBackends.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database()')).rows.map(
        (r) => r.pid,
      );
    // ---- CPU per request per shape (nothing else driven): the measure a busy machine distorts least
    const cpu: { server: string; shapes: ShapeCpu[] }[] = [];
    if (CPU_REQUESTS > 0)
      for (const t of measured) {
        const shapes = await cpuPerShape({ ...t, pid: t.service.pid }, pop, identitiesOf, tokens, backendPids, {
          n: CPU_REQUESTS,
          concurrency: 4,
          seed: seed + 17,
        });
        cpu.push({ server: t.name, shapes });
        for (const s of shapes)
          log(
            `  CPU per request, ${t.name}, ${s.shape}: server ${s.serverMs} ms + Postgres ${s.postgresMs} ms (${s.requests} requests, ${s.errors} errors)`,
          );
      }
    const results: WindowResult[] = [];
    const sender = await startSender();
    closers.push(async () => sender.stop());
    for (const phase of ['read-only', 'writes'] as const) {
      if (phase === 'writes') for (const e of [emu, other]) await e.settings({ latencyMs: 50 });
      for (const rate of rates) {
        const reqs = generateRequests(pop, identitiesOf, rate, DURATION_MS, seed * 7919 + rate);
        const warm = generateRequests(pop, identitiesOf, rate, WARMUP_MS, seed * 7919 + rate + 1);
        for (const t of values['skip-peer'] ? measured.filter((m) => m.kind !== 'postgraphile') : measured) {
          const writer =
            phase === 'writes'
              ? startWrites({
                  gatewayUrl: cachedUrl,
                  adminToken: admin.token,
                  db: tdb.db,
                  emu,
                  mainConnectorId: mainId,
                  otherConnectorId: otherId,
                  pairs: pairs.splice(0, 400),
                  writesPerSecond: Number(values.writes),
                  syncEveryMs: Number(values['sync-every']) * 1000,
                  churnChanges: Math.max(1, Math.round(counts.resources * 0.001)),
                  seed: seed + rate + results.length,
                })
              : null;
          const opts = { sockets: Number(values.sockets), timeoutMs: 10_000, maxOutstanding: 10_000 };
          await sender.run(t, warm, tokens, opts);
          const settledMs = await settle(t, admin.token, mainId);
          if (settledMs > 1000) log(`  ${t.name} needed ${(settledMs / 1000).toFixed(1)} s to work off the warm-up`);
          const m0 = await scrape(t.metricsUrl);
          const c0 = changes.count();
          const k0 = changes.byKind();
          const wServer = watchProcesses(async () => [t.service.pid]);
          const wPg = watchProcesses(backendPids, true);
          const wWorkers = watchProcesses(async () => workerPids);
          const started = Date.now();
          const cpu0 = process.cpuUsage();
          const lag = monitorEventLoopDelay({ resolution: 5 });
          lag.enable();
          const tracer = values.trace ? startTrace(tdb.url, new URL(tdb.url).pathname.slice(1), t.metricsUrl) : null;
          const sent = await sender.run(t, reqs, tokens, opts);
          const outcomes = sent.outcomes;
          if (tracer && values.trace)
            await saveWindowTrace(values.trace, `${phase}-${rate}-${t.name}`, {
              samples: await tracer.stop(),
              traceStartedAtEpochMs: tracer.startedAtEpochMs,
              sent,
              db: tdb.db,
              mainConnectorId: mainId,
              metricsBefore: m0,
              metricsAfter: await scrape(t.metricsUrl),
              labels: { phase, rate, server: t.name },
            });
          lag.disable();
          const cpu1 = process.cpuUsage(cpu0);
          const windowS = (Date.now() - started) / 1000;
          const [serverUsage, pgUsage, workersUsage] = [await wServer.stop(), await wPg.stop(), await wWorkers.stop()];
          const m1 = await scrape(t.metricsUrl);
          const invalidations = changes.count() - c0;
          const k1 = changes.byKind();
          const notificationsPerSec = Object.fromEntries(
            Object.entries(k1)
              .map(([k, v]) => [k, Math.round(((v - (k0[k] ?? 0)) / windowS) * 10) / 10] as const)
              .filter(([, v]) => v > 0)
              .sort((a, b) => b[1] - a[1]),
          );
          const writes = writer ? await writer.stop() : null;
          // The next server must not share the machine with this one's leftover work.
          const drainMs = await settle(t, admin.token, mainId);
          const hits =
            metricValue(m1, 'warden_gateway_response_cache_lookups_total', { outcome: 'hit' }) -
            metricValue(m0, 'warden_gateway_response_cache_lookups_total', { outcome: 'hit' });
          const misses =
            metricValue(m1, 'warden_gateway_response_cache_lookups_total', { outcome: 'miss' }) -
            metricValue(m0, 'warden_gateway_response_cache_lookups_total', { outcome: 'miss' });
          const retired =
            metricValue(m1, 'warden_gateway_response_cache_lookups_total', { outcome: 'stale' }) -
            metricValue(m0, 'warden_gateway_response_cache_lookups_total', { outcome: 'stale' });
          const lookups = hits + misses + retired;
          const cacheByOperation: WindowResult['cacheByOperation'] = {};
          if (t.name.endsWith('cache on'))
            for (const name of OPERATIONS) {
              const of = (outcome: string) =>
                metricValue(m1, 'warden_gateway_response_cache_lookups_total', { outcome, name }) -
                metricValue(m0, 'warden_gateway_response_cache_lookups_total', { outcome, name });
              const [h, m, s] = [of('hit'), of('miss'), of('stale')];
              if (h + m + s > 0)
                cacheByOperation[name] = {
                  lookups: h + m + s,
                  hitRatio: Math.round((1000 * h) / (h + m + s)) / 1000,
                  retiredRatio: Math.round((1000 * s) / (h + m + s)) / 1000,
                };
            }
          // prom-client resets its event-loop histogram at every scrape: this is the window's.
          const loopP99 = m1.includes('warden_gateway_nodejs_eventloop_lag_p99_seconds')
            ? Math.round(metricValue(m1, 'warden_gateway_nodejs_eventloop_lag_p99_seconds') * 10_000) / 10
            : null;
          const invMetric =
            metricValue(m1, 'warden_gateway_response_cache_invalidations_total') -
            metricValue(m0, 'warden_gateway_response_cache_invalidations_total');
          const hasInvMetric = m1.includes('warden_gateway_response_cache_invalidations_total');
          const done = outcomes.map((o) => o.doneAt).sort((a, b) => a - b);
          log(
            `  answers complete at ${[50, 90, 100].map((p) => `p${p} ${(percentile(done, p) / 1000).toFixed(1)} s`).join(', ')} of the ${DURATION_MS / 1000} s window`,
          );
          const w: WindowResult = {
            phase,
            rate,
            server: t.name,
            all: summarize('all', outcomes, DURATION_MS),
            shapes: SHAPES.map((s) =>
              summarize(
                s,
                outcomes.filter((o) => o.shape === s),
                DURATION_MS,
              ),
            ).filter((s) => s.requests > 0),
            cacheHitRatio: t.name.endsWith('cache on') && lookups > 0 ? Math.round((1000 * hits) / lookups) / 1000 : null,
            cacheCatchUp: t.name.endsWith('cache on') ? catchUpOf(m0, m1) : null,
            cacheRetiredRatio: t.name.endsWith('cache on') && lookups > 0 ? Math.round((1000 * retired) / lookups) / 1000 : null,
            cacheByOperation,
            serverEventLoopP99Ms: t.kind === 'gateway' ? loopP99 : null,
            workersCpuPercent: Math.round(workersUsage.cpuPercent),
            invalidationsPerSec: Math.round(((hasInvMetric ? invMetric : invalidations) / windowS) * 10) / 10,
            notificationsPerSec,
            invalidationSource: hasInvMetric ? 'gateway metric' : 'change notifications (LISTEN warden_changes)',
            server_usage: serverUsage,
            client: {
              cpuPercent: Math.round(((cpu1.user + cpu1.system) / 1000 + sent.cpuMs) / 10 / windowS),
              senderCpuPercent: Math.round(sent.cpuMs / 10 / windowS),
              eventLoopDelayP99Ms: sent.loopDelayP99Ms,
              eventLoopDelayMaxMs: sent.loopDelayMaxMs,
              mainEventLoopDelayP99Ms: Math.round(lag.percentile(99) / 1e5) / 10,
            },
            postgres_usage: pgUsage,
            writes,
            drainAfterWindowMs: Math.round(drainMs),
          };
          results.push(w);
          log(
            `${phase} ${rate} req/s ${t.name}: achieved ${w.all.achievedPerSec}/s of ${w.all.offeredPerSec}, p50/p99/p99.9 ${w.all.p50}/${w.all.p99}/${w.all.p999} ms, ${w.all.errors} errors` +
              (w.cacheHitRatio !== null ? `, hit ratio ${w.cacheHitRatio} (retired by a change ${w.cacheRetiredRatio})` : '') +
              (w.cacheCatchUp
                ? `, feed markers ${w.cacheCatchUp.roundTrips} (mean ${w.cacheCatchUp.meanMs} ms, ${w.cacheCatchUp.over50Ms} over 50 ms)`
                : '') +
              (w.serverEventLoopP99Ms !== null ? `, event-loop delay p99 ${w.serverEventLoopP99Ms} ms` : '') +
              `, workers CPU ${w.workersCpuPercent}%` +
              `, ${w.invalidationsPerSec} invalidations/s, CPU ${serverUsage.cpuPercent.toFixed(0)}% (Postgres ${pgUsage.cpuPercent.toFixed(0)}%), load ${loadAverage()}` +
              (writes
                ? `; writes: ${writes.grants.ok}+${writes.revokes.ok} ok, ${writes.staleReads} stale (${writes.staleInDatabase} in the database), ${writes.incrementalSyncs.runs} incremental, ${writes.fullSyncs.runs} full`
                : ''),
          );
        }
      }
    }
    report(results, compare, counts, byRole, loadAtStart, cpu);
  } finally {
    await cleanup();
  }
}

async function gqlOnce<T>(url: string, token: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const agent = new http.Agent();
  const a = await post(agent, new URL(url), JSON.stringify({ query, variables }), { authorization: `Bearer ${token}` }, 600_000);
  agent.destroy();
  const f = failure(a);
  if (f) throw new Error(`${query.slice(0, 60)}…: ${f}`);
  return a.body!.data as T;
}

interface Comparison {
  requests: number;
  mismatches: number;
  errors: number;
  byShape: Record<string, { compared: number; differ: number }>;
  examples: string[];
}

/** Each sample request, one at a time, on every server (next pages with that server's own cursor). */
async function compareAnswers(targets: Target[], sample: Req[], tokens: string[]): Promise<Comparison> {
  const answers = new Map<string, (string | null)[]>();
  const agent = new http.Agent({ keepAlive: true });
  for (const t of targets) {
    const cursors: (string | null)[] = [];
    const norm: (string | null)[] = [];
    for (const r of sample) {
      const a = await post(
        agent,
        new URL(t.url),
        requestPayload(t.kind, r, r.after === undefined ? null : (cursors[r.after] ?? null)),
        t.kind === 'gateway' ? { authorization: `Bearer ${tokens[r.token]!}` } : {},
        60_000,
      );
      const f = failure(a);
      cursors.push(f ? null : endCursorOf(a.body?.data));
      norm.push(f ? `error: ${f}` : normalize(a.body?.data));
    }
    answers.set(t.name, norm);
  }
  agent.destroy();
  const peer = answers.get('PostGraphile v4')!;
  const out: Comparison = { requests: sample.length, mismatches: 0, errors: 0, byShape: {}, examples: [] };
  for (const [name, norm] of answers) {
    if (name === 'PostGraphile v4') continue;
    sample.forEach((r, i) => {
      const s = (out.byShape[r.shape] ??= { compared: 0, differ: 0 });
      s.compared++;
      if (norm[i]!.startsWith('error') || peer[i]!.startsWith('error')) out.errors++;
      if (norm[i] !== peer[i]) {
        out.mismatches++;
        s.differ++;
        if (out.examples.length < 6)
          out.examples.push(`${name} / ${r.shape} ${JSON.stringify(r.vars)}: ${norm[i]!.slice(0, 300)} vs ${peer[i]!.slice(0, 300)}`);
      }
    });
  }
  return out;
}

function report(
  results: WindowResult[],
  compare: Comparison,
  counts: Record<string, number>,
  byRole: Record<string, number>,
  loadAtStart: number,
  cpu: { server: string; shapes: ShapeCpu[] }[],
): void {
  const lines: string[] = [];
  if (cpu.length > 0) {
    lines.push(
      '',
      `### CPU per request (ms: server + Postgres backends), ${CPU_REQUESTS} requests per shape, 4 at a time, load ${loadAverage()}`,
      '',
    );
    lines.push(`| shape | ${cpu.map((c) => c.server).join(' | ')} |`);
    lines.push(`|---|${cpu.map(() => '---').join('|')}|`);
    for (const shape of SHAPES) {
      const cells = cpu.map((c) => {
        const s = c.shapes.find((x) => x.shape === shape);
        return s ? `${s.serverMs} + ${s.postgresMs} = ${round2(s.serverMs + s.postgresMs)}${s.errors ? ` (${s.errors} errors)` : ''}` : '–';
      });
      lines.push(`| ${shape} | ${cells.join(' | ')} |`);
    }
  }
  const fmt = (r: ShapeRow) => `${r.achievedPerSec} / ${r.offeredPerSec} | ${r.p50} / ${r.p95} / ${r.p99} / ${r.p999} | ${r.errors}`;
  const servers = [...new Set(results.map((r) => r.server))];
  for (const phase of ['read-only', 'writes'] as const) {
    for (const rate of rates) {
      const ws = results.filter((r) => r.phase === phase && r.rate === rate);
      if (!ws.length) continue;
      lines.push('', `### ${phase}, ${rate} req/s offered`, '');
      lines.push(`| shape | ${servers.map((s) => `${s}: achieved / offered req/s | p50 / p95 / p99 / p99.9 ms | errors`).join(' | ')} |`);
      lines.push(`|---|${servers.map(() => '---|---|---').join('|')}|`);
      for (const shape of ['all', ...SHAPES] as const) {
        const cells = servers.map((s) => {
          const w = ws.find((x) => x.server === s);
          const row = shape === 'all' ? w?.all : w?.shapes.find((x) => x.shape === shape);
          return row ? fmt(row) : '– | – | –';
        });
        lines.push(`| ${shape === 'all' ? '**all**' : shape} | ${cells.join(' | ')} |`);
      }
      lines.push('');
      for (const w of ws)
        lines.push(
          `- ${w.server}: hit ratio ${w.cacheHitRatio ?? '–'} (lookups that found an answer retired by a change: ${w.cacheRetiredRatio ?? '–'})${perOperation(w)}${w.cacheCatchUp ? `, change-feed markers ${w.cacheCatchUp.roundTrips} (mean ${w.cacheCatchUp.meanMs} ms, ${w.cacheCatchUp.over50Ms} over 50 ms)` : ''}, invalidations ${w.invalidationsPerSec}/s (${kinds(w)}), server event-loop delay p99 ${w.serverEventLoopP99Ms ?? '–'} ms, sync + provision workers CPU ${w.workersCpuPercent}%, server CPU ${w.server_usage.cpuPercent.toFixed(0)}% peak RSS ${w.server_usage.peakRssMB.toFixed(0)} MB, Postgres CPU ${w.postgres_usage.cpuPercent.toFixed(0)}% private memory ${w.postgres_usage.peakRssMB.toFixed(0)} MB, load generator CPU ${w.client.cpuPercent}% (sender ${w.client.senderCpuPercent}%; sender event-loop delay p99 ${w.client.eventLoopDelayP99Ms} ms, max ${w.client.eventLoopDelayMaxMs} ms)` +
            (w.writes
              ? `; writes: grants ${w.writes.grants.ok} ok / ${w.writes.grants.failed} failed (p50/p99 ${w.writes.grants.p50Ms}/${w.writes.grants.p99Ms} ms), revokes ${w.writes.revokes.ok} / ${w.writes.revokes.failed}, stale reads ${w.writes.staleReads} of ${w.writes.readBacks} (${w.writes.staleInDatabase} also in the database), incremental syncs ${w.writes.incrementalSyncs.runs} (${w.writes.incrementalSyncs.churnChanges} changes), full syncs ${w.writes.fullSyncs.runs}`
              : ''),
        );
    }
  }
  // Targets, on the phase with writes: ≥ 1.5× PostGraphile's throughput per shape at the highest
  // offered rate (where the servers saturate) with equal or better p99; p99 ≤ 50 ms at 300 req/s.
  const top = rates.length > 0 ? Math.max(...rates) : 0;
  const at = (phase: string, rate: number, server: string) =>
    results.find((r) => r.phase === phase && r.rate === rate && r.server === server);
  const { ours, baseline, ratio, targets } = judge(results, rates, cacheModes);
  // The ratios per shape, on the write phase at every rate: achieved throughput ÷ PostGraphile's, and p99 beside its p99.
  lines.push('', `### Ratios on the write phase (gateway ÷ PostGraphile: achieved req/s; p99 ms gateway / PostGraphile)`, '');
  lines.push(`| rate | shape | ${cacheModes.map((m) => `cache ${m}: throughput ratio | p99`).join(' | ')} |`);
  lines.push(`|---|---|${cacheModes.map(() => '---|---').join('|')}|`);
  for (const rate of rates) {
    const p = at('writes', rate, 'PostGraphile v4');
    for (const shape of ['all', ...SHAPES] as const) {
      const pick = (w: WindowResult | undefined) => (shape === 'all' ? w?.all : w?.shapes.find((x) => x.shape === shape));
      const pr = pick(p);
      if (!pr) continue;
      const cells = cacheModes.map((m) => {
        const g = pick(at('writes', rate, `gateway, cache ${m}`));
        return g ? `${pr.achievedPerSec > 0 ? round2(g.achievedPerSec / pr.achievedPerSec) : '–'} | ${g.p99} / ${pr.p99}` : '– | –';
      });
      lines.push(`| ${rate} | ${shape} | ${cells.join(' | ')} |`);
    }
  }
  const stale = results.reduce((n, r) => n + (r.writes?.staleReads ?? 0), 0);
  ours.staleReads = stale;
  targets['stale reads after a grant or revoke = 0'] = stale === 0;
  const correct = compare.mismatches === 0 && compare.errors === 0 && stale === 0;
  const loads = `load average ${loadAtStart} at the start, ${loadAverage()} at the end`;
  const head = [
    `## bench:gateway, size ${size} (${counts.resources} resources, ${counts.grants} grants in the main connector), ${DURATION_MS / 1000} s per window, ${loads}`,
    `callers: ${JSON.stringify(byRole)}; answers compared on ${compare.requests} requests: ${compare.mismatches} differ, ${compare.errors} errors`,
  ];
  process.stdout.write(
    `${[...head, ...lines, '', '| target | met |', '|---|---|', ...Object.entries(targets).map(([k, v]) => `| ${k} | ${v ? '✔' : '✘'} |`)].join('\n')}\n`,
  );
  const out = writeBenchResult({
    bench: 'gateway',
    size,
    command: COMMAND,
    loadAtStart,
    caveats: [
      'The load generator, the three servers, both workers, the emulators and Postgres share the 2-core machine with other work: every figure is pessimistic; see the load average.',
      'PostGraphile gets no authentication (no token is checked), which favours it; the gateway verifies 500 distinct RS256 tokens.',
      `Throughput targets are judged at the highest offered rate (${top} req/s), where the servers saturate; below it both answer what is offered.`,
    ],
    ours,
    baseline,
    ratio,
    correct,
    targets,
    details: {
      rates,
      durationSeconds: DURATION_MS / 1000,
      callers: byRole,
      dataset: counts,
      compare,
      cpuPerRequest: cpu,
      windows: results,
    },
  });
  log(`wrote ${out}`);
}

const round2 = (x: number) => Math.round(x * 100) / 100;
/** The operation names of the workload's gateway documents (the cache's lookups are labelled with them). */
const OPERATIONS = [...new Set(SHAPES.map((s) => /^query (\w+)/.exec(DOCS[s].gateway.query)?.[1]).filter((n): n is string => !!n))];
const kinds = (w: WindowResult) =>
  Object.entries(w.notificationsPerSec)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
const perOperation = (w: WindowResult) =>
  Object.keys(w.cacheByOperation).length === 0
    ? ''
    : `; per operation, hit / retired: ${Object.entries(w.cacheByOperation)
        .map(([k, v]) => `${k} ${v.hitRatio} / ${v.retiredRatio}`)
        .join(', ')}`;

main().then(
  () => process.exit(0),
  (err: unknown) => {
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);

/** Marker round trips between two scrapes of a gateway's metrics (warden_gateway_change_feed_catch_up_seconds). */
function catchUpOf(m0: string, m1: string): WindowResult['cacheCatchUp'] {
  const name = 'warden_gateway_change_feed_catch_up_seconds';
  const d = (metric: string, labels: Record<string, string> = {}) => metricValue(m1, metric, labels) - metricValue(m0, metric, labels);
  const n = d(`${name}_count`);
  return {
    roundTrips: n,
    meanMs: n > 0 ? Math.round((d(`${name}_sum`) / n) * 10_000) / 10 : 0,
    over50Ms: n - d(`${name}_bucket`, { le: '0.05' }),
  };
}
