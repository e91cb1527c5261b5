/**
 * Reads a window written by `npm run bench:gateway -- --trace <dir>` and prints it as a timeline: per
 * bucket (default 250 ms) of request start times, how many started and their worst latency, the
 * machine's CPU, and which Postgres backends were busy and on what they waited.
 *
 *   npx tsx bench/gateway/trace-report.ts <trace file> [bucket ms]
 */
import { readFileSync } from 'node:fs';
import type { TraceSample } from './trace';

const [file, bucketArg] = process.argv.slice(2);
if (!file) throw new Error('usage: trace-report.ts <trace file> [bucket ms]');
const bucket = Number(bucketArg ?? 250);
const t = JSON.parse(readFileSync(file, 'utf8')) as {
  phase: string;
  rate: number;
  server: string;
  syncRuns: { connector: string; mode: string; from: number | null; to: number | null }[];
  requests: [number, number, string, number][];
  samples: TraceSample[];
};
console.log(`${t.server}, ${t.phase}, ${t.rate} req/s`);
for (const r of t.syncRuns) console.log(`  sync ${r.connector} ${r.mode}: ${r.from ?? '?'} → ${r.to ?? 'running'} ms`);
const end = Math.max(...t.requests.map((r) => r[0] + r[1]));
console.log('  from ms | started | max latency | p90 | CPU | backends busy (by application: waits)');
for (let at = 0; at < end; at += bucket) {
  const lat = t.requests
    .filter((r) => r[0] >= at && r[0] < at + bucket)
    .map((r) => r[1])
    .sort((a, b) => a - b);
  const cpu = t.samples.filter((s) => s.cpu !== undefined && s.at >= at && s.at < at + bucket).map((s) => s.cpu!);
  const polls = t.samples.filter((s) => s.backends && s.at >= at && s.at < at + bucket);
  const by = new Map<string, number>();
  for (const p of polls)
    for (const b of p.backends!) {
      const key = `${b.app || '?'}:${b.wait ?? (b.state === 'active' ? 'cpu' : b.state)}`;
      by.set(key, (by.get(key) ?? 0) + 1 / polls.length);
    }
  const busy = [...by.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(', ');
  const procAgg = new Map<string, number>();
  const procSamples = t.samples.filter((s) => s.procs && s.at >= at && s.at < at + bucket);
  for (const s of procSamples)
    for (const [k, v] of Object.entries(s.procs!)) procAgg.set(k, (procAgg.get(k) ?? 0) + v / procSamples.length);
  const top = [...procAgg.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([k, v]) => `${k} ${(100 * v).toFixed(0)}%`)
    .join(', ');
  const loop = t.samples
    .filter((s) => s.serverLoopMaxMs !== undefined && s.at >= at && s.at < at + bucket + 250)
    .map((s) => s.serverLoopMaxMs!);
  const serverLoop = loop.length ? ` || server loop max ${Math.max(...loop)} ms` : '';
  const stalls = t.samples.filter((s) => s.at >= at && s.at < at + bucket && (s.clientStall || s.clientGc));
  const client = stalls.length
    ? ` || client: ${stalls.map((s) => (s.clientGc ? `gc ${s.clientGc}` : `stall ${s.clientStall}`)).join(', ')} ms`
    : '';
  const p90 = lat.length ? lat[Math.floor(lat.length * 0.9)]! : 0;
  console.log(
    `  ${String(at).padStart(6)} | ${String(lat.length).padStart(4)} | ${(lat.at(-1) ?? 0).toFixed(0).padStart(6)} | ${p90.toFixed(0).padStart(5)} | ${cpu.length ? ((100 * cpu.reduce((a, b) => a + b, 0)) / cpu.length).toFixed(0).padStart(3) : '  ?'}% | ${busy} || ${top}${serverLoop}${client}`,
  );
}
const longest = t.samples
  .flatMap((s) => (s.backends ?? []).map((b) => ({ ...b, at: s.at })))
  .sort((a, b) => b.ms - a.ms)
  .slice(0, 8);
console.log('  longest-running statements seen:');
for (const b of longest)
  console.log(`    at ${b.at} ms, ${b.ms} ms so far, ${b.app || '?'} ${b.wait ?? b.state}: ${b.query.replace(/\s+/g, ' ')}`);
