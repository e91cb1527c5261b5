/**
 * npm run bench:provision -- --size M|L
 *
 * 1,000 group-membership grants end to end (requestProvisioning → SUCCEEDED) through the real
 * worker, Postgres and NATS, against the emulator in a child process with 50 ms read latency, its
 * default write latency (3× a read: 150 ms per POST/DELETE, see the emulator README "Latency") and
 * Graph's write quota (3,000 writes / 150 s). 1,000 writes fit in a full bucket, so each measured phase
 * starts with the app's write bucket EMPTY: the run first spends it (no-op writes, bypassing
 * graph-core) until the emulator answers 429 WriteLimitExceeded. From then on Graph admits 20 writes/s, and
 * "share of the quota" = achieved writes/s ÷ 20. Baseline in the same run: another 1,000 grants
 * written one at a time with the Graph SDK's default client and RetryHandler (no queue, no DB), which
 * a 150 ms write caps at ~6.7 writes/s whatever the quota: the ratio is what concurrency within the
 * quota buys.
 */
import { parseArgs } from 'node:util';
import { ClientSecretCredential } from '@azure/identity';
import { Client } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';
import type { EmulatorSettings, TenantExport } from '@warden/graph-emulator';
import { GraphClient } from '@warden/graph-core';
import { startProvisionWorker } from '@warden/provision-worker';
import { memberKey, requestProvisioning } from '@warden/access-model';
import { SecretBox } from '@warden/service-kit';
import { createTestBus, TEST_NATS_URL } from '@warden/bus/testing';
import { createTestDatabase } from '@warden/database/testing';
import { randomBytes } from 'node:crypto';
import { insertConnector, seedFromExport } from '../../apps/provision-worker/test/support/seed';
import { startEmulatorProcess } from '../support/emulator-process';
import { percentile, rerunWithEmulatorCa } from '../support/process';
import { loadAverage, writeBenchResult } from '../support/result';
const GRANTS = 1_000;
const QUOTA = { writes: 3_000, seconds: 150 };
const QUOTA_RATE = QUOTA.writes / QUOTA.seconds;
const LATENCY_MS = 50;
/** Grants requested one at a time while the bucket is full: the pipeline's own latency, no queueing. */
const SINGLES = 50;

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'M' },
    seed: { type: 'string', default: '42' },
    concurrency: { type: 'string', default: '32' },
  },
});
const size = String(values.size).toUpperCase();
if (!['S', 'M', 'L', 'XL'].includes(size)) throw new Error('--size must be S, M, L or XL');

await rerunWithEmulatorCa();

type Pair = { group: string; user: string };

interface PhaseResult {
  writes: number;
  failures: number;
  wallSeconds: number;
  writesPerSecond: number;
  shareOfQuota: number;
  p50Ms: number;
  p99Ms: number;
  emulator: { requests: number; writes: number; throttled: number };
  /** Seconds the 1,000 requestProvisioning calls took (arrivals spread over this time). */
  requestSeconds?: number;
  /** Seconds between the bucket running dry and the first measured request (tokens refill meanwhile). */
  startGapSeconds: number;
}

function log(msg: string): void {
  process.stderr.write(`[bench:provision] ${msg}\n`);
}

/** Timestamps come back as Date; the schema's generated-column type does not say so. */
function ms(v: unknown): number {
  return new Date(v as Date).getTime();
}

