import type { Kysely } from 'kysely';
import type { Database, ResourceType } from '@warden/database';
import { decodeIdCursor, isUuid, pageSize } from '../../pagination/cursor';
import { knownTotal, totalColumn, toPage, type PageResult } from '../../pagination/page';
import { BadUserInputError } from '../../errors';
import { RESOURCE_COLUMNS, toResource, type Resource } from './resource.type';

export interface ResourceFilter {
  connectorId: string;
  type?: ResourceType | null;
  search?: string | null;
}

/** `search` matches display name, UPN and mail through the trigram index on search_text. */
function likePattern(search: string): string {
  return `%${search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export class ResourceService {
  constructor(private readonly db: Kysely<Database>) {}

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
    const base = () => {
      let q = this.db.selectFrom('resources').where('connector_id', '=', filter.connectorId);
      if (filter.type) q = q.where('type', '=', filter.type);
      if (search) q = q.where('search_text', 'like', likePattern(search));
      return q;
    };
    const count = () => base().select((eb) => eb.fn.countAll<string>().as('n'));
    let q = base()
      .select(RESOURCE_COLUMNS)
      .select(totalColumn(withCount ? count() : null));
    if (afterId) q = q.where('id', '>', afterId);
    const rows = await q
      .orderBy('id')
      .limit(limit + 1)
      .execute();
    return toPage(
      rows,
      limit,
      (r) => [r.id],
      toResource,
      async () => Number((await count().executeTakeFirstOrThrow()).n),
      knownTotal(rows),
    );
  }
}
