/**
 * npm run bench:requests -- --size M
 *
 * 1,000 access requests from 1,000 members, each approved by its manager, end to end: GraphQL
 * (development tokens carrying the members' and managers' Entra tid/oid) → gateway → access-model
 * workflow → the grant task → provision worker → Graph (the emulator in a child process, 50 ms read
 * latency and its default 150 ms write latency, Graph's write quota 3,000 writes / 150 s) → write-through → governance worker
 * (APPROVED → ACTIVE). As in bench:provision, the app's write bucket is EMPTY when the approvals
 * start (spent with no-op writes until the emulator answers 429), so Graph admits 20 writes/s and
 * "share of the quota" = memberships written per second ÷ 20.
 * Reported: p50/p99 from the (last and only) approval to ACTIVE, the share of the write quota, and
 * what was lost (requests not ACTIVE, memberships missing in the tenant). Before the burst, a few
 * requests approved one at a time give the pipeline's own latency with the bucket not binding.
 * Writes bench/results/requests-<size>.json (no baseline: nothing else runs this workflow).
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { setAccessPolicy } from '@warden/access-model';
import { createTestBus } from '@warden/bus/testing';
import { createTestDatabase } from '@warden/database/testing';
// The gateway's decorators need its own tsconfig: it runs as a child process (as in bench:gateway).
import { mintToken } from '../../apps/gateway/src/auth/jwt';
import { startGovernanceWorker } from '@warden/governance-worker';
import { GraphClient } from '@warden/graph-core';
import type { TenantExport } from '@warden/graph-emulator';
import { startProvisionWorker } from '@warden/provision-worker';
import { SecretBox } from '@warden/service-kit';
import { insertConnector, seedFromExport } from '../../apps/provision-worker/test/support/seed';
import { startEmulatorProcess } from '../support/emulator-process';
import { freePorts, percentile, rerunWithEmulatorCa, serviceEnv } from '../support/process';
import { loadAverage, writeBenchResult } from '../support/result';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const REQUESTS = 1_000;
const SINGLES = 20;
const QUOTA = { writes: 3_000, seconds: 150 };
const QUOTA_RATE = QUOTA.writes / QUOTA.seconds;
const LATENCY_MS = 50;
const DURATION_SECONDS = 3_600;

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'M' },
    seed: { type: 'string', default: '42' },
    concurrency: { type: 'string', default: '32' },
  },
});
const size = String(values.size).toUpperCase();
if (!['M', 'L', 'XL'].includes(size)) throw new Error('--size must be M, L or XL (1,020 members with managers are needed)');

await rerunWithEmulatorCa();

function log(msg: string): void {
  process.stderr.write(`[bench:requests] ${msg}\n`);
}

const ms = (v: unknown): number => new Date(v as Date).getTime();

type Pick = { user: string; manager: string; group: string };

/** Members with a manager, each once, each asking for a writable group it is not in (round-robin). */
function pickMembers(t: TenantExport, n: number): Pick[] {
  const groups = t.groups.filter((g) => {
    const types = (g.groupTypes as string[] | undefined) ?? [];
    return (
      g.onPremisesSyncEnabled !== true &&
      !types.includes('DynamicMembership') &&
      !(g.mailEnabled === true && !types.includes('Unified')) &&
      g.isAssignableToRole !== true
    );
  });
  const out: Pick[] = [];
  let k = 0;
  for (const u of t.users) {
    const manager = u['managerId'] as string | null;
    if (!manager || u['userType'] === 'Guest') continue;
    for (let tries = 0; tries < groups.length; tries++) {
      const g = groups[k++ % groups.length]!;
      if (!g.members.includes(String(u.id))) {
        out.push({ user: String(u.id), manager, group: g.id });
        break;
      }
    }
    if (out.length === n) return out;
  }
  throw new Error(`the tenant has only ${out.length} members with a manager; use a larger --size`);
}

