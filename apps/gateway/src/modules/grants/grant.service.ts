import { sql, type Kysely } from 'kysely';
import type { Database } from '@warden/schema';
import { decodeIdCursor, pageSize } from '../../pagination/cursor';
import { toPage, type PageResult } from '../../pagination/page';
import { GRANT_COLUMNS, toGrant, type Grant } from './grant.type';

export interface GrantFilter {
  connectorId: string;
  entitlementKey?: string;
  principalExternalId?: string;
  includeInherited: boolean;
}

export class GrantService {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Keyset page by id over the index that matches the filter. An inherited row shows only when the
   * principal holds no direct row for the same entitlement (the unique key answers that probe).
   */
  async list(filter: GrantFilter, first: number | null | undefined, after: string | null | undefined): Promise<PageResult<Grant>> {
    const limit = pageSize(first);
    const afterId = decodeIdCursor(after);
    const scope = () => {
      let q = this.db.selectFrom('grants as g').where('g.connector_id', '=', filter.connectorId);
      if (filter.entitlementKey !== undefined) q = q.where('g.entitlement_key', '=', filter.entitlementKey);
      if (filter.principalExternalId !== undefined) q = q.where('g.principal_external_id', '=', filter.principalExternalId);
      return q;
    };
    const base = () => {
      let q = scope();
      // OFFSET 0 keeps the probe a per-row unique-index lookup: without it the planner may turn the
      // EXISTS into a hashed subplan that reads every direct grant in the table once an inherited
      // row shows up (70 ms instead of 0.5 ms for a page on the M tenant, worse on L).
      q = filter.includeInherited
        ? q.where(sql<boolean>`(g.direct OR NOT EXISTS (SELECT 1 FROM grants d WHERE d.connector_id = g.connector_id
              AND d.entitlement_key = g.entitlement_key AND d.principal_external_id = g.principal_external_id AND d.direct OFFSET 0))`)
        : q.where('g.direct', '=', true);
      return q;
    };
    let q = base().select(GRANT_COLUMNS.map((c) => `g.${c}` as const));
    if (afterId) q = q.where('g.id', '>', afterId);
    const rows = await q.orderBy('g.id').limit(limit + 1).execute();
    return toPage(rows, limit, (r) => [r.id], toGrant, async () => {
      // The unique key (connector, entitlement, principal, direct) allows one direct and one inherited
      // row per pair, so the rows shown with includeInherited are exactly the distinct pairs: an
      // index-only scan instead of one probe per inherited row (2 ms instead of 12 ms for 5,000 members).
      const r = filter.includeInherited
        ? await this.db
            .selectFrom(scope().select(['g.entitlement_key', 'g.principal_external_id']).distinct().as('pairs'))
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        : await base().select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return Number(r.n);
    });
  }
}
