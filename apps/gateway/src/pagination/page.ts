import { sql, type Expression } from 'kysely';
import { encodeCursor, type CursorValue } from './cursor';

export interface Edge<T> {
  readonly cursor: string;
  node: T;
}

/** An edge whose cursor is encoded only if asked for: most pages select `pageInfo.endCursor`, not every edge's. */
class LazyEdge<R, T> implements Edge<T> {
  constructor(
    private readonly row: R,
    private readonly key: (row: R) => CursorValue[],
    readonly node: T,
  ) {}

  get cursor(): string {
    return encodeCursor(this.key(this.row));
  }
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
  /** The total when the page statement already carried it (see selectsField); `count` is then not run. */
  knownTotal?: number | null,
): PageResult<T> {
  const pageRows = rows.slice(0, limit);
  const edges = pageRows.map((r) => new LazyEdge(r, key, map(r)));
  let memo: Promise<number> | null = knownTotal === null || knownTotal === undefined ? null : Promise.resolve(knownTotal);
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > limit, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount: () => (memo ??= count()),
  };
}

/**
 * `total_count` for a page statement: the count statement as an uncorrelated scalar subquery, which
 * Postgres runs once (an InitPlan), or NULL when the client did not select totalCount.
 */
export function totalColumn(count: Expression<unknown> | null) {
  return (count ? sql<string | null>`(${count})` : sql<string | null>`NULL::bigint`).as('total_count');
}

/** The total a page statement carried, if it returned a row to carry it. */
export function knownTotal(rows: ReadonlyArray<{ total_count: string | number | null }>): number | null {
  const v = rows[0]?.total_count;
  return v === null || v === undefined ? null : Number(v);
}
