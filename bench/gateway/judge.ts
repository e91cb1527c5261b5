/**
 * The bench's verdict from its measured windows: headline figures, ratios and the targets.
 * Kept apart from the run so a result file can be judged again (`rejudge.ts`) when the rule changes.
 */
export interface JudgedShape {
  shape: string;
  achievedPerSec: number;
  p99: number;
  errors: number;
}
export interface JudgedWindow {
  phase: string;
  rate: number;
  server: string;
  all: JudgedShape;
  shapes: JudgedShape[];
}
export interface Verdict {
  ours: Record<string, number | null>;
  baseline: Record<string, number | null>;
  ratio: Record<string, number | null>;
  targets: Record<string, boolean>;
}

export const PEER = 'PostGraphile v4';
const round2 = (x: number) => Math.round(x * 100) / 100;

export function judge(results: readonly JudgedWindow[], rates: readonly number[], cacheModes: readonly string[]): Verdict {
  const top = rates.length > 0 ? Math.max(...rates) : 0;
  const at = (phase: string, rate: number, server: string) =>
    results.find((r) => r.phase === phase && r.rate === rate && r.server === server);
  const peerTop = at('writes', top, PEER);
  const targets: Record<string, boolean> = {};
  const ratio: Record<string, number | null> = {};
  const ours: Record<string, number | null> = {};
  const baseline: Record<string, number | null> = {
    reqPerSecAtTopRate: peerTop?.all.achievedPerSec ?? null,
    p99MsAt300: at('writes', 300, PEER)?.all.p99 ?? null,
  };
  for (const mode of cacheModes) {
    const name = `gateway, cache ${mode}`;
    const w = at('writes', top, name);
    const tag = mode === 'on' ? 'CacheOn' : 'CacheOff';
    ours[`reqPerSecAtTopRate${tag}`] = w?.all.achievedPerSec ?? null;
    ours[`p99MsAt300${tag}`] = at('writes', 300, name)?.all.p99 ?? null;
    // A shape the peer answered nothing of (every request timed out) while the gateway answered some
    // has no finite ratio: it counts as met and is reported apart, not as 0×.
    const shapeRatios = (w?.shapes ?? []).map((s) => {
      const p = peerTop?.shapes.find((x) => x.shape === s.shape);
      const r = !p ? null : p.achievedPerSec > 0 ? s.achievedPerSec / p.achievedPerSec : s.achievedPerSec > 0 ? Infinity : null;
      return { s, p, ratio: r };
    });
    ratio[`throughputAtTopRate${tag}`] =
      w && peerTop && peerTop.all.achievedPerSec > 0 ? round2(w.all.achievedPerSec / peerTop.all.achievedPerSec) : null;
    const finite = shapeRatios.map((r) => r.ratio).filter((r): r is number => r !== null && Number.isFinite(r));
    const unanswered = shapeRatios.filter((r) => r.ratio === null);
    ratio[`minShapeThroughputAtTopRate${tag}`] = unanswered.length > 0 ? 0 : finite.length ? round2(Math.min(...finite)) : null;
    ratio[`shapesThePeerAnsweredNoneOfAtTopRate${tag}`] = shapeRatios.filter((r) => r.ratio === Infinity).length;
    targets[`writes: ≥1.5× PostGraphile throughput on every shape at ${top} req/s with p99 ≤ its p99 (cache ${mode})`] =
      shapeRatios.length > 0 && shapeRatios.every((r) => r.ratio !== null && r.ratio >= 1.5 && r.p !== undefined && r.s.p99 <= r.p.p99);
    const w300 = at('writes', 300, name);
    targets[`writes: p99 ≤ 50 ms on every shape at 300 req/s (cache ${mode})`] =
      !!w300 && w300.all.errors === 0 && w300.shapes.every((s) => s.p99 <= 50);
  }
  return { ours, baseline, ratio, targets };
}
