import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import type { Kysely } from 'kysely';
import pg from 'pg';
import type { Database } from '@warden/database';
import { cpuSecondsOf } from '../support/postgres-cpu';
import type { SenderRun } from './load-process';

/**
 * `--trace <dir>`: what the tail of a window is made of. Percentiles say how slow the slowest requests
 * were, not when or why; this records, on one clock (ms since the window's start), every request's
 * completion and latency, the machine's busy share every 100 ms, and every 25 ms which backends of
 * the bench's database were not idle and what they waited on. `bench/gateway/trace-report.ts` reads it.
 */
export interface TraceSample {
  at: number;
  /** Busy share of all cores over the last interval (0–1), from /proc/stat. */
  cpu?: number;
  /** CPU share of one core per process over the last 250 ms, for processes above 5 % (name from its command line). */
  procs?: Record<string, number>;
  /**
   * Pauses of the bench's main process (the write driver, the samplers; the sender has a process of its
   * own, load-process.ts): a timer due every 10 ms that fired late by this many ms (over 20 ms only).
   */
  clientStall?: number;
  /** A garbage collection in the bench's main process (ms). */
  clientGc?: number;
  /** The measured gateway's longest event-loop delay since the previous sample (its /metrics, every 250 ms). */
  serverLoopMaxMs?: number;
  backends?: { app: string; state: string; wait: string | null; query: string; ms: number }[];
}

function cpuTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

function processName(pid: string): string {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    if (cmd[0]?.startsWith('postgres:')) return `postgres (${cmd[0].split(' ').slice(-2).join(' ')})`;
    const script = cmd.find((c) => /\.(ts|js|mjs|cjs)$/.test(c) && !c.includes('node_modules/tsx'));
    return `${path.basename(cmd[0] ?? '?')} ${script ? script.split('/').slice(-3).join('/') : (cmd[1] ?? '')}`.trim();
  } catch {
    return '?';
  }
}

/** utime + stime (seconds) of every process on the machine, by pid. */
function processTicks(): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) out.set(pid, cpuSecondsOf(Number(pid)));
  return out;
}

/**
 * `metricsUrl`: the measured gateway's /metrics, scraped every 250 ms for its event-loop delay (prom-client
 * resets it at each scrape, so the window's own event-loop figure then covers only the last 250 ms).
 */
export function startTrace(
  connectionString: string,
  database: string,
  metricsUrl: string | null = null,
): { startedAtEpochMs: number; stop(): Promise<TraceSample[]> } {
  const samples: TraceSample[] = [];
  const t0 = Date.now();
  let last = cpuTicks();
  const cpuTimer = setInterval(() => {
    const now = cpuTicks();
    const total = now.total - last.total;
    samples.push({ at: Date.now() - t0, cpu: total > 0 ? (now.busy - last.busy) / total : 0 });
    last = now;
  }, 100);
  let lastProcs = processTicks();
  const names = new Map<string, string>();
  const procTimer = setInterval(() => {
    const now = processTicks();
    const procs: Record<string, number> = {};
    for (const [pid, ticks] of now) {
      const d = ticks - (lastProcs.get(pid) ?? ticks);
      if (d < 0.02) continue; // under 8 % of a core over 250 ms
      if (!names.has(pid)) names.set(pid, processName(pid));
      const name = names.get(pid)!;
      procs[name] = (procs[name] ?? 0) + d / 0.25;
    }
    samples.push({ at: Date.now() - t0, procs });
    lastProcs = now;
  }, 250);
  let tick = performance.now();
  const stallTimer = setInterval(() => {
    const now = performance.now();
    if (now - tick - 10 > 20) samples.push({ at: Date.now() - t0, clientStall: Math.round(now - tick - 10) });
    tick = now;
  }, 10);
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      if (e.duration > 5) samples.push({ at: Math.round(performance.timeOrigin + e.startTime - t0), clientGc: Math.round(e.duration) });
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const loopTimer = metricsUrl
    ? setInterval(() => {
        const at = Date.now() - t0;
        void fetch(metricsUrl)
          .then((r) => r.text())
          .then((text) => {
            const m = /^warden_gateway_nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? ([\d.e+-]+)$/m.exec(text);
            if (m) samples.push({ at, serverLoopMaxMs: Math.round(Number(m[1]) * 1000) });
          })
          .catch(() => undefined);
      }, 250)
    : null;
  const client = new pg.Client({ connectionString, application_name: 'bench-trace' });
  let stopped = false;
  const polling = (async () => {
    await client.connect();
    while (!stopped) {
      const started = Date.now();
      const r = await client.query<{ app: string; state: string; wait: string | null; query: string; ms: number }>(
        `SELECT application_name AS app, state, wait_event_type || ':' || wait_event AS wait, left(query, 80) AS query,
                (extract(epoch FROM clock_timestamp() - query_start) * 1000)::int AS ms
           FROM pg_stat_activity
          WHERE datname = $1 AND pid <> pg_backend_pid() AND state IS DISTINCT FROM 'idle' AND backend_type = 'client backend'`,
        [database],
      );
      samples.push({ at: started - t0, backends: r.rows });
      const wait = 25 - (Date.now() - started);
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    }
    await client.end();
  })();
  return {
    startedAtEpochMs: t0,
    async stop() {
      stopped = true;
      clearInterval(cpuTimer);
      clearInterval(procTimer);
      clearInterval(stallTimer);
      if (loopTimer) clearInterval(loopTimer);
      gcObserver.disconnect();
      await polling;
      return samples;
    },
  };
}

/**
 * Writes one window's trace to `<dir>/<name>.json`, everything on the requests' clock (0 = the window's
 * first due time; samples taken before it are negative): the requests, the samples, the sync runs that
 * started from a minute before the trace on, and the server's GC and change-feed histogram lines at the
 * window's start and end.
 */
export async function saveWindowTrace(
  dir: string,
  name: string,
  w: {
    samples: TraceSample[];
    traceStartedAtEpochMs: number;
    sent: SenderRun;
    db: Kysely<Database>;
    mainConnectorId: string;
    metricsBefore: string;
    metricsAfter: string;
    labels: Record<string, unknown>;
  },
): Promise<void> {
  const offsetMs = w.sent.startedAtEpochMs - w.traceStartedAtEpochMs;
  const runs = await w.db
    .selectFrom('sync_runs')
    .select(['connector_id', 'mode', 'started_at', 'finished_at'])
    .where('started_at', '>=', new Date(w.traceStartedAtEpochMs - 60_000))
    .execute();
  const rel = (d: Date | null) => (d ? new Date(d).getTime() - w.sent.startedAtEpochMs : null);
  const histograms = (text: string) =>
    text.split('\n').filter((l) => (l.includes('gc_duration_seconds') || l.includes('catch_up_seconds')) && !l.startsWith('#'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, `${name.replace(/[^\w.-]+/g, '_')}.json`),
    JSON.stringify({
      ...w.labels,
      syncRuns: runs.map((r) => ({
        connector: r.connector_id === w.mainConnectorId ? 'main' : 'other',
        mode: r.mode,
        from: rel(r.started_at),
        to: rel(r.finished_at),
      })),
      histograms: [histograms(w.metricsBefore), histograms(w.metricsAfter)],
      requests: w.sent.outcomes.map((o) => [Math.round(o.doneAt - o.latencyMs), Math.round(o.latencyMs * 10) / 10, o.shape, o.ok ? 1 : 0]),
      samples: w.samples.map((s) => ({ ...s, at: Math.round(s.at - offsetMs) })),
    }),
  );
}
