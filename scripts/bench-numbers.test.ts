import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BenchResult } from '../bench/support/result';
import { formatFigure, numbersTable, readResults, replaceTable, shapeProblem, TABLE_END, TABLE_START } from './bench-numbers';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** A throwaway results directory: file name → content (objects written as JSON). */
function resultsDir(files: Record<string, string | object>): string {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-numbers-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files))
    writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}

const result = (over: Partial<BenchResult>): BenchResult => ({
  bench: 'provision',
  size: 'M',
  measuredAt: '2026-12-01T00:30:12.345Z',
  load: { start: 3.2, end: 4.1 },
  command: 'npm run bench:provision -- --size M',
  caveats: ['write latency 150 ms'],
  ours: { writesPerSecond: 19.04, shareOfQuota: 0.952, failures: 0 },
  baseline: { writesPerSecond: 5.1, shareOfQuota: 0.255, failures: 0 },
  ratio: { writesPerSecond: 3.73 },
  correct: true,
  targets: { '≥ 90% of the write quota': true, 'zero failures': true },
  ...over,
});

describe('bench:numbers', () => {
  it('reads the files in the result shape, sorted by bench and size, and says why it skipped the others', () => {
    const dir = resultsDir({
      'provision-M.json': result({}),
      'graph-core-L.json': result({ bench: 'graph-core', size: 'L' }),
      'graph-core-L-p3.json': result({ bench: 'graph-core', size: 'L-p3' }),
      'sync-L.json': { size: 'L', results: [] },
      'broken.json': '{ not json',
      'notes.txt': 'ignored',
    });
    const { results, skipped } = readResults(dir);
    expect(results.map((r) => `${r.bench} ${r.size}`)).toEqual(['graph-core L', 'graph-core L-p3', 'provision M']);
    expect(skipped).toEqual([
      { file: 'broken.json', reason: 'not valid JSON' },
      { file: 'sync-L.json', reason: 'no string "bench"' },
    ]);
  });

  it('names what is missing from a file', () => {
    expect(shapeProblem(result({}))).toBeNull();
    expect(shapeProblem({ ...result({}), targets: { fast: 'yes' } })).toBe('no boolean "targets"');
    expect(shapeProblem({ ...result({}), correct: undefined })).toBe('no boolean "correct"');
    expect(shapeProblem({ ...result({}), baseline: null })).toBeNull();
    expect(shapeProblem({ ...result({}), ratio: { x: '2' } })).toBe('no "ratio" numbers');
    expect(shapeProblem([])).toBe('not a JSON object');
  });

  it('prints one Markdown row per result with the command, figures, ratios, targets, time and load', () => {
    const table = numbersTable([
      result({}),
      result({
        bench: 'emulator',
        size: 'L',
        command: 'npx tsx bench/emulator/run.ts --size L',
        caveats: [],
        ours: { page999P50Ms: 6.8, note: 'a | b' },
        baseline: null,
        ratio: {},
        correct: false,
        targets: { 'generate L ≤ 5 s': false },
      }),
    ]);
    const lines = table.split('\n');
    expect(lines[0]).toBe('| What | Command | Ours | Baseline (same run) | Ratio | Targets | Measured at | Load (start → end) |');
    expect(lines[2]).toBe(
      '| provision M [1] | `npm run bench:provision -- --size M` | writesPerSecond 19.04, shareOfQuota 95.2%, failures 0 | ' +
        'writesPerSecond 5.1, shareOfQuota 25.5%, failures 0 | writesPerSecond 3.73× | ' +
        'answers correct ✔, ≥ 90% of the write quota ✔, zero failures ✔ | 2026-12-01 00:30 UTC | 3.2 → 4.1 |',
    );
    expect(lines[3]).toBe(
      '| emulator L | `npx tsx bench/emulator/run.ts --size L` | page999P50Ms 6.8, note a \\| b | — | — | ' +
        'answers correct ✘, generate L ≤ 5 s ✘ | 2026-12-01 00:30 UTC | 3.2 → 4.1 |',
    );
    expect(lines.slice(4)).toEqual(['', '[1] provision M: write latency 150 ms  ']);
  });

  it('formats shares as percentages and other numbers with separators', () => {
    expect(formatFigure('ruShareOfAdmissible', 0.848)).toBe('84.8%');
    expect(formatFigure('shareOfQuota', 1.2)).toBe('120.0%');
    expect(formatFigure('users', 50000)).toBe('50,000');
    expect(formatFigure('wallS', 5.2936)).toBe('5.29');
    expect(formatFigure('p50Ms', null)).toBe('—');
  });

  it('replaces only the text between the README markers, and refuses a README without them', () => {
    const readme = `# Title\n\n## Numbers\n\n${TABLE_START}\n\nold table\n\n${TABLE_END}\n\nAfter.\n`;
    const out = replaceTable(readme, '| new |');
    expect(out).toBe(`# Title\n\n## Numbers\n\n${TABLE_START}\n\n| new |\n\n${TABLE_END}\n\nAfter.\n`);
    expect(replaceTable(out, '| newer |')).toContain('| newer |');
    expect(replaceTable(out, '| newer |')).not.toContain('| new |');
    expect(() => replaceTable('# no markers\n', '| x |')).toThrow(/markers/);
    expect(() => replaceTable(`${TABLE_END}\n${TABLE_START}\n`, '| x |')).toThrow(/markers/);
    expect(() => replaceTable(`${TABLE_START}${TABLE_START}${TABLE_END}`, '| x |')).toThrow(/markers/);
  });
});
