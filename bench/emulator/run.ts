/**
 * Emulator throughput and latency. The emulator runs as its own process (the CLI), the load comes
 * from this one over HTTPS with certificate verification on (NODE_EXTRA_CA_CERTS).
 *
 *   npx tsx bench/emulator/run.ts [--size L] [--seed 1] [--seconds 10] [--concurrency 16]
 *
 * Writes bench/results/emulator-<size>.json. There is no baseline (nothing else serves this tenant);
 * the targets are judged on client-measured figures, which bound the server-side ones from above:
 * start-up including generation ≤ 5 s for L, one 999-user page p50 ≤ 20 ms.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureCa, resolveCounts, type EmulatorConfig, type TenantSize } from '../../packages/graph-emulator/src/index';
import { loadAverage, writeBenchResult } from '../support/result';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'L' },
    seed: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '16' },
  },
});
const size = String(values.size);
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);

const { caCertPath } = await ensureCa();
if (process.env['NODE_EXTRA_CA_CERTS'] !== caCertPath) {
  // NODE_EXTRA_CA_CERTS is read at startup: re-run this script with it set.
  const child = spawn(process.execPath, process.execArgv.concat(process.argv.slice(1)), {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: caCertPath },
  });
  child.on('exit', (code) => process.exit(code ?? 1));
} else {
  await main();
}

function pct(sorted: number[], p: number): number {
  return Math.round((sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0) * 100) / 100;
}

async function main(): Promise<void> {
  const loadAtStart = loadAverage();
  const t0 = performance.now();
  const emuProc = spawn(
    process.execPath,
    [
      path.join(here, '../../packages/graph-emulator/bin/graph-emulator.mjs'),
      '--size',
      size,
      '--seed',
      String(values.seed),
      '--no-throttle',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'warn' } },
  );
  const cfg = await new Promise<EmulatorConfig>((resolve) => {
    let buf = '';
    emuProc.stdout.setEncoding('utf8');
    emuProc.stdout.on('data', (d: string) => {
      buf += d;
      if (buf.includes('\n')) resolve(JSON.parse(buf.split('\n')[0] as string) as EmulatorConfig);
    });
  });
  const startMs = performance.now() - t0;
  const app = cfg.apps.find((a) => a.name === 'provisioning') as EmulatorConfig['apps'][number];
  const tok = await fetch(`${cfg.authorityHost}/${cfg.tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    body: new URLSearchParams({
      client_id: app.clientId,
      client_secret: app.clientSecret,
      grant_type: 'client_credentials',
      scope: 'https://graph.microsoft.com/.default',
    }),
  }).then((r) => r.json() as Promise<{ access_token: string }>);
  const headers = { authorization: `Bearer ${tok.access_token}` };
  const get = async (url: string): Promise<{ status: number; body: Record<string, unknown>; bytes: number }> => {
    const r = await fetch(url.startsWith('https') ? url : `${cfg.baseUrl}/v1.0${url}`, { headers });
    const text = await r.text();
    return { status: r.status, body: JSON.parse(text) as Record<string, unknown>, bytes: text.length };
  };
  const results: Record<string, unknown> = { size, startupMsIncludingGeneration: Math.round(startMs) };

  // 1. Latency of one 999-user page (default properties), sequential.
  const lat: number[] = [];
  let pageBytes = 0;
  for (let i = 0; i < 120; i++) {
    const s = performance.now();
    const r = await get('/users?$top=999');
    if (i >= 20) lat.push(performance.now() - s);
    pageBytes = r.bytes;
  }
  lat.sort((a, b) => a - b);
  results['page999'] = { p50ms: pct(lat, 0.5), p95ms: pct(lat, 0.95), bytes: pageBytes };

  // 2. Crawl every user with $top=999 nextLinks.
  {
    const s = performance.now();
    let url: string | undefined = '/users?$top=999&$select=id,displayName,userPrincipalName,accountEnabled,userType';
    let n = 0;
    while (url) {
      const r = await get(url);
      n += (r.body['value'] as unknown[]).length;
      url = r.body['@odata.nextLink'] as string | undefined;
    }
    const ms = performance.now() - s;
    results['crawlUsers'] = { users: n, ms: Math.round(ms), usersPerSec: Math.round((n / ms) * 1000) };
  }

  // 3. Throughput: concurrent requests for a fixed time.
  const load = async (name: string, make: (i: number) => Promise<unknown>): Promise<void> => {
    let done = 0;
    const until = performance.now() + seconds * 1000;
    const lats: number[] = [];
    await Promise.all(
      Array.from({ length: concurrency }, async (_, w) => {
        while (performance.now() < until) {
          const s = performance.now();
          await make(w * 1_000_000 + done);
          lats.push(performance.now() - s);
          done++;
        }
      }),
    );
    lats.sort((a, b) => a - b);
    results[name] = { requestsPerSec: Math.round(done / seconds), p50ms: pct(lats, 0.5), p95ms: pct(lats, 0.95), concurrency };
  };
  await load('rps_users_top100_select', () => get('/users?$top=100&$select=id,displayName'));
  const groupIds: string[] = [];
  for (let url: string | undefined = '/groups?$top=999&$select=id'; url;) {
    const r = await get(url);
    for (const g of r.body['value'] as { id: string }[]) groupIds.push(g.id);
    url = r.body['@odata.nextLink'] as string | undefined;
  }
  await load('rps_group_members_top999', (i) => get(`/groups/${groupIds[i % groupIds.length] as string}/members?$top=999&$select=id`));

  // 4. Full groups delta round with members and owners.
  {
    const s = performance.now();
    let url: string | undefined = '/groups/delta?$select=displayName,members,owners';
    let pages = 0;
    let links = 0;
    let deltaLink = '';
    while (url) {
      const r = await get(url);
      pages++;
      for (const g of r.body['value'] as Record<string, unknown[] | undefined>[])
        links += (g['members@delta']?.length ?? 0) + (g['owners@delta']?.length ?? 0);
      url = r.body['@odata.nextLink'] as string | undefined;
      if (!url) deltaLink = r.body['@odata.deltaLink'] as string;
    }
    const ms = performance.now() - s;
    results['groupsDeltaFullRound'] = { pages, links, ms: Math.round(ms), linksPerSec: Math.round((links / ms) * 1000) };
    const m0 = performance.now();
    const mut = await fetch(`${cfg.baseUrl}/_emulator/mutate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ count: 1000, seed: 7 }),
    }).then((r) => r.json() as Promise<{ changes: unknown[] }>);
    const mutateMs = performance.now() - m0;
    const d0 = performance.now();
    let items = 0;
    url = deltaLink;
    while (url) {
      const r = await get(url);
      items += (r.body['value'] as unknown[]).length;
      url = r.body['@odata.nextLink'] as string | undefined;
    }
    results['mutate1000'] = { changes: mut.changes.length, ms: Math.round(mutateMs) };
    results['groupsDeltaAfterMutate'] = { items, ms: Math.round(performance.now() - d0) };
  }

  // 5. $batch of 20 reads.
  {
    const body = JSON.stringify({
      requests: Array.from({ length: 20 }, (_, i) => ({ id: String(i), method: 'GET', url: '/users?$top=10&$select=id' })),
    });
    await load('rps_batch20', () =>
      fetch(`${cfg.baseUrl}/v1.0/$batch`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body }).then((r) =>
        r.text(),
      ),
    );
  }
  {
    const s = performance.now();
    const r = await fetch(`${cfg.baseUrl}/_emulator/export`);
    let bytes = 0;
    for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
    results['export'] = { ms: Math.round(performance.now() - s), megabytes: Math.round(bytes / 1e6) };
  }
  results['emulatorMemory'] = ((await fetch(`${cfg.baseUrl}/_emulator/stats`).then((r) => r.json())) as { memory: unknown }).memory;
  emuProc.kill('SIGTERM');
  const page = results['page999'] as { p50ms: number };
  const crawl = results['crawlUsers'] as { users: number; usersPerSec: number };
  const batch = results['rps_batch20'] as { requestsPerSec: number };
  const startup = Math.round(startMs);
  const correct = crawl.users === resolveCounts(size as TenantSize).users;
  const file = writeBenchResult({
    bench: 'emulator',
    size,
    command: `npx tsx bench/emulator/run.ts --size ${size}`,
    caveats: ['client-measured over HTTPS from a second process on the same 2-core box; start-up includes spawning Node'],
    ours: {
      startupMsIncludingGeneration: startup,
      page999P50Ms: page.p50ms,
      crawlUsersPerSecond: crawl.usersPerSec,
      batch20PerSecond: batch.requestsPerSec,
    },
    baseline: null,
    ratio: {},
    correct,
    targets: {
      ...(size === 'L' ? { 'generate L ≤ 5 s': startup <= 5_000 } : {}),
      'page of 999 users p50 ≤ 20 ms': page.p50ms <= 20,
    },
    details: results,
    loadAtStart,
  });
  console.error(`wrote ${path.relative(path.join(here, '../..'), file)}`);
  console.log(JSON.stringify(results, null, 2));
}
