import type { BatchRequest } from '@warden/graph-core';
import type { RunSession } from '../runs/session';

export interface CollectionResult {
  /** 200 when every page was read; otherwise the failing status (404: the object is gone). */
  status: number;
  items: unknown[];
  error?: string;
}

/** The path below /v1.0 of an absolute nextLink, for use inside $batch. */
export function relativeToVersion(link: string): string {
  const i = link.indexOf('/v1.0/');
  return i >= 0 ? link.slice(i + '/v1.0'.length) : link;
}

function errorText(body: unknown): string | undefined {
  if (body && typeof body === 'object' && 'error' in body) {
    const e = (body as { error?: { code?: unknown; message?: unknown } }).error;
    return `${String(e?.code ?? 'error')}: ${String(e?.message ?? '')}`;
  }
  return undefined;
}

/**
 * Reads many collections (e.g. every app's appRoleAssignedTo) through graph-core's $batch (20 GETs
 * per HTTP call), following each collection's nextLinks in further batches until all are complete.
 * Results come back in the order of `urls`. With `single`, each URL is one object (its body is the item);
 * `headers` go with every item (ConsistencyLevel for advanced queries).
 */
export async function readCollections(
  s: RunSession,
  urls: readonly string[],
  opts: { single?: boolean; headers?: Record<string, string> } = {},
): Promise<CollectionResult[]> {
  const results: CollectionResult[] = urls.map(() => ({ status: 200, items: [] }));
  let wave: { index: number; url: string }[] = urls.map((url, index) => ({ index, url }));
  while (wave.length > 0) {
    s.throwIfAborted();
    const requests: BatchRequest[] = wave.map((w) => ({ method: 'GET', url: w.url, ...(opts.headers ? { headers: opts.headers } : {}) }));
    s.batchItems += requests.length;
    const answers = await s.graph.batch(requests, { signal: s.signal });
    const next: { index: number; url: string }[] = [];
    answers.forEach((a, i) => {
      const w = wave[i]!;
      const r = results[w.index]!;
      if (a.status < 200 || a.status >= 300) {
        r.status = a.status;
        r.error = errorText(a.body);
        return;
      }
      const body = (a.body ?? {}) as { value?: unknown; '@odata.nextLink'?: unknown };
      if (opts.single) {
        r.items.push(body);
        return;
      }
      if (Array.isArray(body.value)) r.items.push(...body.value);
      const link = body['@odata.nextLink'];
      if (typeof link === 'string') next.push({ index: w.index, url: relativeToVersion(link) });
    });
    wave = next;
  }
  return results;
}
