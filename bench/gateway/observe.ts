import { readFileSync } from 'node:fs';
import pg from 'pg';
import { CHANGE_CHANNEL } from '@warden/database';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/**
 * utime + stime of a process in seconds, and its resident memory in MB; null once it is gone.
 * `privateOnly`: RssAnon instead of VmRSS, for Postgres backends, whose VmRSS counts the shared buffers
 * each of them has touched (summed over backends it would count them many times).
 */
export function procSample(pid: number, privateOnly = false): { cpuSeconds: number; rssMB: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command may contain spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    const rss = (privateOnly ? /RssAnon:\s+(\d+) kB/ : /VmRSS:\s+(\d+) kB/).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpuSeconds: cpu, rssMB: rss ? Number(rss[1]) / 1024 : 0 };
  } catch {
    return null;
  }
}

export interface Usage {
  /** CPU used over the window, as a share of one core (100 = one core busy). */
  cpuPercent: number;
  peakRssMB: number;
}

/**
 * Samples processes every second over a window: CPU (difference of utime + stime) and peak RSS. The
 * pid list is asked again at each sample (Postgres backends of a pool come and go).
 */
export function watchProcesses(pids: () => Promise<number[]>, privateOnly = false): { stop(): Promise<Usage> } {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  let peak = 0;
  const started = Date.now();
  const sample = async () => {
    let rss = 0;
    for (const pid of await pids().catch(() => [])) {
      const s = procSample(pid, privateOnly);
      if (!s) continue;
      if (!first.has(pid)) first.set(pid, s.cpuSeconds);
      last.set(pid, s.cpuSeconds);
      rss += s.rssMB;
    }
    peak = Math.max(peak, rss);
  };
  void sample();
  const timer = setInterval(() => void sample(), 1000);
  return {
    async stop() {
      clearInterval(timer);
      await sample();
      let cpu = 0;
      for (const [pid, end] of last) cpu += end - (first.get(pid) ?? end);
      return { cpuPercent: (100 * cpu) / ((Date.now() - started) / 1000), peakRssMB: peak };
    },
  };
}

/** Counter values of a Prometheus text page, summed over label sets matching `labels`. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+([-\d.eE+]+|NaN)/.exec(line);
    if (!m || m[1] !== name) continue;
    const set = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

export async function scrape(url: string | null): Promise<string> {
  if (!url) return '';
  try {
    return await (await fetch(url)).text();
  } catch {
    return '';
  }
}

/**
 * Counts the change notifications the gateways' response caches listen to, in all and by kind: the
 * table, and whether the statement named its rows (`grants:<connector>,e=…`, migration 0017) or only
 * its connectors (`grants:<connector>`), which retires every answer of that table and connector.
 * Marker notifications of the caches' heartbeats are not changes.
 */
export async function listenChanges(dbUrl: string): Promise<{ count(): number; byKind(): Record<string, number>; close(): Promise<void> }> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  let n = 0;
  const kinds: Record<string, number> = {};
  client.on('notification', (msg) => {
    const payload = String(msg.payload ?? '');
    if (msg.channel !== CHANGE_CHANNEL || payload.startsWith('marker:')) return;
    n++;
    const colon = payload.indexOf(':');
    const table = colon < 0 ? payload : payload.slice(0, colon);
    const kind = colon < 0 ? `${table} (every connector)` : /,[ep]=/.test(payload) ? `${table} (rows named)` : table;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  });
  await client.query(`LISTEN ${CHANGE_CHANNEL}`);
  return { count: () => n, byKind: () => ({ ...kinds }), close: () => client.end() };
}
