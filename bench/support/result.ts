import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What every bench writes to bench/results/<bench>-<size>.json, so one command
 * (`npm run bench:numbers`) can build the root README's Numbers table from the files alone.
 * `ours` and `baseline` hold the headline figures (same keys where a ratio makes sense), `ratio` the
 * comparisons, `correct` whether the run checked its answers and found them right, `targets` each
 * goal of the issue as true/false; `details` is free-form.
 */
export interface BenchResult {
  bench: string;
  size: string;
  /** When and where: ISO time and the load average at the start and end of the run. */
  measuredAt: string;
  load: { start: number; end: number };
  /** The command that reproduces this file. */
  command: string;
  /** One line a reader needs next to the numbers: favourable or unfavourable conditions, extrapolations. */
  caveats: string[];
  ours: Record<string, number | string | null>;
  baseline: Record<string, number | string | null> | null;
  ratio: Record<string, number | null>;
  correct: boolean;
  targets: Record<string, boolean>;
  details?: unknown;
}

const RESULTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../results');

export function resultsDirectory(): string {
  return RESULTS;
}

/** Writes the result file and returns its path. `measuredAt` and `load.end` are filled in here. */
export function writeBenchResult(result: Omit<BenchResult, 'measuredAt' | 'load'> & { loadAtStart: number }): string {
  const { loadAtStart, ...rest } = result;
  const file: BenchResult = {
    ...rest,
    measuredAt: new Date().toISOString(),
    load: { start: loadAtStart, end: loadAverage() },
  };
  mkdirSync(RESULTS, { recursive: true });
  const out = path.join(RESULTS, `${result.bench}-${result.size}.json`);
  writeFileSync(out, `${JSON.stringify(file, null, 2)}\n`);
  return out;
}

/** The one-minute load average, rounded to a tenth (what the README quotes next to a figure). */
export function loadAverage(): number {
  return Math.round((loadavg()[0] ?? 0) * 10) / 10;
}
