import { CompiledQuery, sql, type Kysely } from 'kysely';
import type { Database } from '@warden/database';
import { decodeIdCursor, pageSize } from '../../pagination/cursor';
import { knownTotal, totalColumn, toPage, type PageResult } from '../../pagination/page';
import { aliasesOf, joined, scoped, type Loaders } from '../../loaders';
import { ENTITLEMENT_COLUMNS, type EntitlementListRow } from '../entitlements/entitlement.type';
import { RESOURCE_BRIEF_COLUMNS, type ResourceListRow } from '../resources/resource.type';
import { GRANT_COLUMNS, GRANT_TEXT_COLUMNS, toGrant, type Grant, type GrantListRow } from './grant.type';
import { Statements } from '../../execution/statements';

// `id` first: joined() tests it for a match.
const E_ALIASES = aliasesOf('e', ENTITLEMENT_COLUMNS);
const RESOURCE_ALIASES = { p: aliasesOf('p', RESOURCE_BRIEF_COLUMNS), er: aliasesOf('er', RESOURCE_BRIEF_COLUMNS) };

const X_ENTITLEMENT = aliasesOf('x', ENTITLEMENT_COLUMNS);
const X_RESOURCE = aliasesOf('x', RESOURCE_BRIEF_COLUMNS);
const X_RESOURCE_OF = aliasesOf('xr', RESOURCE_BRIEF_COLUMNS);

const cols = (table: string, columns: readonly string[], prefix?: string) =>
  columns.map((c) => (prefix ? `${table}.${c} AS ${prefix}_${c}` : `${table}.${c}`)).join(', ');

/**
 * The text of a `pageUnder` statement: $1 the parent's id, then the cursor's grant id if there is
 * one, then limit + 1.
 * The parent is a subquery kept apart by OFFSET 0, so the total beside it is computed once for the
 * one parent row rather than for every grant. The statement starts with SELECT, so the pool keeps it
 * as a named prepared statement like the others (see @warden/database createDb).
 */
function underStatement(kind: 'entitlement' | 'resource', includeInherited: boolean, withCount: boolean, hasAfter: boolean): string {
  const onParent =
    kind === 'entitlement'
      ? 'g.connector_id = x.connector_id AND g.entitlement_key = x.key'
      : 'g.connector_id = x.connector_id AND g.principal_external_id = x.external_id';
  // As in `list`: the count of distinct pairs is what the page shows with inherited rows.
  const countOf = (xRef: string) => {
    const on =
      kind === 'entitlement'
        ? `g.connector_id = ${xRef}.connector_id AND g.entitlement_key = ${xRef}.key`
        : `g.connector_id = ${xRef}.connector_id AND g.principal_external_id = ${xRef}.external_id`;
    return includeInherited
      ? `(SELECT count(*) FROM (SELECT DISTINCT g.entitlement_key, g.principal_external_id FROM grants g WHERE ${on}) pairs)`
      : `(SELECT count(*) FROM grants g WHERE ${on} AND g.direct)`;
  };
  const parent =
    kind === 'entitlement'
      ? `SELECT ${cols('p0', ENTITLEMENT_COLUMNS)}, ${withCount ? countOf('p0') : 'NULL::bigint'} AS total_count FROM entitlements p0 WHERE p0.id = $1::uuid OFFSET 0`
      : `SELECT ${cols('p0', RESOURCE_BRIEF_COLUMNS)}, ${withCount ? countOf('p0') : 'NULL::bigint'} AS total_count FROM resources p0 WHERE p0.id = $1::uuid OFFSET 0`;
  // The relations a row of this page varies by: its principal under an entitlement, its entitlement
  // and that entitlement's resource under a principal.
  const relations =
    kind === 'entitlement'
      ? {
          select: cols('p', RESOURCE_BRIEF_COLUMNS, 'p'),
          join: 'LEFT JOIN resources p ON p.connector_id = g.connector_id AND p.external_id = g.principal_external_id',
        }
      : {
          select: `${cols('e', ENTITLEMENT_COLUMNS, 'e')}, ${cols('er', RESOURCE_BRIEF_COLUMNS, 'er')}`,
          join: `LEFT JOIN entitlements e ON e.connector_id = g.connector_id AND e.key = g.entitlement_key
        LEFT JOIN resources er ON er.connector_id = e.connector_id AND er.external_id = e.resource_external_id`,
        };
  // OFFSET 0 in the probe: see `list`.
  const shown = includeInherited
    ? `(g.direct OR NOT EXISTS (SELECT 1 FROM grants d WHERE d.connector_id = g.connector_id
        AND d.entitlement_key = g.entitlement_key AND d.principal_external_id = g.principal_external_id AND d.direct OFFSET 0))`
    : 'g.direct';
  return `SELECT ${cols('x', kind === 'entitlement' ? ENTITLEMENT_COLUMNS : RESOURCE_BRIEF_COLUMNS, 'x')},${
    kind === 'entitlement' ? ` ${cols('xr', RESOURCE_BRIEF_COLUMNS, 'xr')},` : ''
  } x.total_count, pg.*
  FROM (${parent}) x${
    kind === 'entitlement' ? ' LEFT JOIN resources xr ON xr.connector_id = x.connector_id AND xr.external_id = x.resource_external_id' : ''
  }
  LEFT JOIN LATERAL (
    SELECT ${cols('g', GRANT_COLUMNS)}, ${GRANT_TEXT_COLUMNS.map((c) => `g.${c}::text AS ${c}`).join(', ')}, ${relations.select}
    FROM grants g
    ${relations.join}
    WHERE ${onParent} AND ${shown}${hasAfter ? ' AND g.id > $2::uuid' : ''}
    ORDER BY g.id LIMIT ${hasAfter ? '$3' : '$2'}
  ) pg ON true
  ORDER BY pg.id`;
}