/** (group, user) pairs that are not memberships yet, spread over writable groups. */
function pickPairs(t: TenantExport, n: number): Pair[] {
  const groups = t.groups.filter((g) => {
    const types = (g.groupTypes as string[] | undefined) ?? [];
    const unified = types.includes('Unified');
    return (
      g.onPremisesSyncEnabled !== true &&
      !types.includes('DynamicMembership') &&
      !(g.mailEnabled === true && !unified) &&
      g.isAssignableToRole !== true
    );
  });
  const users = (t.users as { id: string }[]).map((u) => u.id);
  const out: Pair[] = [];
  // round-robin over groups so the writes spread like real requests do; each user once per group
  const next = new Map(groups.map((g) => [g.id, 0]));
  const offset = new Map(groups.map((g, k) => [g.id, (k * 7919) % users.length]));
  const user = (g: string, i: number) => users[(offset.get(g)! + i) % users.length]!;
  const members = new Map(groups.map((g) => [g.id, new Set(g.members)]));
  let progress = true;
  while (out.length < n && progress) {
    progress = false;
    for (const g of groups) {
      let i = next.get(g.id)!;
      while (i < users.length && members.get(g.id)!.has(user(g.id, i))) i++;
      if (i < users.length) {
        out.push({ group: g.id, user: user(g.id, i) });
        progress = true;
        i++;
      }
      next.set(g.id, i);
      if (out.length === n) break;
    }
  }
  if (out.length < n) throw new Error(`the tenant offers only ${out.length} new memberships; use a larger --size`);
  return out;
}

/**
 * Spends the app's write quota at the emulator until it answers 429 WriteLimitExceeded: no-op
 * DELETEs of memberships that do not exist (404, still a write), sent with a plain fetch so that
 * graph-core's governor does not know — as when another client or earlier work spent the quota.
 * graph-core then learns it from Graph's 429 answers, which is part of what is measured.
 */
