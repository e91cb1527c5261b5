import type { GraphClient } from '../client';
import { collectionPages, type CollectionPage } from './pages';

export interface PartitionOptions {
  /** A string property Graph filters with `ge` and `le` (users: `userPrincipalName`, `displayName`, `mail`). */
  by: string;
  /** Boundaries between ranges, e.g. ['f', 'l', 'r']: ranges ≤ 'f', 'f'…'l', 'l'…'r', ≥ 'r'. */
  bounds: string[];
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** Six ranges of roughly the same size for names and UPNs that start with a Latin letter. */
export const DEFAULT_NAME_BOUNDS = ['d', 'h', 'l', 'p', 't'];

/**
 * A collection crawled as several ranges of one property at once, pages yielded as they arrive.
 *
 * A crawl is a chain of nextLinks, one round trip each: 50,000 users are 51 sequential pages however
 * much budget is left, and on a full read that chain is the long pole. Graph pages each filtered range
 * on its own, so N ranges are N chains in parallel. The ranges are `by le b1`, `by ge b1 and by le
 * b2`, …, `by ge bN`: every value is ≤ or ≥ any bound, so together they cover the collection whatever
 * Graph's collation; an object equal to a bound would come twice and is yielded once. An existing
 * `$filter` in `path` is kept (and-ed with each range). Pages carry `resumeFrom: null`: a partitioned
 * crawl has no single checkpoint — restart it, or use `pages()` where resuming matters.
 */
export async function* partitionedPages<T extends { id?: string }>(
  client: GraphClient,
  path: string,
  opts: PartitionOptions,
): AsyncGenerator<CollectionPage<T>> {
  const bounds = [...new Set(opts.bounds)].sort();
  const quote = (v: string) => `'${v.replace(/'/g, "''")}'`;
  const ranges =
    bounds.length === 0
      ? [null]
      : [
          `${opts.by} le ${quote(bounds[0]!)}`,
          ...bounds.slice(1).map((b, i) => `${opts.by} ge ${quote(bounds[i]!)} and ${opts.by} le ${quote(b)}`),
          `${opts.by} ge ${quote(bounds[bounds.length - 1]!)}`,
        ];
  const seen = new Set<string>();
  // One page in hand per range: a range fetches its next page once the consumer took the last one.
  const ready: Array<{ page: CollectionPage<T>; taken: () => void }> = [];
  let wake: (() => void) | null = null;
  let running = ranges.length;
  // Set by a failed range or an early stop; an object, because the ranges' closures set it.
  const state: { failure: { err: unknown } | null } = { failure: null };
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const crawls = ranges.map(async (range) => {
    try {
      const gen = collectionPages<T>(client, range === null ? path : withFilter(path, range), {
        ...(opts.headers ? { headers: opts.headers } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      for await (const page of gen) {
        if (state.failure) return;
        await new Promise<void>((taken) => {
          ready.push({ page, taken });
          notify();
        });
        if (state.failure) return;
      }
    } catch (err) {
      state.failure ??= { err };
    } finally {
      running--;
      notify();
    }
  });
  try {
    for (;;) {
      if (state.failure) throw state.failure.err;
      const next = ready.shift();
      if (next) {
        const items = next.page.items.filter((i) => !i.id || !seen.has(i.id));
        for (const i of items) if (i.id) seen.add(i.id);
        next.taken();
        yield { items, resumeFrom: null };
        continue;
      }
      if (running === 0) break;
      await new Promise<void>((r) => (wake = r));
    }
  } finally {
    // A consumer that stops early (or a failed range) releases the other ranges, which then end.
    state.failure ??= { err: new Error('partitioned crawl stopped') };
    for (const r of ready.splice(0)) r.taken();
    await Promise.allSettled(crawls);
  }
}

function withFilter(path: string, range: string): string {
  const m = /([?&])\$filter=([^&]*)/.exec(path);
  if (!m) return `${path}${path.includes('?') ? '&' : '?'}$filter=${encodeURIComponent(range)}`;
  const existing = decodeURIComponent(m[2]!.replace(/\+/g, ' '));
  return path.replace(m[0], `${m[1]}$filter=${encodeURIComponent(`(${existing}) and ${range}`)}`);
}