function primeRelations(loaders: Loaders, row: Record<string, unknown>): void {
  const e = joined<EntitlementListRow>(row, E_ALIASES);
  if (e) {
    loaders.entitlementByKey.prime(scoped(e.connector_id, e.key), e);
    loaders.entitlementById.prime(e.id, e);
  }
  for (const aliases of [RESOURCE_ALIASES.p, RESOURCE_ALIASES.er]) {
    const r = joined<ResourceListRow>(row, aliases);
    if (r) {
      loaders.resourceByExternalId.prime(scoped(r.connector_id, r.external_id), r);
      loaders.resourceById.prime(r.id, r);
    }
  }
}

/** A grants page as the field under `entitlement(id)` or `resource(id)` asks for it. */
export interface GrantPageRequest {
  first: number | null | undefined;
  after: string | null | undefined;
  includeInherited: boolean;
  withCount: boolean;
}

/** What `pageUnder` found: the parent row (null when no row has that id) and, with it, its page. */
export type ParentWithPage<P> = { parent: P; page: PageResult<Grant> } | { parent: null; page: null };

export interface GrantFilter {
  connectorId: string;
  entitlementKey?: string;
  principalExternalId?: string;
  includeInherited: boolean;
}

export class GrantService {
  private readonly statements: Statements<Database>;

  constructor(private readonly db: Kysely<Database>) {
    this.statements = new Statements(db);
  }

