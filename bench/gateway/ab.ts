/**
 * npx tsx bench/gateway/ab.ts --db <url of a database kept with --keep> --old <checkout> [--new <checkout>]
 *   [--shapes "group holders;effective access of a user"] [--n 300] [--rounds 2] [--warmup 100] [--seed 42]
 *
 * Old code against new code on the same kept database, CPU per request per shape (cpu.ts), the two
 * gateways measured alternately (old, new, old, new, …) so that a machine whose load drifts
 * affects both alike. Each gateway runs from its own checkout (`<checkout>/apps/gateway`; a checkout
 * made with `git archive` and the main tree's node_modules linked in is enough), cache off,
 * NODE_ENV=development with development tokens (the kept database's emulator is gone), a pool of 8.
 * Platform-role shapes only: the members' shapes need the emulator's sign-in. Prints one line per
 * measure (after `--warmup` requests per shape of another sequence, not counted) and a summary per shape: the mean of each side's rounds, and the load average.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createDb } from '@warden/database';
import { mintToken } from '../../apps/gateway/src/auth/jwt';
import type { CallerRole } from '../../apps/gateway/src/auth/roles';
import { freePorts } from '../support/process';
import { cpuPerShape, type ShapeCpu } from './cpu';
import { ROOT, spawnService, waitFor, type Service } from './setup';
import { isMemberShape, loadPopulation, SHAPES, type Caller, type Shape } from './workload';

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    old: { type: 'string' },
    new: { type: 'string', default: ROOT },
    shapes: { type: 'string' },
    n: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '100' },
    seed: { type: 'string', default: '42' },
  },
});
if (!values.db || !values.old) throw new Error('--db and --old are required');
const shapes = (values.shapes ? values.shapes.split(';').map((s) => s.trim()) : SHAPES.filter((s) => !isMemberShape(s))) as Shape[];
for (const s of shapes) if (!SHAPES.includes(s) || isMemberShape(s)) throw new Error(`not a platform-role shape: ${s}`);
const out = (m: string) => void process.stdout.write(`${m}\n`);
const load = () => loadavg()[0]!.toFixed(1);

const db = createDb({ connectionString: values.db, max: 2 });
const backends = new pg.Pool({ connectionString: values.db, max: 1 });
const secret = randomBytes(32).toString('base64url');
const issuer = 'warden-dev';

async function main(): Promise<void> {
  const main = await db
    .selectFrom('grants')
    .select('connector_id')
    .groupBy('connector_id')
    .orderBy((eb) => eb.fn.countAll(), 'desc')
    .executeTakeFirstOrThrow();
  const pop = await loadPopulation(db, main.connector_id, Number(values.seed));
  // 300 platform roles and 200 members, as the bench signs them in (the members' shapes are not measured here).
  const roles: CallerRole[] = ['SUPER_ADMIN', 'CONNECTOR_ADMIN', 'VIEWER', 'MEMBER', 'MEMBER'];
  const callers: Caller[] = Array.from({ length: 500 }, (_, i) => ({ role: roles[i % 5]!, sub: `ab-${i}`, oid: `ab-${i}` }));
  const tokens = await Promise.all(callers.map((c) => mintToken({ secret, issuer }, { sub: c.sub, role: c.role as CallerRole })));
  const backendPids = async () =>
    (await backends.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database()')).rows.map((r) => r.pid);

  const [port] = (await freePorts(1)) as [number];
  const start = async (side: 'old' | 'new'): Promise<Service> => {
    const dir = path.resolve(side === 'old' ? values.old! : values.new!, 'apps/gateway');
    const service = spawnService(
      `gateway (${side})`,
      ['--import', 'tsx', 'src/main.ts'],
      {
        DATABASE_URL: values.db!,
        NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
        BUS_NAMESPACE: `ab-${randomBytes(4).toString('hex')}`,
        WARDEN_SECRET_KEYS: `ab:${randomBytes(32).toString('base64')}`,
        NODE_ENV: 'development',
        AUTH_DEV_TOKENS: 'true',
        AUTH_JWT_SECRET: secret,
        AUTH_JWT_ISSUER: issuer,
        LOG_LEVEL: 'warn',
        PORT: String(port),
        HOST: '127.0.0.1',
        METRICS_PORT: String(port + 1000),
        DB_POOL_SIZE: '8',
        CONSOLE_DIR: 'none',
        RESPONSE_CACHE_MB: '0',
      },
      dir,
    );
    await waitFor(`gateway (${side})`, async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, service);
    return service;
  };

  const results: Record<'old' | 'new', ShapeCpu[][]> = { old: [], new: [] };
  const rounds = Number(values.rounds);
  for (let round = 0; round < rounds; round++)
    for (const side of ['old', 'new'] as const) {
      const service = await start(side);
      try {
        // A fresh process compiles as it goes: the first shape measured would pay for that alone.
        const server = { name: side, kind: 'gateway', url: `http://127.0.0.1:${port}/graphql`, pid: service.pid } as const;
        const drive = (n: number, seedOffset: number) =>
          cpuPerShape(server, pop, callers, tokens, backendPids, { n, concurrency: 4, seed: Number(values.seed) + seedOffset, shapes });
        if (Number(values.warmup) > 0) await drive(Number(values.warmup), 29);
        const before = load();
        const measured = await drive(Number(values.n), 17);
        results[side].push(measured);
        for (const s of measured)
          out(
            `round ${round + 1} ${side}: ${s.shape}: server ${s.serverMs} + Postgres ${s.postgresMs} ms (${s.errors} errors; load ${before} → ${load()})`,
          );
      } finally {
        await service.stop();
      }
    }
  const mean = (side: 'old' | 'new', shape: Shape, k: 'serverMs' | 'postgresMs') => {
    const v = results[side].map((r) => r.find((s) => s.shape === shape)?.[k] ?? NaN);
    return Math.round((v.reduce((a, b) => a + b, 0) / v.length) * 100) / 100;
  };
  out(`\n| shape | old: server + Postgres | new: server + Postgres |\n|---|---|---|`);
  for (const shape of shapes)
    out(
      `| ${shape} | ${mean('old', shape, 'serverMs')} + ${mean('old', shape, 'postgresMs')} | ${mean('new', shape, 'serverMs')} + ${mean('new', shape, 'postgresMs')} |`,
    );
  out(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
}

main()
  .catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  })
  .finally(() => void Promise.all([db.destroy(), backends.end()]));
