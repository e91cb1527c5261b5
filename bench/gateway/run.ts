/**
 * npm run bench:gateway -- --size M|L [--duration 10] [--connections 50]
 *
 * Syncs the generated tenant into a fresh database with the real sync worker, then starts the
 * gateway twice (own processes: as configured by default, and with RESPONSE_CACHE_MB=0 to show the
 * cost of a cache miss) and PostGraphile v4 (own process, the baseline) on that database, and drives
 * the four dashboard queries of issue 7 through each with autocannon (50 connections). Prints a
 * table and writes bench/results/gateway-<size>.json.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import pg from 'pg';
import type { Kysely } from 'kysely';
import { ensureCa } from '@warden/graph-emulator';
import { requestSync } from '@warden/access-model';
import { createDb, migrateToLatest, type Database } from '@warden/database';
import { sealCredentials, SecretBox } from '@warden/service-kit';
import { createTestBus } from '@warden/bus/testing';
import { mintToken } from '../../apps/gateway/src/auth/jwt';
import { startEmulatorProcess } from '../support/emulator-process';
import { startSyncWorkerProcess } from '../support/sync-worker-process';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'M' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
  },
});
const size = String(values.size).toUpperCase();
if (!['S', 'M', 'L'].includes(size)) throw new Error('--size must be S, M or L');
const duration = Number(values.duration);
const connections = Number(values.connections);
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const log = (m: string) => process.stderr.write(`bench:gateway | ${m}\n`);

/**
 * The tenant as the product stores it: the emulator (own process, no latency, no throttling — this
 * bench is about reading, bench:sync measures syncing) synced by the real sync worker (own process).
 */