  /**
   * Keyset page by id over the index that matches the filter. An inherited row shows only when the
   * principal holds no direct row for the same entitlement (the unique key answers that probe).
   */
  async list(
    filter: GrantFilter,
    first: number | null | undefined,
    after: string | null | undefined,
    prime?: Loaders,
    withCount = false,
  ): Promise<PageResult<Grant>> {
    const limit = pageSize(first);
    const afterId = decodeIdCursor(after);
    const values = [filter.connectorId, filter.entitlementKey, filter.principalExternalId, afterId, limit + 1];
    const P = Statements.param;
    // The statement depends on which filters are present; their values are bound (see Statements).
    const shape = `grants:${filter.entitlementKey !== undefined}:${filter.principalExternalId !== undefined}:${filter.includeInherited}:${withCount}:${afterId !== null}`;
    const scope = (v: readonly unknown[]) => {
      let q = this.db.selectFrom('grants as g').where('g.connector_id', '=', v[0] as string);
      if (filter.entitlementKey !== undefined) q = q.where('g.entitlement_key', '=', v[1] as string);
      if (filter.principalExternalId !== undefined) q = q.where('g.principal_external_id', '=', v[2] as string);
      return q;
    };
    const base = (v: readonly unknown[]) => {
      const q = scope(v);
      // OFFSET 0 keeps the probe a per-row unique-index lookup: without it the planner may turn the
      // EXISTS into a hashed subplan that reads every direct grant in the table once an inherited
      // row shows up (70 ms instead of 0.5 ms for a page on the M tenant, worse on L).
      return filter.includeInherited
        ? q.where(sql<boolean>`(g.direct OR NOT EXISTS (SELECT 1 FROM grants d WHERE d.connector_id = g.connector_id
              AND d.entitlement_key = g.entitlement_key AND d.principal_external_id = g.principal_external_id AND d.direct OFFSET 0))`)
        : q.where('g.direct', '=', true);
    };
    // The unique key (connector, entitlement, principal, direct) allows one direct and one inherited
    // row per pair, so the rows shown with includeInherited are exactly the distinct pairs: an
    // index-only scan instead of one probe per inherited row (2 ms instead of 12 ms for 5,000 members).
    const count = (v: readonly unknown[]) =>
      filter.includeInherited
        ? this.db
            .selectFrom(scope(v).select(['g.entitlement_key', 'g.principal_external_id']).distinct().as('pairs'))
            .select((eb) => eb.fn.countAll<string>().as('n'))
        : base(v).select((eb) => eb.fn.countAll<string>().as('n'));
    // The page brings along the relations that differ from row to row (unique-key lookups on at most
    // `first` rows) and primes the request's loaders with them, so a dashboard page is one round trip.
    // A relation the filter fixes (the entitlement and its resource on an entitlement's page, the
    // principal on a principal's page) is the same on every row: joining it would parse the same
    // JSON `first` times, and the loaders already hold it when the page was reached by id.
    const joinEntitlement = filter.entitlementKey === undefined;
    const joinPrincipal = filter.principalExternalId === undefined;
    const build = () => {
      const v = [P(0), P(1), P(2), P(3), P(4)];
      let q = base(v)
        .select(GRANT_COLUMNS.map((c) => `g.${c}` as const))
        .select(GRANT_TEXT_COLUMNS.map((c) => sql<string>`${sql.ref(`g.${c}`)}::text`.as(c)))
        // The count's `g` is its own FROM item, so the subquery is uncorrelated and runs once.
        .select(totalColumn(withCount ? count(v) : null))
        .$if(joinEntitlement, (qb) =>
          qb
            .leftJoin('entitlements as e', (j) => j.onRef('e.connector_id', '=', 'g.connector_id').onRef('e.key', '=', 'g.entitlement_key'))
            .leftJoin('resources as er', (j) =>
              j.onRef('er.connector_id', '=', 'e.connector_id').onRef('er.external_id', '=', 'e.resource_external_id'),
            )
            .select(ENTITLEMENT_COLUMNS.map((c) => sql.ref(`e.${c}`).as(`e_${c}`)))
            .select(RESOURCE_BRIEF_COLUMNS.map((c) => sql.ref(`er.${c}`).as(`er_${c}`))),
        )
        .$if(joinPrincipal, (qb) =>
          qb
            .leftJoin('resources as p', (j) =>
              j.onRef('p.connector_id', '=', 'g.connector_id').onRef('p.external_id', '=', 'g.principal_external_id'),
            )
            .select(RESOURCE_BRIEF_COLUMNS.map((c) => sql.ref(`p.${c}`).as(`p_${c}`))),
        );
      if (afterId) q = q.where('g.id', '>', v[3] as string);
      return q.orderBy('g.id').limit(v[4] as number);
    };
    const rows = (await this.statements.run(shape, build, values)).rows as Array<Record<string, unknown>>;
    if (prime) for (const r of rows) primeRelations(prime, r);
    return this.toGrantPage(rows, limit, async () => Number((await count(values).executeTakeFirstOrThrow()).n));
  }

