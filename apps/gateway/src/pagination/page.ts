import { encodeCursor, type CursorValue } from './cursor';

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface PageResult<T> {
  edges: Edge<T>[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: () => Promise<number>;
}

/**
 * Turns `limit + 1` fetched rows into a page: the extra row only says whether another page exists.
 * `totalCount` stays lazy so a client that does not ask for it costs no COUNT query.
 */
export function toPage<R, T>(
  rows: R[],
  limit: number,
  key: (row: R) => CursorValue[],
  map: (row: R) => T,
  count: () => Promise<number>,
): PageResult<T> {
  const pageRows = rows.slice(0, limit);
  const edges = pageRows.map((r) => ({ cursor: encodeCursor(key(r)), node: map(r) }));
  let memo: Promise<number> | null = null;
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > limit, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount: () => (memo ??= count()),
  };
}
