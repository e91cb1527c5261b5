import type { GraphClient } from '../client';
import { GraphError } from '../errors';

export interface CollectionPage<T> {
  items: T[];
  /** The nextLink to continue after this page (null on the last page): a checkpoint. */
  resumeFrom: string | null;
  /** `@odata.count`, present on the first page when requested with ConsistencyLevel. */
  count?: number;
}

interface ODataPage<T> {
  value?: T[];
  '@odata.nextLink'?: string;
  '@odata.count'?: number;
}

/**
 * Pages of a Graph collection. nextLink is followed as-is (absolute, opaque); request headers such
 * as ConsistencyLevel are sent again on every page because Graph does not carry them; $top=999 unless
 * the caller chose. When a page token expires mid-crawl (Directory_ExpiredPageToken) the enumeration
 * restarts from the first page and items already yielded are skipped, so nothing is yielded twice.
 */
export async function* collectionPages<T extends { id?: string }>(
  client: GraphClient,
  path: string,
  opts: { headers?: Record<string, string>; signal?: AbortSignal; startAt?: string },
): AsyncGenerator<CollectionPage<T>> {
  const first = withTop(path);
  let next: string | null = opts.startAt ?? first;
  const seen = new Set<string>();
  let restarted = false;
  // Restarts that brought no new item: page tokens expiring faster than one page can be read would
  // otherwise loop forever.
  let fruitlessRestarts = 0;
  while (next) {
    let body: ODataPage<T>;
    try {
      body = await client.get<ODataPage<T>>(next, { headers: opts.headers, signal: opts.signal, chain: true });
    } catch (err) {
      if (
        err instanceof GraphError &&
        err.code === 'Directory_ExpiredPageToken' &&
        next !== first &&
        fruitlessRestarts < MAX_FRUITLESS_RESTARTS
      ) {
        fruitlessRestarts++;
        next = first;
        restarted = true;
        continue;
      }
      throw err;
    }
    const all = body.value ?? [];
    const items = restarted ? all.filter((i) => !i.id || !seen.has(i.id)) : all;
    for (const i of items) if (i.id) seen.add(i.id);
    if (items.length > 0) fruitlessRestarts = 0;
    next = body['@odata.nextLink'] ?? null;
    const page: CollectionPage<T> = { items, resumeFrom: next };
    if (body['@odata.count'] !== undefined) page.count = body['@odata.count'];
    yield page;
  }
}

const MAX_FRUITLESS_RESTARTS = 3;

function withTop(path: string): string {
  if (/[?&]\$top=/.test(path) || /^https?:/i.test(path)) return path;
  return `${path}${path.includes('?') ? '&' : '?'}$top=999`;
}