  /**
   * `entitlement(id) { grants }` and `resource(id) { grants }` in one statement: the parent row by id,
   * the entitlement's resource (an entitlement page shows it beside its name), the page with the
   * relations that vary per row, and the total. Two round trips before (the parent, then the page
   * keyed by its natural key), and the second could not start before the first had come back. The
   * parent and the relations are primed into the request's loaders, so the fields under them
   * resolve without SQL; the resource rows are the brief ones (a profile is loaded if asked for).
   * The same rows, order and total as `list` with the parent's filter (test/one-round-trip.test.ts).
   */
  async pageUnder<K extends 'entitlement' | 'resource'>(
    kind: K,
    id: string,
    req: GrantPageRequest,
    prime: Loaders,
  ): Promise<ParentWithPage<K extends 'entitlement' ? EntitlementListRow : ResourceListRow>> {
    const limit = pageSize(req.first);
    const afterId = decodeIdCursor(req.after);
    const shape = `under:${kind}:${req.includeInherited}:${req.withCount}:${afterId !== null}`;
    let text = this.underStatements.get(shape);
    if (text === undefined)
      this.underStatements.set(shape, (text = underStatement(kind, req.includeInherited, req.withCount, afterId !== null)));
    const { rows } = await this.db.executeQuery<Record<string, unknown>>(
      CompiledQuery.raw(text, afterId === null ? [id, limit + 1] : [id, afterId, limit + 1]),
    );
    const first = rows[0];
    if (!first) return { parent: null, page: null };
    type P = K extends 'entitlement' ? EntitlementListRow : ResourceListRow;
    const parent = joined<P>(first, kind === 'entitlement' ? X_ENTITLEMENT : X_RESOURCE)!;
    if (kind === 'entitlement') {
      const e = parent as EntitlementListRow;
      prime.entitlementById.prime(e.id, e);
      prime.entitlementByKey.prime(scoped(e.connector_id, e.key), e);
      // A null too: the entitlement's resource is not stored (yet), and asking again would not find it.
      prime.resourceByExternalId.prime(scoped(e.connector_id, e.resource_external_id), joined<ResourceListRow>(first, X_RESOURCE_OF));
    } else {
      const r = parent as ResourceListRow;
      prime.resourceById.prime(r.id, r);
      prime.resourceByExternalId.prime(scoped(r.connector_id, r.external_id), r);
    }
    // The LEFT JOIN LATERAL leaves one row with no grant when the page is empty.
    const pageRows = first['id'] === null ? [] : rows;
    for (const r of pageRows) primeRelations(prime, r);
    const filter: GrantFilter =
      kind === 'entitlement'
        ? {
            connectorId: (parent as EntitlementListRow).connector_id,
            entitlementKey: (parent as EntitlementListRow).key,
            includeInherited: req.includeInherited,
          }
        : {
            connectorId: (parent as ResourceListRow).connector_id,
            principalExternalId: (parent as ResourceListRow).external_id,
            includeInherited: req.includeInherited,
          };
    const page = this.toGrantPage(pageRows, limit, () => this.count(filter), knownTotal([first as { total_count: string | null }]));
    return { parent, page };
  }

  private readonly underStatements = new Map<string, string>();

  private async count(filter: GrantFilter): Promise<number> {
    // The page is empty, and the statement did not carry the total (not selected): rare, so built here.
    return (await this.list(filter, 0, null, undefined, true)).totalCount();
  }

  private toGrantPage(
    rows: Array<Record<string, unknown>>,
    limit: number,
    count: () => Promise<number>,
    total = knownTotal(rows as Array<{ total_count: string | null }>),
  ): PageResult<Grant> {
    return toPage(rows as unknown as GrantListRow[], limit, (r) => [r.id], toGrant, count, total);
  }
}
