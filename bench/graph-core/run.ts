/**
 * graph-core benchmark: read all users, all groups and every group's members from a generated tenant
 * with graph-core, then the same with the SDK's default client + PageIterator (the baseline), in the
 * same run. The emulator runs in its own process (its CPU is not the client's) with 50 ms latency and
 * the L budget (8,000 RU per 10 s); each reader uses its own app, so each starts with a fresh bucket.
 *
 *   npm run bench:graph-core -- --size M|L [--seed 1] [--latency 50] [--baseline-concurrency 16,64] [--repeat 1] [--parallel 1] [--no-baseline]
 *
 * --repeat N reads the tenant N times back to back with the same client, so the run outlasts the
 * initial full bucket and the sustained pacing shows. --parallel N runs N such reads at once through
 * the same app (as N connectors or stages sharing one app+tenant budget would): one read alone is
 * bound by the sequential nextLink chain of the user crawl, N of them are bound by the budget.
 *
 * Prints a table and writes bench/results/graph-core-<size>.json.
 *
 * The headline is `ruShareOfAdmissible`: RU spent over what Graph could have admitted in the wall
 * time (its bucket starts full, 8,000 RU, and refills at 800 RU/s), the client's efficiency at using
 * the budget; the target is ≥ 85% on one read. RU/s over budget/10 is still printed, but it exceeds
 * 100% on any run shorter than the time to spend one full bucket, by construction.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { ensureCa, type EmulatorStats } from '@warden/graph-emulator';
import { startEmulatorProcess, type EmulatorProcess } from '../support/emulator-process';
import { loadAverage, writeBenchResult } from '../support/result';
import { readWithGraphCore, readWithSdk, type ReadResult } from './readers';

const RU_PER_10S = 8_000;
const WRITES_PER_150S = 3_000;

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'M' },
    seed: { type: 'string', default: '1' },
    latency: { type: 'string', default: '50' },
    'baseline-concurrency': { type: 'string', default: '16,64' },
    'no-baseline': { type: 'boolean', default: false },
    repeat: { type: 'string', default: '1' },
    parallel: { type: 'string', default: '1' },
  },
});
const size = String(values.size).toUpperCase();
const seed = Number(values.seed);
const latencyMs = Number(values.latency);
const repeat = Math.max(1, Number(values.repeat));
const parallel = Math.max(1, Number(values.parallel));
const copies = repeat * parallel;
const baselineConcurrency = String(values['baseline-concurrency'])
  .split(',')
  .map(Number)
  .filter((n) => n > 0);

interface Row {
  client: string;
  wallS: number;
  users: number;
  groups: number;
  memberships: number;
  complete: boolean;
  failures: number;
  graphRequests: number;
  httpRequests: number | null;
  requestsPerS: number;
  ru: number;
  ruPerS: number;
  ruShareOfBudget: number;
  ruShareOfAdmissible: number;
  throttled429: number;
  share429: number;
  phases?: ReadResult['phases'];
}

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

async function main(): Promise<void> {
  const loadAtStart = loadAverage();
  process.stderr.write(`starting the ${size} emulator (seed ${seed})…\n`);
  const emu = await startEmulatorProcess(size, seed);
  try {
    await emu.settings({
      latencyMs,
      jitterMs: 0,
      faultRate: 0,
      throttle: { enabled: true, ruPer10s: RU_PER_10S, writesPer150s: WRITES_PER_150S },
    });
    const truth = await emu.exportTenant();
    const expected = {
      users: truth.users.length * copies,
      groups: truth.groups.length * copies,
      memberships: truth.groups.reduce((s, g) => s + g.members.length, 0) * copies,
    };
    const app = (name: string) => {
      const a = emu.config.apps.find((x) => x.name === name);
      if (!a) throw new Error(`the emulator has no app ${name}`);
      return a;
    };
    const rows: Row[] = [];
    process.stderr.write(`graph-core: reading ${expected.users} users, ${expected.groups} groups, ${expected.memberships} memberships…\n`);
    rows.push(
      await measure(emu, 'graph-core', expected, () => readWithGraphCore(emu.config, app('provisioning'), RU_PER_10S, repeat, parallel)),
    );
    if (!values['no-baseline']) {
      for (const [i, n] of baselineConcurrency.entries()) {
        process.stderr.write(`SDK baseline (${n} groups at a time)…\n`);
        // Each reader needs a fresh bucket: its own app, or a pause for the bucket to refill.
        if (i > 0) await new Promise((r) => setTimeout(r, 10_500));
        rows.push(
          await measure(emu, `SDK default + PageIterator (x${n})`, expected, () =>
            readWithSdk(emu.config, app('readonly'), n, repeat, parallel),
          ),
        );
      }
    }
    print(rows);
    const ours = rows[0]!;
    const baselines = rows.slice(1);
    // The strongest baseline of the run: the SDK configuration that got closest to the budget.
    const best = baselines.reduce<Row | null>((b, r) => (b === null || r.ruShareOfAdmissible > b.ruShareOfAdmissible ? r : b), null);
    const headline = (r: Row) => ({
      client: r.client,
      ruShareOfAdmissible: r.ruShareOfAdmissible,
      wallS: r.wallS,
      share429: r.share429,
      graphRequests: r.graphRequests,
      httpRequests: r.httpRequests,
      complete: r.complete ? 'yes' : `no (${r.failures} failed)`,
    });
    const variant = `${size}${repeat > 1 ? `-x${repeat}` : ''}${parallel > 1 ? `-p${parallel}` : ''}`;
    const file = writeBenchResult({
      bench: 'graph-core',
      size: variant,
      command: `npm run bench:graph-core -- ${process.argv.slice(2).join(' ')}`.trim(),
      caveats: [
        `emulator in a child process, ${latencyMs} ms read latency, Graph's L budget (${RU_PER_10S} RU / 10 s)`,
        'admissible = one full bucket + refill over the wall time; the governor aims at 95% of it by design',
        ...(repeat * parallel === 1
          ? ['one read needs ~10,400 RU, little more than one bucket: a short run, bound by latency and CPU as much as by the budget']
          : []),
      ],
      ours: headline(ours),
      baseline: best ? headline(best) : null,
      ratio: best
        ? {
            ruShareOfAdmissible: round(ours.ruShareOfAdmissible / best.ruShareOfAdmissible, 2),
            speedup: round(best.wallS / ours.wallS, 2),
            fewerHttpCalls: ours.httpRequests ? round(best.graphRequests / ours.httpRequests, 1) : null,
          }
        : {},
      correct: ours.complete,
      targets: { '≥ 85% of admissible RU': ours.ruShareOfAdmissible >= 0.85, '≤ 2% 429s': ours.share429 <= 0.02 },
      details: {
        seed,
        latencyMs,
        repeat,
        parallel,
        budget: { ruPer10s: RU_PER_10S, writesPer150s: WRITES_PER_150S },
        baselineConcurrency,
        expected,
        rows,
      },
      loadAtStart,
    });
    process.stderr.write(`wrote ${file}\n`);
  } finally {
    await emu.close();
  }
}

async function measure(
  emu: EmulatorProcess,
  name: string,
  expected: { users: number; groups: number; memberships: number },
  read: () => Promise<ReadResult>,
): Promise<Row> {
  await emu.resetStats();
  const r = await read();
  const s: EmulatorStats = await emu.stats();
  if (r.phases) {
    const p = r.phases;
    process.stderr.write(
      `${name}: users done at ${p.usersDoneMs} ms, first member pages at ${p.firstMemberPagesDoneMs} ms, all members at ${p.groupsDoneMs} ms\n`,
    );
  }
  const wallS = r.wallMs / 1000;
  // Token requests are not Graph requests; every $batch item is (Graph throttles per item).
  const graphRequests = s.requests;
  return {
    client: name,
    wallS: round(wallS, 2),
    users: r.users,
    groups: r.groups,
    memberships: r.memberships,
    complete: r.users === expected.users && r.groups === expected.groups && r.memberships === expected.memberships && r.failures === 0,
    failures: r.failures,
    graphRequests,
    httpRequests: r.httpRequests ?? null,
    requestsPerS: round(graphRequests / wallS, 1),
    ru: s.ruSpent,
    ruPerS: round(s.ruSpent / wallS, 1),
    ruShareOfBudget: round(s.ruSpent / wallS / (RU_PER_10S / 10), 3),
    ruShareOfAdmissible: round(s.ruSpent / (RU_PER_10S + (RU_PER_10S / 10) * wallS), 3),
    throttled429: s.throttled,
    share429: round(graphRequests ? s.throttled / graphRequests : 0, 4),
    ...(r.phases ? { phases: r.phases } : {}),
  };
}

function print(rows: Row[]): void {
  const cols: Array<[string, (r: Row) => string]> = [
    ['client', (r) => r.client],
    ['wall s', (r) => r.wallS.toFixed(2)],
    ['complete', (r) => (r.complete ? 'yes' : `NO (${r.failures} failed)`)],
    ['Graph req', (r) => String(r.graphRequests)],
    ['HTTP req', (r) => (r.httpRequests === null ? '=' : String(r.httpRequests))],
    ['req/s', (r) => r.requestsPerS.toFixed(1)],
    ['RU/s', (r) => r.ruPerS.toFixed(1)],
    ['RU of admissible', (r) => `${(r.ruShareOfAdmissible * 100).toFixed(1)}%`],
    ['RU/s of budget/10', (r) => `${(r.ruShareOfBudget * 100).toFixed(1)}%`],
    ['429s', (r) => `${r.throttled429} (${(r.share429 * 100).toFixed(2)}%)`],
  ];
  const cells = [cols.map(([h]) => h), ...rows.map((r) => cols.map(([, f]) => f(r)))];
  const widths = cols.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  process.stdout.write(
    `\n${line(cells[0]!)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${cells.slice(1).map(line).join('\n')}\n\n`,
  );
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
