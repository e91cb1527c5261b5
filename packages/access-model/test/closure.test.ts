import { describe, expect, it } from 'vitest';
import { inheritedGroups } from '../src/closure/closure';

const parents = (edges: [string, string][]) => {
  const m = new Map<string, string[]>();
  for (const [child, parent] of edges) m.set(child, [...(m.get(child) ?? []), parent]);
  for (const l of m.values()) l.sort();
  return m;
};

describe('inheritedGroups', () => {
  it('walks nesting outward with the shortest path, outermost first', () => {
    const p = parents([
      ['u', 'g1'],
      ['g1', 'g2'],
      ['g2', 'g3'],
    ]);
    expect(Object.fromEntries(inheritedGroups('u', p))).toEqual({
      g2: ['GROUP:g1:member'],
      g3: ['GROUP:g2:member', 'GROUP:g1:member'],
    });
  });

  it('is cycle-safe and never makes a principal inherit itself', () => {
    const p = parents([
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'a'],
      ['u', 'a'],
    ]);
    expect(Object.fromEntries(inheritedGroups('a', p))).toEqual({ c: ['GROUP:b:member'] });
    // u is a direct member of a, and also reaches a around the cycle
    expect(Object.fromEntries(inheritedGroups('u', p))).toEqual({
      a: ['GROUP:c:member', 'GROUP:b:member', 'GROUP:a:member'],
      b: ['GROUP:a:member'],
      c: ['GROUP:b:member', 'GROUP:a:member'],
    });
  });

  it('keeps an inherited row for a group also held directly, through the shortest indirect path', () => {
    const p = parents([
      ['u', 'g1'],
      ['u', 'g2'],
      ['g1', 'g2'],
    ]);
    expect(Object.fromEntries(inheritedGroups('u', p))).toEqual({ g2: ['GROUP:g1:member'] });
  });
});
