/** Rows per bulk statement: large enough to amortise the round trip, small enough to bound memory. */
export const WRITE_BATCH = 5_000;

export function chunks<T>(items: readonly T[], size = WRITE_BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Last occurrence wins: one INSERT … ON CONFLICT must not touch the same row twice. */
export function dedupeBy<T>(items: readonly T[], key: (t: T) => string): T[] {
  const m = new Map<string, T>();
  for (const it of items) m.set(key(it), it);
  return [...m.values()];
}
