export { chunks, WRITE_BATCH } from '@warden/access-model';

/** Last occurrence wins: one INSERT … ON CONFLICT must not touch the same row twice. */
export function dedupeBy<T>(items: readonly T[], key: (t: T) => string): T[] {
  const m = new Map<string, T>();
  for (const it of items) m.set(key(it), it);
  return [...m.values()];
}
