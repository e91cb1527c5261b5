import { useCallback, useEffect, useRef, useState } from 'react';
import { useClient, type AnyVariables, type CombinedError, type TypedDocumentNode } from 'urql';

export interface Connection<N> {
  edges: readonly { node: N }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

export interface Paged<N> {
  rows: N[];
  totalCount: number | null;
  hasMore: boolean;
  fetching: boolean;
  error: CombinedError | undefined;
  /** Loads the next page (no-op while one is loading or at the end). */
  loadMore(): void;
  /** Starts again from the first page (e.g. after a grant changed the holders). */
  reload(): void;
}

/**
 * Server-side paging for the long lists: pages of `pageSize` fetched on demand with the connection's
 * cursor and appended, so a list of 10,000 rows never loads more than the reader scrolled to.
 * `select` picks the connection out of the answer. Starts over when `variables` change.
 */
export function usePaged<D, V extends AnyVariables & { first?: number | null; after?: string | null }, N>(
  query: TypedDocumentNode<D, V>,
  variables: Omit<V, 'first' | 'after'> | null,
  select: (data: D) => Connection<N> | null | undefined,
  pageSize = 100,
): Paged<N> {
  const client = useClient();
  const [rows, setRows] = useState<N[]>([]);
  const [totalCount, setTotal] = useState<number | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [fetching, setFetching] = useState(false);
  const [error, setError] = useState<CombinedError | undefined>(undefined);
  const [generation, setGeneration] = useState(0);
  const key = JSON.stringify(variables);
  const inFlight = useRef<string | null>(null);
  const selectRef = useRef(select);
  selectRef.current = select;

  const fetchPage = useCallback(
    async (after: string | null, reset: boolean) => {
      if (variables === null) return;
      const token = `${key}|${after ?? ''}|${generation}`;
      if (inFlight.current === token) return;
      inFlight.current = token;
      setFetching(true);
      const vars = { ...variables, first: pageSize, after } as unknown as V;
      const result = await client.query(query, vars, { requestPolicy: 'network-only' }).toPromise();
      if (inFlight.current !== token) return; // superseded by newer variables
      inFlight.current = null;
      setFetching(false);
      if (result.error) {
        setError(result.error);
        return;
      }
      setError(undefined);
      const conn = result.data ? selectRef.current(result.data) : null;
      if (!conn) {
        setRows([]);
        setHasMore(false);
        setTotal(0);
        return;
      }
      const nodes = conn.edges.map((e) => e.node);
      setRows((prev) => (reset ? nodes : [...prev, ...nodes]));
      setTotal(conn.totalCount);
      setCursor(conn.pageInfo.endCursor);
      setHasMore(conn.pageInfo.hasNextPage);
    },
    [client, query, key, pageSize, generation],
  );

  useEffect(() => {
    setRows([]);
    setTotal(null);
    setCursor(null);
    setHasMore(false);
    void fetchPage(null, true);
  }, [fetchPage]);

  // Stable, so callers may depend on it in effects.
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return {
    rows,
    totalCount,
    hasMore,
    fetching,
    error,
    loadMore: () => {
      if (hasMore && !fetching) void fetchPage(cursor, false);
    },
    reload,
  };
}
