import { sql, type Kysely } from 'kysely';
import { gramOfTerm, type Database, type ResourceType } from '@warden/database';
import { decodeIdCursor, isUuid, pageSize } from '../../pagination/cursor';
import { knownTotal, totalColumn, toPage, type PageResult } from '../../pagination/page';
import { BadUserInputError } from '../../errors';
import { Statements } from '../../execution/statements';
import { RESOURCE_COLUMNS, toResource, type Resource } from './resource.type';

export interface ResourceFilter {
  connectorId: string;
  type?: ResourceType | null;
  search?: string | null;
}

/** `search` matches display name, UPN and mail (search_text, lowercased) as a substring: see `list`. */
function likePattern(search: string): string {
  return `%${search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export class ResourceService {
  private readonly statements: Statements<Database>;

  constructor(private readonly db: Kysely<Database>) {
    this.statements = new Statements(db);
  }

  /** `withCount`: the client selected totalCount, so the page statement carries it (one round trip). */
  async list(
    filter: ResourceFilter,
    first: number | null | undefined,
    after: string | null | undefined,
    withCount = false,
  ): Promise<PageResult<Resource>> {
    const limit = pageSize(first);
    const afterId = decodeIdCursor(after);
    const search = filter.search?.trim();
    if (search && search.length > 200) throw new BadUserInputError('`search` may be at most 200 characters');
    if (!isUuid(filter.connectorId))
      return toPage(
        [],
        limit,
        () => [],
        toResource,
        async () => 0,
      );
    // A term of two or three characters (the type-ahead's first keystrokes) has no trigram, or matches
    // thousands of rows each rechecked on the table: its count is kept per gram instead (migration 0018,
    // exact). The page is still found by LIKE, in id order, which stops after the page.
    const gram = search ? gramOfTerm(search.toLowerCase()) : null;
    const values = [filter.connectorId, filter.type, search ? likePattern(search) : null, afterId, limit + 1, gram];
    const base = (v: readonly unknown[]) => {
      let q = this.db.selectFrom('resources').where('connector_id', '=', v[0] as string);
      if (filter.type) q = q.where('type', '=', v[1] as ResourceType);
      if (search) q = q.where('search_text', 'like', v[2] as string);
      return q;
    };
    const count = (v: readonly unknown[]) => {
      if (gram === null) return base(v).select((eb) => eb.fn.countAll<string>().as('n'));
      let q = this.db
        .selectFrom('resource_gram_counts')
        .select(sql<string>`coalesce(sum(n), 0)::bigint`.as('n'))
        .where('connector_id', '=', v[0] as string)
        .where('gram', '=', v[5] as number);
      // Without a type, every type's count of the gram: a resource has one type.
      if (filter.type) q = q.where('type', '=', v[1] as ResourceType);
      return q;
    };
    // The statement depends on which filters are present; their values are bound (see Statements).
    const shape = `resources:${Boolean(filter.type)}:${Boolean(search)}:${withCount}:${afterId !== null}:${gram !== null}`;
    const build = () => {
      const P = Statements.param;
      const v = [P(0), P(1), P(2), P(3), P(4), P(5)];
      const total = totalColumn(withCount ? count(v) : null);
      if (!search) {
        let q = base(v).select(RESOURCE_COLUMNS).select(total);
        if (afterId) q = q.where('id', '>', v[3] as string);
        return q.orderBy('id').limit(v[4] as number);
      }
      // A searched page finds its ids first and reads the rows of those alone. With a type, that is an
      // index-only scan of resources_type_search_page_idx (which carries search_text) in id order that
      // stops after the page; the rows themselves are ~2 KB (profile), so testing the pattern on the
      // heap instead read ~20 pages per match for a rare term, or the whole table when the planner took
      // a two-letter term for a rare one (a sequential scan of 151 MB at L: 170 ms).
      let ids = base(v).select('id');
      if (afterId) ids = ids.where('id', '>', v[3] as string);
      return this.db
        .selectFrom(
          ids
            .orderBy('id')
            .limit(v[4] as number)
            .as('m'),
        )
        .innerJoin('resources as r', 'r.id', 'm.id')
        .select(RESOURCE_COLUMNS.map((c) => `r.${c}` as const))
        .select(total)
        .orderBy('r.id');
    };
    // A search's best plan depends on the term (see Statements.run).
    const rows = (await this.statements.run(shape, build, values, { customPlan: Boolean(search) })).rows;
    return toPage(
      rows,
      limit,
      (r) => [r.id],
      toResource,
      async () => Number((await count(values).executeTakeFirstOrThrow()).n),
      knownTotal(rows),
    );
  }
}
