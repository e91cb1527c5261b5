export { chunks, WRITE_BATCH } from '@warden/access-model';

/** Last occurrence wins: one INSERT … ON CONFLICT must not touch the same row twice. */
export function dedupeBy<T>(items: readonly T[], key: (t: T) => string): T[] {
  const m = new Map<string, T>();
  for (const it of items) m.set(key(it), it);
  return [...m.values()];
}

/**
 * `dedupeBy` for two-part keys (entitlement key, principal), last occurrence wins, without a
 * concatenated key string per row: a full pass sends ~600,000 grant rows through here, and those
 * strings lived as long as the batch, long enough to reach V8's old generation as garbage.
 */
export function dedupeBy2<T>(items: readonly T[], first: (t: T) => string, second: (t: T) => string): T[] {
  const m = new Map<string, Map<string, T>>();
  for (const it of items) {
    const a = first(it);
    let inner = m.get(a);
    if (!inner) m.set(a, (inner = new Map()));
    inner.set(second(it), it);
  }
  const out: T[] = [];
  for (const inner of m.values()) for (const it of inner.values()) out.push(it);
  return out;
}
