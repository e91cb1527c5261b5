import { CompiledQuery, type Compilable, type Kysely, type QueryResult } from 'kysely';

const SENTINEL = '\u0000warden-param:';

/**
 * Hot statements built with Kysely once per shape instead of on every request: Kysely's builder and
 * compiler cost about as much CPU as reading a page's rows. A shape is whatever changes the SQL text
 * (which filters are present, whether totalCount is folded in, …), named by `shape`; the values that
 * change from request to request go through `param(i)`, which stands for `values[i]`. The statement
 * is compiled the first time with stand-ins for those values, and later requests only bind theirs.
 */
export class Statements<DB> {
  /** Per shape: the SQL and, per parameter, the index into `values` or a constant of the shape. */
  private readonly compiled = new Map<string, { sql: string; slots: Array<number | { constant: unknown }> }>();

  constructor(private readonly db: Kysely<DB>) {}

  /** The stand-in for `values[i]` while building; typed as whatever the builder expects there. */
  static param<T>(i: number): T {
    return `${SENTINEL}${i}` as unknown as T;
  }

  /**
   * `customPlan`: plan the statement for the values of each request. Named statements (the gateway's
   * pool names every SELECT text, see @warden/database createDb) switch to one generic plan after five
   * runs, and a generic plan cannot tell `search_text LIKE '%so%'` (most rows: read in id order) from
   * `LIKE '%sofia%'` (a few rows: the trigram index): on the M tenant the generic search plan cost
   * 26 ms where a custom one costs 8 ms, and 9 ms instead of 0.8 ms. Text that does not start with
   * SELECT stays unnamed, and an unnamed statement is planned with its values every time.
   */
  async run<R>(
    shape: string,
    build: () => Compilable<R>,
    values: readonly unknown[],
    opts: { customPlan?: boolean } = {},
  ): Promise<QueryResult<R>> {
    let entry = this.compiled.get(shape);
    if (!entry) {
      const template = build().compile();
      // Anything not passed through param() is a constant of the shape (e.g. `direct = true`).
      const slots = template.parameters.map((p) =>
        typeof p === 'string' && p.startsWith(SENTINEL) ? Number(p.slice(SENTINEL.length)) : { constant: p },
      );
      entry = { sql: opts.customPlan ? `/* planned per request */ ${template.sql}` : template.sql, slots };
      this.compiled.set(shape, entry);
    }
    const parameters = entry.slots.map((slot) => (typeof slot === 'number' ? values[slot] : slot.constant));
    return this.db.executeQuery<R>(CompiledQuery.raw(entry.sql, parameters));
  }
}