async function drainWriteBucket(graph: GraphClient, baseUrl: string, pairs: Pair[]): Promise<number> {
  const token = await graph.getAccessToken();
  let i = 0;
  let sent = 0;
  let throttled = false;
  const worker = async () => {
    while (!throttled) {
      const p = pairs[i++ % pairs.length]!;
      sent++;
      const res = await fetch(`${baseUrl}/v1.0/groups/${p.group}/members/${p.user}/$ref`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      });
      await res.arrayBuffer();
      if (res.status === 429) throttled = true;
      else if (res.status !== 404 && res.status !== 204) throw new Error(`drain: unexpected ${res.status}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return sent;
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadAtStart = loadAverage();
  log(`size ${size}: starting the emulator (child process)`);
  const emulator = await startEmulatorProcess(size, Number(values.seed));
  const tdb = await createTestDatabase('prov_bench');
  const tbus = await createTestBus({ ackWaitMs: 30_000 });
  const secretKeys = `b1:${randomBytes(32).toString('base64')}`;
  const box = SecretBox.fromConfig(secretKeys);
  const app = emulator.config.apps.find((a) => a.name === 'provisioning')!;
  const host = new URL(emulator.config.baseUrl).hostname;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await tbus.destroy().catch(() => undefined);
    await tdb.drop().catch(() => undefined);
    await emulator.close();
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanup().finally(() => process.exit(130)));
  try {
    await emulator.settings({ latencyMs: LATENCY_MS, jitterMs: 0, faultRate: 0, throttle: { enabled: true, writesPer150s: QUOTA.writes } });
    const emulatorSettings = (await (await fetch(`${emulator.config.baseUrl}/_emulator/settings`)).json()) as EmulatorSettings;
    const writeLatencyMs = LATENCY_MS * (emulatorSettings.methodLatencyFactor?.POST ?? 1);
    log(`write latency ${writeLatencyMs} ms (POST), read latency ${LATENCY_MS} ms`);
    const tenant = await emulator.exportTenant();
    const connectorId = await insertConnector(tdb.db, box, emulator.config, app);
    const seedStart = Date.now();
    await seedFromExport(tdb.db, connectorId, tenant);
    log(`seeded ${tenant.users.length} users, ${tenant.groups.length} groups in ${((Date.now() - seedStart) / 1000).toFixed(1)} s`);
    const pairs = pickPairs(tenant, 3 * GRANTS + SINGLES);
    const ours = pairs.slice(0, GRANTS);
    const theirs = pairs.slice(GRANTS, 2 * GRANTS);
    // never granted: deleting them is a no-op write (404) that still spends the bucket
    const spare = pairs.slice(2 * GRANTS, 3 * GRANTS);
    const singles = pairs.slice(3 * GRANTS);
    const ids = new Map<string, string>();
    for (const r of await tdb.db.selectFrom('resources').select(['id', 'external_id']).where('connector_id', '=', connectorId).execute())
      ids.set(r.external_id, r.id);
    for (const e of await tdb.db
      .selectFrom('entitlements')
      .select(['id', 'key'])
      .where('connector_id', '=', connectorId)
      .where('slug', '=', 'member')
      .execute())
      ids.set(e.key, e.id);

    // Same process, same (authority, tenant, app, Graph root) as the worker: one shared governor.
    const graph = new GraphClient({
      tenantId: emulator.config.tenantId,
      clientId: app.clientId,
      auth: { kind: 'secret', clientSecret: app.clientSecret },
      graphBaseUrl: emulator.config.baseUrl,
      authorityHost: emulator.config.authorityHost,
    });
    const worker = await startProvisionWorker({
      DATABASE_URL: tdb.url,
      NATS_URL: TEST_NATS_URL,
      BUS_NAMESPACE: tbus.namespace,
      WARDEN_SECRET_KEYS: secretKeys,
      LOG_LEVEL: 'warn',
      PROVISION_CONCURRENCY: String(values.concurrency),
      EXPIRY_SCAN_INTERVAL_MS: '10000',
      ALLOWED_GRAPH_HOSTS: new URL(emulator.config.baseUrl).host,
    });

    // ---- Unloaded latency: one grant at a time, bucket not binding
    const single: number[] = [];
    for (const p of singles) {
      const t = Date.now();
      const task = await requestProvisioning(tdb.db, tbus.bus, {
        action: 'GRANT',
        entitlementId: ids.get(memberKey(p.group))!,
        principalId: ids.get(p.user)!,
        requestedBy: 'bench-single',
      });
      for (;;) {
        const row = await tdb.db.selectFrom('provisioning_tasks').select('status').where('id', '=', task.id).executeTakeFirstOrThrow();
        if (row.status === 'SUCCEEDED' || row.status === 'FAILED') break;
        await new Promise((r) => setTimeout(r, 2));
      }
      single.push(Date.now() - t);
    }
    single.sort((a, b) => a - b);
    const unloaded = { grants: SINGLES, p50Ms: percentile(single, 50), p99Ms: percentile(single, 99) };
    log(`unloaded: p50 ${unloaded.p50Ms} ms, p99 ${unloaded.p99Ms} ms per grant (request → SUCCEEDED, one at a time)`);

    // ---- Warden: requestProvisioning → worker → Graph → write-through → SUCCEEDED
    log('draining the write bucket');
    let drained = await drainWriteBucket(graph, emulator.config.baseUrl, spare);
    let dryAt = Date.now();
    log(`bucket dry after ${drained} writes; requesting ${GRANTS} grants`);
    const s0 = await emulator.stats();
    const t0 = Date.now();
    // All 1,000 arrive as one burst (16 requesters in parallel), so the quota, not the arrival rate, sets the pace.
    let next = 0;
    const requester = async () => {
      while (next < ours.length) {
        const p = ours[next++]!;
        await requestProvisioning(tdb.db, tbus.bus, {
          action: 'GRANT',
          entitlementId: ids.get(memberKey(p.group))!,
          principalId: ids.get(p.user)!,
          requestedBy: 'bench',
        });
      }
    };
    await Promise.all(Array.from({ length: 16 }, requester));
    const requestSeconds = (Date.now() - t0) / 1000;
    log(`requested ${GRANTS} grants in ${requestSeconds.toFixed(1)} s`);
    let last = '';
    for (;;) {
      const rows = await tdb.db.selectFrom('provisioning_tasks').select(['status']).where('requested_by', '=', 'bench').execute();
      const done = rows.filter((r) => r.status === 'SUCCEEDED' || r.status === 'FAILED').length;
      const line = `${done} / ${GRANTS}`;
      if (line !== last && done % 100 === 0) log(`  ${line} done`);
      last = line;
      if (done === GRANTS) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const s1 = await emulator.stats();
    const tasks = await tdb.db
      .selectFrom('provisioning_tasks')
      .select(['status', 'requested_at', 'completed_at'])
      .where('requested_by', '=', 'bench')
      .execute();
    const end = Math.max(...tasks.map((t) => ms(t.completed_at)));
    const lat = tasks.map((t) => ms(t.completed_at) - ms(t.requested_at)).sort((a, b) => a - b);
    const wall = (end - t0) / 1000;
    const warden: PhaseResult = {
      writes: GRANTS,
      failures: tasks.filter((t) => t.status !== 'SUCCEEDED').length,
      wallSeconds: wall,
      writesPerSecond: GRANTS / wall,
      shareOfQuota: GRANTS / wall / QUOTA_RATE,
      p50Ms: percentile(lat, 50),
      p99Ms: percentile(lat, 99),
      emulator: { requests: s1.requests - s0.requests, writes: s1.writes - s0.writes, throttled: s1.throttled - s0.throttled },
      startGapSeconds: (t0 - dryAt) / 1000,
      requestSeconds,
    };
    const memberCheck = await emulator.exportTenant();
    const missing = ours.filter((p) => !memberCheck.groups.find((g) => g.id === p.group)!.members.includes(p.user)).length;
    if (missing > 0) warden.failures += missing;
    await worker.close();

    // ---- Baseline: the SDK's default client (RetryHandler: 3 retries, Retry-After), one write at a time
    log('draining the write bucket for the baseline');
    drained = await drainWriteBucket(graph, emulator.config.baseUrl, spare);
    dryAt = Date.now();
    log(`bucket dry after ${drained} writes`);
    const credential = new ClientSecretCredential(emulator.config.tenantId, app.clientId, app.clientSecret, {
      authorityHost: emulator.config.authorityHost,
      disableInstanceDiscovery: true,
    });
    const sdk = Client.initWithMiddleware({
      authProvider: new TokenCredentialAuthenticationProvider(credential, { scopes: ['https://graph.microsoft.com/.default'] }),
      baseUrl: `${emulator.config.baseUrl}/`,
      defaultVersion: 'v1.0',
      customHosts: new Set([host]),
    });
    await credential.getToken('https://graph.microsoft.com/.default');
    log(`baseline: ${GRANTS} sequential SDK writes`);
    const b0 = await emulator.stats();
    const bt0 = Date.now();
    const blat: number[] = [];
    let bfail = 0;
    for (const p of theirs) {
      const t = Date.now();
      try {
        await sdk
          .api(`/groups/${p.group}/members/$ref`)
          .post({ '@odata.id': `${emulator.config.baseUrl}/v1.0/directoryObjects/${p.user}` });
      } catch {
        bfail++;
      }
      blat.push(Date.now() - t);
      if (blat.length % 100 === 0) log(`  ${blat.length} / ${GRANTS} done`);
    }
    const bwall = (Date.now() - bt0) / 1000;
    const b1 = await emulator.stats();
    blat.sort((a, b) => a - b);
    const baseline: PhaseResult = {
      writes: GRANTS,
      failures: bfail,
      wallSeconds: bwall,
      writesPerSecond: (GRANTS - bfail) / bwall,
      shareOfQuota: (GRANTS - bfail) / bwall / QUOTA_RATE,
      p50Ms: percentile(blat, 50),
      p99Ms: percentile(blat, 99),
      emulator: { requests: b1.requests - b0.requests, writes: b1.writes - b0.writes, throttled: b1.throttled - b0.throttled },
      startGapSeconds: (bt0 - dryAt) / 1000,
    };

    const rows: [string, string, string][] = [
      ['', 'warden (worker, 1,000 tasks)', 'baseline (SDK, sequential)'],
      ['wall time (s)', warden.wallSeconds.toFixed(1), baseline.wallSeconds.toFixed(1)],
      ['successful writes / s', warden.writesPerSecond.toFixed(2), baseline.writesPerSecond.toFixed(2)],
      [
        `share of write quota (${QUOTA_RATE}/s)`,
        `${(warden.shareOfQuota * 100).toFixed(1)} %`,
        `${(baseline.shareOfQuota * 100).toFixed(1)} %`,
      ],
      ['p50 latency (ms), 1,000 at once', String(warden.p50Ms), String(baseline.p50Ms)],
      ['p99 latency (ms), 1,000 at once', String(warden.p99Ms), String(baseline.p99Ms)],
      ['failures', String(warden.failures), String(baseline.failures)],
      ['unloaded p50 / p99 (ms), one at a time', `${unloaded.p50Ms} / ${unloaded.p99Ms}`, '—'],
      ['Graph requests', String(warden.emulator.requests), String(baseline.emulator.requests)],
      ['what concurrency buys (writes/s ratio)', `${(warden.writesPerSecond / baseline.writesPerSecond).toFixed(1)}×`, '1×'],
      ['429 answers', String(warden.emulator.throttled), String(baseline.emulator.throttled)],
    ];
    const w0 = Math.max(...rows.map((r) => r[0].length));
    const w1 = Math.max(...rows.map((r) => r[1].length));
    const table = rows.map((r) => `${r[0].padEnd(w0)}  ${r[1].padStart(w1)}  ${r[2].padStart(26)}`).join('\n');
    process.stdout.write(
      `\nprovision bench, size ${size}, ${LATENCY_MS} ms read / ${writeLatencyMs} ms write latency, write quota ${QUOTA.writes}/${QUOTA.seconds} s (bucket drained before each phase)\n${table}\n`,
    );
    const correct = warden.failures === 0;
    const file = writeBenchResult({
      bench: 'provision',
      size,
      command: `npm run bench:provision -- --size ${size}`,
      caveats: [
        `emulator write latency ${writeLatencyMs} ms (3× the ${LATENCY_MS} ms read; no published per-method figure, see the emulator README)`,
        'each phase starts with the write bucket drained (first 429 seen)',
        'latency = request → SUCCEEDED (warden) / call → response (baseline)',
      ],
      ours: {
        writesPerSecond: round(warden.writesPerSecond, 2),
        shareOfQuota: round(warden.shareOfQuota, 3),
        p50Ms: warden.p50Ms,
        p99Ms: warden.p99Ms,
        failures: warden.failures,
        wallSeconds: round(warden.wallSeconds, 1),
      },
      baseline: {
        writesPerSecond: round(baseline.writesPerSecond, 2),
        shareOfQuota: round(baseline.shareOfQuota, 3),
        p50Ms: baseline.p50Ms,
        p99Ms: baseline.p99Ms,
        failures: baseline.failures,
        wallSeconds: round(baseline.wallSeconds, 1),
      },
      ratio: { writesPerSecond: round(warden.writesPerSecond / baseline.writesPerSecond, 2) },
      correct,
      targets: { '≥ 90% of the write quota': warden.shareOfQuota >= 0.9, 'zero failures': correct },
      details: {
        grants: GRANTS,
        latencyMs: LATENCY_MS,
        writeLatencyMs,
        quota: { ...QUOTA, perSecond: QUOTA_RATE },
        concurrency: Number(values.concurrency),
        tenant: { users: tenant.users.length, groups: tenant.groups.length },
        warden,
        unloaded,
        baseline,
        totalSeconds: (Date.now() - started) / 1000,
      },
      loadAtStart,
    });
    log(`wrote ${file}`);
  } finally {
    await cleanup();
  }
}

await main();

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
