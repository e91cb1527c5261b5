import type { RunSession } from '../runs/session';

/** `@odata.count` of a collection (one request with $top=1), for "n / total" progress lines. */
export async function countObjects(s: RunSession, collection: string, filter?: string): Promise<number | null> {
  const q = `/v1.0/${collection}?$select=id&$top=1&$count=true${filter ? `&$filter=${encodeURIComponent(filter)}` : ''}`;
  const pages = s.graph.pages<{ id: string }>(q, { headers: { ConsistencyLevel: 'eventual' }, signal: s.signal });
  try {
    const first = await pages.next();
    return first.done ? null : (first.value.count ?? null);
  } finally {
    await pages.return(undefined).catch(() => undefined);
  }
}