/** Spends the app's write quota with no-op DELETEs (404 still counts as a write) until Graph answers 429. */
async function drainWriteBucket(baseUrl: string, token: string, picks: Pick[]): Promise<number> {
  let i = 0;
  let sent = 0;
  let throttled = false;
  const worker = async () => {
    while (!throttled) {
      const p = picks[i++ % picks.length]!;
      sent++;
      // The member is not in the group yet (nothing approved): a no-op write, 404.
      const res = await fetch(`${baseUrl}/v1.0/groups/${p.group}/members/${p.user}/$ref`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      });
      await res.arrayBuffer();
      if (res.status === 429) throttled = true;
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
  const tdb = await createTestDatabase('requests_bench');
  const tbus = await createTestBus({ ackWaitMs: 30_000 });
  const secretKeys = `b1:${randomBytes(32).toString('base64')}`;
  const jwtSecret = randomBytes(32).toString('base64url');
  const box = SecretBox.fromConfig(secretKeys);
  const app = emulator.config.apps.find((a) => a.name === 'provisioning')!;
  const stops: Array<() => Promise<void>> = [];
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await tbus.destroy().catch(() => undefined);
    await tdb.drop().catch(() => undefined);
    await emulator.close();
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanup().finally(() => process.exit(130)));
  try {
    await emulator.settings({ latencyMs: LATENCY_MS, jitterMs: 0, faultRate: 0, throttle: { enabled: true, writesPer150s: QUOTA.writes } });
    const tenant = await emulator.exportTenant();
    const connectorId = await insertConnector(tdb.db, box, emulator.config, app);
    await seedFromExport(tdb.db, connectorId, tenant);
    // The managers, as the sync writes them (resources.profile.managerId).
    const managers = tenant.users.filter((u) => u['managerId']).map((u) => [String(u.id), String(u['managerId'])] as const);
    await sql`
      UPDATE resources r SET profile = r.profile || jsonb_build_object('managerId', m.manager)
      FROM unnest(${managers.map((m) => m[0])}::text[], ${managers.map((m) => m[1])}::text[]) AS m(id, manager)
      WHERE r.connector_id = ${connectorId} AND r.external_id = m.id`.execute(tdb.db);
    log(`seeded ${tenant.users.length} users (${managers.length} with a manager), ${tenant.groups.length} groups`);
    await setAccessPolicy(
      tdb.db,
      { subject: 'bench-admin' },
      { connectorId, requestable: true, steps: [{ kind: 'MANAGER', subjects: ['bench-admin'] }], maxDurationSeconds: 86_400 },
    );
    const picks = pickMembers(tenant, REQUESTS + SINGLES);
    const entitlementOf = new Map(
      (
        await tdb.db
          .selectFrom('entitlements')
          .select(['id', 'resource_external_id'])
          .where('connector_id', '=', connectorId)
          .where('slug', '=', 'member')
          .where('resource_type', '=', 'GROUP')
          .execute()
      ).map((e) => [e.resource_external_id, e.id]),
    );

    const common = serviceEnv({ databaseUrl: tdb.url, busNamespace: tbus.namespace, secretKeys, graphBaseUrls: [emulator.config.baseUrl] });
    const provision = await startProvisionWorker({
      ...common,
      PROVISION_CONCURRENCY: String(values.concurrency),
      EXPIRY_SCAN_INTERVAL_MS: '10000',
    });
    stops.push(() => provision.close());
    const governance = await startGovernanceWorker({ ...common, NOTIFY_LOG: 'false' });
    stops.push(() => governance.close());
    const port = (await freePorts(1))[0]!;
    const gatewayProc = spawn(path.join(ROOT, 'node_modules/.bin/tsx'), ['src/main.ts'], {
      cwd: path.join(ROOT, 'apps/gateway'),
      // Development tokens (one per member and manager) are refused with NODE_ENV=production, the
      // gateway's default; the quota, not the gateway's CPU, sets this bench's pace.
      env: {
        ...process.env,
        ...common,
        NODE_ENV: 'development',
        PORT: String(port),
        HOST: '127.0.0.1',
        AUTH_JWT_SECRET: jwtSecret,
        DB_POOL_SIZE: '20',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const gatewayExited = new Promise<void>((resolve) => gatewayProc.once('exit', () => resolve()));
    stops.push(async () => {
      gatewayProc.kill('SIGTERM');
      await gatewayExited;
    });
    const gateway = { url: `http://127.0.0.1:${port}/graphql` };
    for (let ready = false; !ready;) {
      if (gatewayProc.exitCode !== null) throw new Error('the gateway exited at start');
      ready = await fetch(`http://127.0.0.1:${port}/readyz`)
        .then((r) => r.ok)
        .catch(() => false);
      if (!ready) await new Promise((res) => setTimeout(res, 200));
    }
    const tokens = new Map<string, string>();
    const tokenOf = async (oid: string) => {
      let t = tokens.get(oid);
      if (!t) {
        t = await mintToken(
          { secret: jwtSecret, issuer: 'warden' },
          { sub: `sub-${oid}`, role: 'MEMBER', tid: emulator.config.tenantId, oid },
        );
        tokens.set(oid, t);
      }
      return t;
    };
    const gql = async <T>(token: string, query: string, variables: Record<string, unknown>): Promise<T> => {
      const res = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await res.json()) as { data?: T; errors?: unknown[] };
      if (body.errors?.length || !body.data) throw new Error(`GraphQL: ${JSON.stringify(body.errors)}`);
      return body.data;
    };
    const request = async (p: Pick) =>
      (
        await gql<{ requestAccess: { id: string; status: string } }>(
          await tokenOf(p.user),
          'mutation($i: AccessRequestInput!) { requestAccess(input: $i) { id status } }',
          { i: { entitlementId: entitlementOf.get(p.group), justification: 'bench', durationSeconds: DURATION_SECONDS } },
        )
      ).requestAccess;
    const approve = async (p: Pick, id: string) =>
      gql(await tokenOf(p.manager), 'mutation($id: ID!) { approveAccessRequest(id: $id) { status } }', { id });
    const statusOf = async (ids: string[]) =>
      tdb.db.selectFrom('access_requests').select(['id', 'status', 'approved_at', 'updated_at']).where('id', 'in', ids).execute();

    // ---- The pipeline's own latency: one request at a time, approved, bucket not binding.
    const single: number[] = [];
    for (const p of picks.slice(REQUESTS)) {
      const r = await request(p);
      await approve(p, r.id);
      for (;;) {
        const [row] = await statusOf([r.id]);
        if (row!.status === 'ACTIVE' || row!.status === 'FAILED') {
          single.push(ms(row!.updated_at) - ms(row!.approved_at));
          break;
        }
        await new Promise((res) => setTimeout(res, 5));
      }
    }
    single.sort((a, b) => a - b);
    const unloaded = { requests: SINGLES, p50Ms: percentile(single, 50), p99Ms: percentile(single, 99) };
    log(`unloaded: approval → ACTIVE p50 ${unloaded.p50Ms} ms, p99 ${unloaded.p99Ms} ms`);

    // ---- 1,000 members request (16 at a time through the gateway).
    const ours = picks.slice(0, REQUESTS);
    const ids = new Map<Pick, string>();
    let next = 0;
    const r0 = Date.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < ours.length) {
          const p = ours[next++]!;
          const r = await request(p);
          if (r.status !== 'PENDING') throw new Error(`request of ${p.user} is ${r.status}`);
          ids.set(p, r.id);
        }
      }),
    );
    const requestSeconds = (Date.now() - r0) / 1000;
    log(`${REQUESTS} requests PENDING in ${requestSeconds.toFixed(1)} s; draining the write bucket`);
    const drained = await drainWriteBucket(
      emulator.config.baseUrl,
      await new GraphClient({
        tenantId: emulator.config.tenantId,
        clientId: app.clientId,
        auth: { kind: 'secret', clientSecret: app.clientSecret },
        graphBaseUrl: emulator.config.baseUrl,
        authorityHost: emulator.config.authorityHost,
      }).getAccessToken(),
      ours,
    );
    const dryAt = Date.now();
    log(`bucket dry after ${drained} writes; ${REQUESTS} managers approve`);

    // ---- Their managers approve (16 at a time through the gateway); the quota sets the pace after.
    const s0 = await emulator.stats();
    const t0 = Date.now();
    next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < ours.length) {
          const p = ours[next++]!;
          await approve(p, ids.get(p)!);
        }
      }),
    );
    const approveSeconds = (Date.now() - t0) / 1000;
    log(`${REQUESTS} approvals in ${approveSeconds.toFixed(1)} s`);
    const all = [...ids.values()];
    let last = -1;
    const deadline = Date.now() + 15 * 60_000;
    let rows = await statusOf(all);
    for (;;) {
      rows = await statusOf(all);
      const done = rows.filter((r) => r.status === 'ACTIVE' || r.status === 'FAILED').length;
      if (Math.floor(done / 100) !== Math.floor(last / 100)) log(`  ${done} / ${REQUESTS} settled`);
      last = done;
      if (done === REQUESTS || Date.now() > deadline) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    const s1 = await emulator.stats();
    const active = rows.filter((r) => r.status === 'ACTIVE');
    const lat = active.map((r) => ms(r.updated_at) - ms(r.approved_at)).sort((a, b) => a - b);
    const end = Math.max(...active.map((r) => ms(r.updated_at)));
    const wall = (end - t0) / 1000;
    const check = await emulator.exportTenant();
    const members = new Map(check.groups.map((g) => [g.id, new Set(g.members)]));
    const missing = ours.filter((p) => !members.get(p.group)!.has(p.user)).length;
    const lost = REQUESTS - active.length + missing;
    const tasks = await tdb.db
      .selectFrom('provisioning_tasks')
      .select('id')
      .where('namespace', '=', 'system')
      .where('idempotency_key', 'like', 'access-request:%')
      .execute();
    const result = {
      size,
      at: new Date().toISOString(),
      requests: REQUESTS,
      latencyMs: LATENCY_MS,
      quota: { ...QUOTA, perSecond: QUOTA_RATE },
      concurrency: Number(values.concurrency),
      tenant: { users: tenant.users.length, groups: tenant.groups.length },
      method:
        'requests and approvals through the gateway (16 callers each); the write bucket drained before the approvals; latency = approved_at → the ACTIVE transition (updated_at); share = memberships/s over first approval → last ACTIVE ÷ 20/s',
      requestSeconds,
      approveSeconds,
      startGapSeconds: (t0 - dryAt) / 1000,
      wallSeconds: wall,
      writesPerSecond: active.length / wall,
      shareOfQuota: active.length / wall / QUOTA_RATE,
      p50Ms: percentile(lat, 50),
      p99Ms: percentile(lat, 99),
      active: active.length,
      failed: rows.filter((r) => r.status === 'FAILED').length,
      missingInTenant: missing,
      lost,
      grantTasks: tasks.length,
      emulator: { requests: s1.requests - s0.requests, writes: s1.writes - s0.writes, throttled: s1.throttled - s0.throttled },
      unloaded,
      totalSeconds: (Date.now() - started) / 1000,
    };
    const table = [
      ['wall time, first approval → last ACTIVE (s)', wall.toFixed(1)],
      ['memberships written / s', result.writesPerSecond.toFixed(2)],
      [`share of write quota (${QUOTA_RATE}/s)`, `${(result.shareOfQuota * 100).toFixed(1)} %`],
      ['approval → ACTIVE p50 / p99 (ms), 1,000 at once', `${result.p50Ms} / ${result.p99Ms}`],
      ['approval → ACTIVE p50 / p99 (ms), one at a time', `${unloaded.p50Ms} / ${unloaded.p99Ms}`],
      ['lost (not ACTIVE, or missing in the tenant)', String(lost)],
      [`grant tasks (one per request: ${REQUESTS} + ${SINGLES} unloaded)`, String(tasks.length)],
      ['Graph requests / 429 answers', `${result.emulator.requests} / ${result.emulator.throttled}`],
    ];
    const w = Math.max(...table.map((r) => r[0]!.length));
    process.stdout.write(
      `\nrequests bench, size ${size}, ${LATENCY_MS} ms latency, write quota ${QUOTA.writes}/${QUOTA.seconds} s (bucket drained before the approvals)\n${table.map((r) => `${r[0]!.padEnd(w)}  ${r[1]}`).join('\n')}\n`,
    );
    const file = writeBenchResult({
      bench: 'requests',
      size,
      command: `npm run bench:requests -- --size ${size}`,
      caveats: [
        'the write bucket is drained before the approvals; latency = approval → ACTIVE, queued behind the quota',
        `emulator write latency 3× the ${LATENCY_MS} ms read (its default)`,
        'gateway with NODE_ENV=development (development tokens)',
      ],
      ours: {
        writesPerSecond: Math.round(result.writesPerSecond * 100) / 100,
        shareOfQuota: Math.round(result.shareOfQuota * 1000) / 1000,
        p50Ms: result.p50Ms,
        p99Ms: result.p99Ms,
        unloadedP50Ms: unloaded.p50Ms,
        unloadedP99Ms: unloaded.p99Ms,
        lost,
      },
      baseline: null,
      ratio: {},
      correct: lost === 0,
      targets: { '≥ 90% of the write quota': result.shareOfQuota >= 0.9, '0 lost': lost === 0 },
      details: result,
      loadAtStart,
    });
    log(`wrote ${path.relative(ROOT, file)}`);
  } finally {
    await cleanup();
  }
}

await main();
