/**
 * `npm run chaos -- --minutes N --seed S`: one chaos run; prints the seed first (the same seed gives
 * the same load and fault schedule), then the report. Exit code 1 when an invariant fails.
 */
import { parseArgs } from 'node:util';
import { formatReport, runChaos } from './run';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '5' }, seed: { type: 'string' }, keep: { type: 'boolean', default: false } },
});
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 1_000_000);
const minutes = Number(values.minutes);
if (!Number.isInteger(seed) || !(minutes > 0)) {
  process.stderr.write('usage: npm run chaos -- [--minutes N] [--seed S] [--keep]\n');
  process.exit(2);
}
// Ctrl-C: exit, and the exit hook in processes.ts takes every replica and nats-server down with us.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
process.stdout.write(`chaos seed ${seed} (reproduce with --seed ${seed})\n`);
const report = await runChaos({ seed, minutes, keepDir: values.keep });
process.stdout.write(`${formatReport(report)}\n`);
process.exit(report.pass ? 0 : 1);