async function syncTenant(db: Kysely<Database>, dbUrl: string, secretKeys: string): Promise<string> {
  log(`generating the ${size} tenant in the emulator and running a full sync…`);
  const t0 = Date.now();
  const emu = await startEmulatorProcess(size, 1);
  const bus = await createTestBus({ ackWaitMs: 60_000 });
  const worker = startSyncWorkerProcess({
    DATABASE_URL: dbUrl,
    NATS_URL,
    BUS_NAMESPACE: bus.namespace,
    WARDEN_SECRET_KEYS: secretKeys,
    SCHEDULER_INTERVAL_MS: '0',
    LOG_LEVEL: 'info',
    ALLOWED_GRAPH_HOSTS: new URL(emu.config.baseUrl).host,
  });
  try {
    await emu.settings({ latencyMs: 0, jitterMs: 0, faultRate: 0, throttle: { enabled: false } });
    const app = emu.config.apps.find((a) => a.name === 'readonly')!;
    const { id } = await db
      .insertInto('connectors')
      .values({
        display_name: `Bench ${size}`,
        tenant_id: emu.config.tenantId,
        client_id: app.clientId,
        auth_method: 'CLIENT_SECRET',
        graph_base_url: emu.config.baseUrl,
        authority_host: emu.config.authorityHost,
        owners: ['bench'],
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .updateTable('connectors')
      .set({ secret_ciphertext: sealCredentials(SecretBox.fromConfig(secretKeys), id, { kind: 'secret', clientSecret: app.clientSecret }) })
      .where('id', '=', id)
      .execute();
    await worker.ready;
    const { run } = await requestSync(db, bus.bus, { connectorId: id, mode: 'FULL', requestedBy: 'bench' });
    for (;;) {
      const row = await db.selectFrom('sync_runs').select(['status', 'error']).where('id', '=', run.id).executeTakeFirstOrThrow();
      if (row.status === 'SUCCEEDED') break;
      if (row.status !== 'QUEUED' && row.status !== 'RUNNING')
        throw new Error(`the sync ${row.status}: ${row.error}\n${worker.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    log(`full sync took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return id;
  } finally {
    await worker.stop();
    await bus.destroy().catch(() => undefined);
    await emu.close();
  }
}

interface Query {
  name: string;
  gateway: { query: string; variables: Record<string, unknown> };
  postgraphile: { query: string; variables: Record<string, unknown> };
}

interface Measured {
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  non2xx: number;
}

async function main(): Promise<void> {
  const dbName = `warden_bench_gateway_${size.toLowerCase()}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  const dbUrl = url.toString();
  const db = createDb({ connectionString: dbUrl, max: 4 });
  await migrateToLatest(db);
  const secretKeys = `b:${randomBytes(32).toString('base64')}`;

  const connectorId = await syncTenant(db, dbUrl, secretKeys);
  // A few more connectors, each with run history, so the connectors list is not trivial.
  for (let i = 0; i < 9; i++) {
    const c = await db
      .insertInto('connectors')
      .values({ display_name: `Other ${i}`, auth_method: 'CLIENT_SECRET', owners: ['bench'] })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('sync_runs')
      .values({ connector_id: c.id, mode: 'FULL', status: 'SUCCEEDED', stats: '{}', checkpoint: '{}' })
      .execute();
  }
  // What autovacuum does on a live database shortly after a bulk write: statistics and the
  // visibility map (index-only scans for counts). Measuring before it ran would measure the load.
  await sql`VACUUM ANALYZE`.execute(db);
  const count = async (table: 'resources' | 'entitlements' | 'grants') =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('connector_id', '=', connectorId)
          .executeTakeFirstOrThrow()
      ).n,
    );
  const counts = { resources: await count('resources'), entitlements: await count('entitlements'), grants: await count('grants') };
  log(`synced ${counts.resources} resources, ${counts.entitlements} entitlements, ${counts.grants} grants`);
  await sql.raw(readFileSync(path.join(ROOT, 'bench/gateway/postgraphile-functions.sql'), 'utf8')).execute(db);
  const connector = { id: connectorId };

  // Parameters: the most common surname-like token among users, the largest group, the user holding most grants.
  const term = (
    await sql<{ w: string }>`
    SELECT w FROM (SELECT split_part(display_name, ' ', 2) AS w FROM resources WHERE connector_id = ${connector.id}::uuid AND type = 'USER') s
    WHERE length(w) >= 3 GROUP BY w ORDER BY count(*) DESC LIMIT 1`.execute(db)
  ).rows[0]!.w.toLowerCase();
  const bigGroup = (
    await sql<{ id: string; n: number }>`
    SELECT e.id, count(*)::int AS n FROM grants g JOIN entitlements e ON e.connector_id = g.connector_id AND e.key = g.entitlement_key
    WHERE g.connector_id = ${connector.id}::uuid AND e.resource_type = 'GROUP' AND e.slug = 'member' GROUP BY e.id ORDER BY n DESC LIMIT 1`.execute(
      db,
    )
  ).rows[0]!;
  const user = (
    await sql<{ id: string; n: number }>`
    SELECT r.id, count(*)::int AS n FROM grants g JOIN resources r ON r.connector_id = g.connector_id AND r.external_id = g.principal_external_id
    WHERE g.connector_id = ${connector.id}::uuid AND r.type = 'USER' GROUP BY r.id ORDER BY n DESC LIMIT 1`.execute(db)
  ).rows[0]!;
  await db.destroy();
  log(`search term '${term}', group with ${bigGroup.n} members, user with ${user.n} grants`);

  const queries: Query[] = [
    {
      name: 'connectors list',
      gateway: { query: '{ connectors { totalCount edges { node { id displayName status lastSyncRun { status } } } } }', variables: {} },
      postgraphile: {
        query:
          '{ allConnectors { totalCount nodes { id displayName status syncRunsByConnectorId(first: 1, orderBy: QUEUED_AT_DESC) { nodes { status } } } } }',
        variables: {},
      },
    },
    {
      name: 'users search, page of 50',
      gateway: {
        query:
          'query($c: ID!, $t: String) { resources(connectorId: $c, type: USER, search: $t, first: 50) { totalCount edges { node { id displayName profile } } } }',
        variables: { c: connector.id, t: term },
      },
      postgraphile: {
        query:
          'query($c: UUID!, $t: String!) { searchResources(connector: $c, kind: "USER", term: $t, first: 50) { totalCount nodes { id displayName profile } } }',
        variables: { c: connector.id, t: term },
      },
    },
    {
      name: 'large group grants, page of 100 with principal names',
      gateway: {
        query:
          'query($e: ID!) { entitlement(id: $e) { grants(first: 100) { totalCount edges { node { id direct principal { displayName type } } } } } }',
        variables: { e: bigGroup.id },
      },
      postgraphile: {
        query:
          'query($e: UUID!) { entitlementById(id: $e) { holders(first: 100) { totalCount nodes { id direct principal { displayName type } } } } }',
        variables: { e: bigGroup.id },
      },
    },
    {
      name: "one user's grants with entitlement and resource names",
      gateway: {
        query:
          'query($r: ID!) { resource(id: $r) { grants(first: 100) { totalCount edges { node { id entitlement { displayName resource { displayName } } } } } } }',
        variables: { r: user.id },
      },
      postgraphile: {
        query:
          'query($r: UUID!) { resourceById(id: $r) { heldGrants(first: 100) { totalCount nodes { id entitlement { displayName resource { displayName } } } } } }',
        variables: { r: user.id },
      },
    },
  ];

  const children: ChildProcess[] = [];
  const stopAll = () => children.forEach((c) => c.kill('SIGTERM'));
  process.on('exit', stopAll);
  try {
    const jwtSecret = randomBytes(32).toString('base64url');
    const basePort = 4700 + Math.floor(Math.random() * 200);
    const gateway = (port: number, cacheMb: string) =>
      spawnQuiet(
        `gateway (RESPONSE_CACHE_MB=${cacheMb})`,
        path.join(ROOT, 'node_modules/.bin/tsx'),
        [path.join(ROOT, 'apps/gateway/src/main.ts')],
        {
          DATABASE_URL: dbUrl,
          NATS_URL,
          BUS_NAMESPACE: `bench-gw-${randomBytes(3).toString('hex')}`,
          WARDEN_SECRET_KEYS: secretKeys,
          AUTH_JWT_SECRET: jwtSecret,
          // Development tokens are never accepted in production, and this bench mints its tokens with
          // the CLI's secret. Unfavourable to Warden: graphql-js adds its development-only checks.
          NODE_ENV: 'development',
          PORT: String(port),
          HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
          DB_POOL_SIZE: '20',
          RESPONSE_CACHE_MB: cacheMb,
        },
      );
    children.push(gateway(basePort, '64'), gateway(basePort + 1, '0'));
    const graphql15 = ensureGraphql15();
    children.push(
      spawnQuiet(
        'postgraphile',
        process.execPath,
        [
          '--require',
          path.join(ROOT, 'bench/gateway/graphql15-shim.cjs'),
          path.join(ROOT, 'node_modules/postgraphile/cli.js'),
          '-c',
          dbUrl,
          '--schema',
          'public',
          '--host',
          '127.0.0.1',
          '--port',
          String(basePort + 200),
          '--disable-default-mutations',
          '--disable-query-log',
          '--dynamic-json',
          '--max-pool-size',
          '20',
        ],
        { GRAPHQL15_DIR: graphql15 },
      ),
    );
    const token = await mintToken({ secret: jwtSecret, issuer: 'warden' }, { sub: 'bench', role: 'VIEWER', ttl: '2h' });
    const auth = { authorization: `Bearer ${token}` };
    const cachedUrl = `http://127.0.0.1:${basePort}/graphql`;
    const uncachedUrl = `http://127.0.0.1:${basePort + 1}/graphql`;
    const pgUrl = `http://127.0.0.1:${basePort + 200}/graphql`;
    await waitForGraphql(cachedUrl, auth);
    await waitForGraphql(uncachedUrl, auth);
    await waitForGraphql(pgUrl, {});

    const rows: { query: string; gateway: Measured; gatewayUncached: Measured; postgraphile: Measured; sameRows: boolean }[] = [];
    for (const q of queries) {
      const a = countRows(await once(cachedUrl, auth, q.gateway));
      const b = countRows(await once(uncachedUrl, auth, q.gateway));
      const c = countRows(await once(pgUrl, {}, q.postgraphile));
      const sameRows = a === b && b === c;
      const gw = await measure(cachedUrl, auth, q.gateway);
      const gwu = await measure(uncachedUrl, auth, q.gateway);
      const pgr = await measure(pgUrl, {}, q.postgraphile);
      rows.push({ query: q.name, gateway: gw, gatewayUncached: gwu, postgraphile: pgr, sameRows });
      log(
        `${q.name}: gateway ${gw.reqPerSec.toFixed(0)} req/s p99 ${gw.p99Ms} ms | without cache ${gwu.reqPerSec.toFixed(0)} req/s p99 ${gwu.p99Ms} ms | PostGraphile ${pgr.reqPerSec.toFixed(0)} req/s p99 ${pgr.p99Ms} ms`,
      );
    }

    const ratio = (x: Measured, y: Measured) => (x.reqPerSec / y.reqPerSec).toFixed(2);
    const table = [
      `Gateway vs PostGraphile v4, size ${size} (${counts.resources} resources, ${counts.grants} grants, synced by the sync worker), ${connections} connections, ${duration} s per run, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
      '',
      '| query | gateway req/s | p50 / p99 ms | without response cache req/s | p50 / p99 ms | PostGraphile req/s | p50 / p99 ms | gateway ÷ PostGraphile (cache / no cache) | same rows |',
      '|---|---|---|---|---|---|---|---|---|',
      ...rows.map(
        (r) =>
          `| ${r.query} | ${r.gateway.reqPerSec.toFixed(0)} | ${r.gateway.p50Ms} / ${r.gateway.p99Ms} | ${r.gatewayUncached.reqPerSec.toFixed(0)} | ${r.gatewayUncached.p50Ms} / ${r.gatewayUncached.p99Ms} | ${r.postgraphile.reqPerSec.toFixed(0)} | ${r.postgraphile.p50Ms} / ${r.postgraphile.p99Ms} | ${ratio(r.gateway, r.postgraphile)} / ${ratio(r.gatewayUncached, r.postgraphile)} | ${r.sameRows ? 'yes' : 'NO'} |`,
      ),
    ].join('\n');
    process.stdout.write(`${table}\n`);
    const errors = rows.reduce((n, r) => n + r.gateway.errors + r.gateway.non2xx + r.gatewayUncached.errors + r.gatewayUncached.non2xx, 0);
    if (errors > 0) log(`WARNING: ${errors} gateway requests failed or answered non-2xx`);
    mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
    const out = path.join(ROOT, 'bench/results', `gateway-${size}.json`);
    writeFileSync(
      out,
      JSON.stringify(
        {
          size,
          at: new Date().toISOString(),
          connections,
          durationSeconds: duration,
          machine: { cpus: cpus().length, loadAverage: loadavg() },
          dataset: {
            source: 'emulator tenant (seed 1) synced by apps/sync-worker',
            ...counts,
            searchTerm: term,
            groupMembers: bigGroup.n,
            userGrants: user.n,
          },
          targets: {
            atLeastPostgraphile: rows.every((r) => r.gateway.reqPerSec >= r.postgraphile.reqPerSec),
            p99AtMost50ms: rows.every((r) => r.gateway.p99Ms <= 50),
          },
          results: rows,
        },
        null,
        2,
      ),
    );
    log(`wrote ${out}`);
  } finally {
    stopAll();
  }
}

/** graphql@15 for the baseline only, in .data/bench-deps (git-ignored), installed once with npm. */
function ensureGraphql15(): string {
  const prefix = path.join(ROOT, '.data/bench-deps');
  const dir = path.join(prefix, 'node_modules/graphql');
  const pkg = path.join(dir, 'package.json');
  const ok = () => existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version.startsWith('15.');
  if (!ok()) {
    log('installing graphql@15 for PostGraphile v4 into .data/bench-deps …');
    mkdirSync(prefix, { recursive: true });
    const r = spawnSync(
      'flock',
      [
        '/tmp/warden-npm.lock',
        'npm',
        'install',
        '--prefix',
        prefix,
        '--no-save',
        '--no-package-lock',
        '--no-audit',
        '--no-fund',
        'graphql@15.10.1',
      ],
      { stdio: 'inherit' },
    );
    if (r.status !== 0 || !ok()) throw new Error('could not install graphql@15 for the PostGraphile baseline');
  }
  return dir;
}

function spawnQuiet(name: string, cmd: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-2000);
  });
  child.on('exit', (code) => {
    if (code && code !== 0) log(`${name} exited with ${code}: ${tail}`);
  });
  return child;
}

async function waitForGraphql(url: string, headers: Record<string, string>): Promise<void> {
  for (let i = 0; i < 240; i++) {
    try {
      const r = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: '{"query":"{ __typename }"}',
      });
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not come up`);
}

async function once(
  url: string,
  headers: Record<string, string>,
  q: { query: string; variables: Record<string, unknown> },
): Promise<unknown> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(q) });
  const body = (await r.json()) as { data?: unknown; errors?: unknown[] };
  if (body.errors?.length || !body.data) throw new Error(`${url}: ${JSON.stringify(body).slice(0, 500)}`);
  return body.data;
}

/** Rows in the answer's first list (edges or nodes), to check both servers return the same page. */
function countRows(data: unknown): number {
  const text = JSON.stringify(data);
  const m = /"totalCount":(\d+)/.exec(text);
  return m ? Number(m[1]) : -1;
}

async function measure(
  url: string,
  headers: Record<string, string>,
  q: { query: string; variables: Record<string, unknown> },
): Promise<Measured> {
  const opts = { url, connections, method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(q) };
  await autocannon({ ...opts, duration: 2 }); // warm-up: JIT, pools, plan caches
  const r = await autocannon({ ...opts, duration });
  return {
    reqPerSec: r.requests.average,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests: r.requests.total,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  };
}

const { caCertPath } = await ensureCa();
if (process.env['NODE_EXTRA_CA_CERTS'] !== caCertPath) {
  // Node reads NODE_EXTRA_CA_CERTS only at start (the emulator speaks HTTPS): run again with it set.
  const child = spawn(process.execPath, process.execArgv.concat(process.argv.slice(1)), {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: caCertPath },
  });
  child.on('exit', (code) => process.exit(code ?? 1));
} else {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    },
  );
}
