import { describe, expect, it } from 'vitest';
import { judge, PEER, type JudgedShape, type JudgedWindow } from '../bench/gateway/judge';

const shape = (name: string, achievedPerSec: number, p99: number): JudgedShape => ({ shape: name, achievedPerSec, p99, errors: 0 });
const win = (server: string, rate: number, shapes: JudgedShape[]): JudgedWindow => ({
  phase: 'writes',
  rate,
  server,
  all: shape(
    'all',
    shapes.reduce((n, s) => n + s.achievedPerSec, 0),
    Math.max(...shapes.map((s) => s.p99)),
  ),
  shapes,
});

describe('bench:gateway judge', () => {
  it('a shape the peer answered none of counts as met, apart from the finite ratios; one neither answered fails', () => {
    const windows = [
      win(PEER, 1000, [shape('search', 10, 9000), shape('holders', 0, 10000)]),
      win('gateway, cache off', 1000, [shape('search', 30, 8000), shape('holders', 5, 9500)]),
      win(PEER, 300, [shape('search', 10, 9000), shape('holders', 2, 10000)]),
      win('gateway, cache off', 300, [shape('search', 30, 40), shape('holders', 5, 60)]),
    ];
    const v = judge(windows, [300, 1000], ['off']);
    expect(v.ratio['minShapeThroughputAtTopRateCacheOff']).toBe(3);
    expect(v.ratio['shapesThePeerAnsweredNoneOfAtTopRateCacheOff']).toBe(1);
    expect(v.targets['writes: ≥1.5× PostGraphile throughput on every shape at 1000 req/s with p99 ≤ its p99 (cache off)']).toBe(true);
    expect(v.targets['writes: p99 ≤ 50 ms on every shape at 300 req/s (cache off)']).toBe(false);

    windows[1] = win('gateway, cache off', 1000, [shape('search', 30, 8000), shape('holders', 0, 10000)]);
    const none = judge(windows, [300, 1000], ['off']);
    expect(none.ratio['minShapeThroughputAtTopRateCacheOff']).toBe(0);
    expect(none.targets['writes: ≥1.5× PostGraphile throughput on every shape at 1000 req/s with p99 ≤ its p99 (cache off)']).toBe(false);
  });
});
