import { describe, expect, it } from 'vitest';
import { timeOrderedIds } from '../src/writers/ids';

// The writers give grants ids made in the worker; they must keep the layout of the column default
// (migration 0012's warden_time_ordered_uuid: UUID version 7) so pages by id keep creation order.
describe('timeOrderedIds', () => {
  // 32 hex digits (Postgres reads them as a uuid): version 7, RFC variant.
  const V7 = /^[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}$/;

  it('stamps the milliseconds in the first 48 bits, version 7, RFC variant', () => {
    const at = Date.UTC(2026, 11, 1, 9, 30, 0, 123);
    const ids = timeOrderedIds(1_000, at);
    for (const id of ids) {
      expect(id).toMatch(V7);
      expect(parseInt(id.slice(0, 12), 16)).toBe(at);
    }
  });

  it('draws different random bits for every id (no two alike in 100,000)', () => {
    const ids = timeOrderedIds(100_000, 1);
    expect(new Set(ids).size).toBe(ids.length);
    // Milliseconds 1: 0000…0001 in the time field.
    expect(ids[0]!.slice(0, 12)).toBe('000000000001');
  });

  it('orders ids of later milliseconds after earlier ones', () => {
    const [a] = timeOrderedIds(1, 1_700_000_000_000);
    const [b] = timeOrderedIds(1, 1_700_000_000_001);
    expect(a! < b!).toBe(true);
  });

  it('returns nothing for zero rows', () => {
    expect(timeOrderedIds(0)).toEqual([]);
  });
});
