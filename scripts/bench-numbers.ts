/**
 * npm run bench:numbers [-- --dir bench/results] [--readme README.md]
 *
 * Reads every bench result file (bench/support/result.ts's shape) and prints the Markdown Numbers
 * table of the root README: one row per file, with the command that reproduces it. Files in another
 * shape (written by a bench before it was converted) are listed on stderr and left out. With
 * `--readme`, the table replaces what stands between the README's two markers instead of being
 * printed, so the README's figures are exactly what the files say.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { resultsDirectory, type BenchResult } from '../bench/support/result';

type Figures = Record<string, number | string | null>;

export interface ReadResults {
  results: BenchResult[];
  skipped: Array<{ file: string; reason: string }>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isFigures = (v: unknown): v is Figures =>
  isRecord(v) && Object.values(v).every((x) => x === null || typeof x === 'number' || typeof x === 'string');

/** Why `v` is not a BenchResult, or null when it is one. */
export function shapeProblem(v: unknown): string | null {
  if (!isRecord(v)) return 'not a JSON object';
  for (const k of ['bench', 'size', 'measuredAt', 'command'] as const) if (typeof v[k] !== 'string') return `no string "${k}"`;
  if (!isRecord(v['load']) || typeof v['load']['start'] !== 'number' || typeof v['load']['end'] !== 'number')
    return 'no "load" {start, end}';
  if (!Array.isArray(v['caveats']) || !v['caveats'].every((c) => typeof c === 'string')) return 'no "caveats" list';
  if (!isFigures(v['ours'])) return 'no "ours" figures';
  if (v['baseline'] !== null && !isFigures(v['baseline'])) return '"baseline" is neither figures nor null';
  if (!isRecord(v['ratio']) || !Object.values(v['ratio']).every((x) => x === null || typeof x === 'number')) return 'no "ratio" numbers';
  if (typeof v['correct'] !== 'boolean') return 'no boolean "correct"';
  if (!isRecord(v['targets']) || !Object.values(v['targets']).every((x) => typeof x === 'boolean')) return 'no boolean "targets"';
  return null;
}

/** Every `*.json` of `dir` in the result shape, sorted by bench and size; the others with the reason. */
export function readResults(dir: string): ReadResults {
  const out: ReadResults = { results: [], skipped: [] };
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    } catch {
      out.skipped.push({ file, reason: 'not valid JSON' });
      continue;
    }
    const problem = shapeProblem(parsed);
    if (problem) out.skipped.push({ file, reason: problem });
    else out.results.push(parsed as BenchResult);
  }
  out.results.sort((a, b) => a.bench.localeCompare(b.bench) || a.size.localeCompare(b.size, 'en', { numeric: true }));
  return out;
}

const NUMBER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** A figure as a reader wants it: shares (0..1 under a key that says share) as percentages. */
export function formatFigure(key: string, value: number | string | null): string {
  if (value === null) return '—';
  if (typeof value === 'string') return value;
  if (/share/i.test(key) && value >= 0 && value <= 1.5) return `${(value * 100).toFixed(1)}%`;
  return NUMBER.format(value);
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const figures = (f: Figures | null): string =>
  f === null
    ? '—'
    : Object.entries(f)
        .map(([k, v]) => `${k} ${formatFigure(k, v)}`)
        .join(', ') || '—';

/** The Markdown table (and the caveats under it, numbered per row). */
export function numbersTable(results: BenchResult[]): string {
  const lines = [
    '| What | Command | Ours | Baseline (same run) | Ratio | Targets | Measured at | Load (start → end) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const notes: string[] = [];
  results.forEach((r, i) => {
    const ref = r.caveats.length > 0 ? ` [${i + 1}]` : '';
    if (ref) notes.push(`[${i + 1}] ${r.bench} ${r.size}: ${r.caveats.join('; ')}`);
    const ratio =
      Object.entries(r.ratio)
        .map(([k, v]) => `${k} ${v === null ? '—' : `${NUMBER.format(v)}×`}`)
        .join(', ') || '—';
    const targets = [
      `answers correct ${r.correct ? '✔' : '✘'}`,
      ...Object.entries(r.targets).map(([k, ok]) => `${k} ${ok ? '✔' : '✘'}`),
    ].join(', ');
    const at = `${r.measuredAt.slice(0, 10)} ${r.measuredAt.slice(11, 16)} UTC`;
    lines.push(
      `| ${[
        `${r.bench} ${r.size}${ref}`,
        `\`${r.command}\``,
        figures(r.ours),
        figures(r.baseline),
        ratio,
        targets,
        at,
        `${r.load.start} → ${r.load.end}`,
      ]
        .map(cell)
        .join(' | ')} |`,
    );
  });
  return [...lines, ...(notes.length > 0 ? ['', ...notes.map((n) => `${cell(n)}  `)] : [])].join('\n');
}

export const TABLE_START =
  '<!-- bench:numbers start: generated by `npm run bench:numbers -- --readme README.md` from bench/results; do not edit by hand -->';
export const TABLE_END = '<!-- bench:numbers end -->';

/** `readme` with the text between the markers replaced by `table`; throws when the markers are not there once each, in order. */
export function replaceTable(readme: string, table: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start || readme.indexOf(TABLE_START, start + 1) >= 0 || readme.indexOf(TABLE_END, end + 1) >= 0)
    throw new Error('the README must hold the bench:numbers start and end markers once each, start first');
  return `${readme.slice(0, start + TABLE_START.length)}\n\n${table}\n\n${readme.slice(end)}`;
}

function main(): void {
  const { values } = parseArgs({
    options: { dir: { type: 'string', default: resultsDirectory() }, readme: { type: 'string' } },
  });
  const dir = path.resolve(String(values.dir));
  const { results, skipped } = readResults(dir);
  for (const s of skipped) process.stderr.write(`skipped ${s.file}: ${s.reason} (re-run its bench to write the result shape)\n`);
  if (results.length === 0) {
    process.stderr.write(`no result files in ${dir}: run the benches first (see the README's Numbers)\n`);
    process.exitCode = 1;
    return;
  }
  const table = numbersTable(results);
  if (values.readme === undefined) {
    process.stdout.write(`${table}\n`);
    return;
  }
  const readme = path.resolve(values.readme);
  writeFileSync(readme, replaceTable(readFileSync(readme, 'utf8'), table));
  process.stderr.write(`wrote ${results.length} rows into ${readme}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();
