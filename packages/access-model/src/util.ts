/** Rows per bulk statement: large enough to amortise the round trip, small enough to bound memory. */
export const WRITE_BATCH = 5_000;

/** `items` cut into consecutive slices of at most `size`. */
export function chunks<T>(items: readonly T[], size = WRITE_BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Element-wise equality of two lists (paths, `via`). */
export function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
