/**
 * Judges a bench:gateway result file again with `judge.ts` (its measured windows are unchanged):
 * `npx tsx bench/gateway/rejudge.ts bench/results/gateway-L.json`. Figures the judge does not compute
 * (stale reads, the answers compared) are kept as they are.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { judge, type JudgedWindow } from './judge';

const file = process.argv[2];
if (!file) throw new Error('usage: rejudge.ts <bench/results/gateway-*.json>');
const result = JSON.parse(readFileSync(file, 'utf8')) as {
  ours: Record<string, unknown>;
  baseline: Record<string, unknown>;
  ratio: Record<string, unknown>;
  targets: Record<string, boolean>;
  details: { rates: number[]; windows: JudgedWindow[] };
};
const modes = ['on', 'off'].filter((m) => result.details.windows.some((w) => w.server === `gateway, cache ${m}`));
const v = judge(result.details.windows, result.details.rates, modes);
result.ours = { ...result.ours, ...v.ours };
result.baseline = { ...result.baseline, ...v.baseline };
result.ratio = { ...result.ratio, ...v.ratio };
result.targets = { ...result.targets, ...v.targets };
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${file}: ${JSON.stringify(v.targets)}\n${JSON.stringify(v.ratio)}\n`);
