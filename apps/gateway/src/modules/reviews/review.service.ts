import DataLoader from 'dataloader';
import { sql, type Kysely } from 'kysely';
import {
  cancelAccessReview,
  completeAccessReview,
  createAccessReview,
  decideReviewItems,
  retryRemediations,
  ReviewError,
  type CreateReviewInput,
  type ReviewActor,
} from '@warden/access-model';
import type { AccessReviewUpdated } from '@warden/bus';
import {
  ACCESS_REVIEW_STATUSES,
  type AccessReviewItemRow,
  type AccessReviewRow,
  type AccessReviewStatus,
  type Database,
  type ProvisioningTaskRow,
  type ReviewDecision,
} from '@warden/database';
import { MEMBER, type Caller } from '../../auth/roles';
import type { GatewayDeps, GatewayContext } from '../../context';
import { BadUserInputError, ForbiddenError, NotFoundError, ruleErrors } from '../../errors';
import { decodeCursor, decodeIdCursor, isUuid, pageSize } from '../../pagination/cursor';
import { isTimestampKey, timestampKey } from '../../pagination/keyset';
import { knownTotal, toPage, totalColumn, type PageResult } from '../../pagination/page';
import { Statements } from '../../execution/statements';
import { aliasesOf, joined, scoped, type Loaders } from '../../loaders';
import { ENTITLEMENT_COLUMNS, type EntitlementListRow } from '../entitlements/entitlement.type';
import { RESOURCE_BRIEF_COLUMNS, type ResourceListRow } from '../resources/resource.type';
import { eventStream } from '../../subscriptions/event-stream';
import { toAccessReview, toAccessReviewItem, type AccessReview, type AccessReviewItem, type AccessReviewProgress } from './review.type';

/** The workflow's refusals as the contract's coded errors. */
const refusals = ruleErrors((e): e is ReviewError => e instanceof ReviewError);
export const asGatewayError = refusals.map;
const mapped = refusals.wrap;

export function reviewActor(caller: Caller): ReviewActor {
  return { subject: caller.sub, role: caller.role, tid: caller.tid ?? null, oid: caller.oid ?? null };
}

type TenantRow = { id: string; owners: string[]; tenant_id: string | null; consented_tenant_id: string | null };

/** Per-request loaders of this module, kept beside the request's own (a subscription event gets fresh ones with refreshLoaders). */
function reviewLoaders(db: Kysely<Database>) {
  const byIds = <R extends { id: string }>(load: (ids: string[]) => Promise<R[]>) =>
    new DataLoader<string, R | null>(async (ids) => {
      const valid = [...new Set(ids.filter(isUuid))];
      const rows = valid.length ? await load(valid) : [];
      const map = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => map.get(id) ?? null);
    });
  return {
    review: byIds<AccessReviewRow>((ids) => db.selectFrom('access_reviews').selectAll().where('id', 'in', ids).execute()),
    task: byIds<ProvisioningTaskRow>((ids) => db.selectFrom('provisioning_tasks').selectAll().where('id', 'in', ids).execute()),
    connector: byIds<TenantRow>((ids) =>
      db.selectFrom('connectors').select(['id', 'owners', 'tenant_id', 'consented_tenant_id']).where('id', 'in', ids).execute(),
    ),
    progress: new DataLoader<string, AccessReviewProgress>(async (ids) => {
      const valid = [...new Set(ids.filter(isUuid))];
      const rows = valid.length
        ? (
            await sql<AccessReviewProgress & { review_id: string }>`
              SELECT i.review_id,
                count(*)::int AS total,
                count(i.decision)::int AS decided,
                count(*) FILTER (WHERE i.decision = 'KEEP')::int AS kept,
                count(*) FILTER (WHERE i.decision = 'REVOKE')::int AS revoked,
                count(*) FILTER (WHERE t.status = 'SUCCEEDED')::int AS remediated,
                count(*) FILTER (WHERE t.status = 'FAILED' OR i.remediation_error IS NOT NULL)::int AS "remediationFailed",
                count(i.regranted_at)::int AS regranted
              FROM access_review_items i
              LEFT JOIN provisioning_tasks t ON t.id = i.remediation_task_id
              WHERE i.review_id = ANY(${valid}::uuid[])
              GROUP BY i.review_id`.execute(db)
          ).rows
        : [];
      const map = new Map(rows.map((r) => [r.review_id, r]));
      const empty: AccessReviewProgress = { total: 0, decided: 0, kept: 0, revoked: 0, remediated: 0, remediationFailed: 0, regranted: 0 };
      return ids.map((id) => {
        const r = map.get(id);
        return r
          ? {
              total: r.total,
              decided: r.decided,
              kept: r.kept,
              revoked: r.revoked,
              remediated: r.remediated,
              remediationFailed: r.remediationFailed,
              regranted: r.regranted,
            }
          : empty;
      });
    }),
  };
}

const loaderCache = new WeakMap<object, ReturnType<typeof reviewLoaders>>();

/** This module's loaders for the request (or subscription event) `ctx` is serving. */
export function loadersOf(ctx: GatewayContext): ReturnType<typeof reviewLoaders> {
  let l = loaderCache.get(ctx.loaders);
  if (!l) {
    l = reviewLoaders(ctx.deps.db);
    loaderCache.set(ctx.loaders, l);
  }
  return l;
}

/** The caller's Graph object id in a connector (token tid = the connector's tenant), as `me` links identities. */
export function callerOidIn(caller: Caller, c: Pick<TenantRow, 'tenant_id' | 'consented_tenant_id'>): string | null {
  if (!caller.tid || !caller.oid) return null;
  const tid = caller.tid.toLowerCase();
  return c.tenant_id?.toLowerCase() === tid || c.consented_tenant_id?.toLowerCase() === tid ? caller.oid : null;
}

/**
 * Items (alias `i`) whose named reviewers include the caller — its subject, or its Graph object id
 * in the item's connector — never its own access. One probe of the reviewer_keys GIN index.
 */
export function mineSql(subject: string, oid: string | null) {
  return oid
    ? sql<boolean>`i.reviewer_keys && ARRAY[${`s:${subject}`}, ${`o:${oid}`}]::text[] AND i.principal_external_id <> ${oid}`
    : sql<boolean>`i.reviewer_keys @> ARRAY[${`s:${subject}`}]::text[]`;
}

// `id` first: joined() tests it for a match.
const E_ALIASES = aliasesOf('e', ENTITLEMENT_COLUMNS);
const P_ALIASES = aliasesOf('p', RESOURCE_BRIEF_COLUMNS);

/** Access reviews: reads, the queues of reviewers, and the writes (rules in @warden/access-model). */
export class ReviewService {
  private readonly statements: Statements<Database>;

  constructor(private readonly deps: GatewayDeps) {
    this.statements = new Statements(deps.db);
  }

  create(caller: Caller, input: CreateReviewInput): Promise<AccessReviewRow> {
    return mapped(createAccessReview(this.deps.db, this.deps.bus, reviewActor(caller), input).then((r) => r.review));
  }

  decide(caller: Caller, itemIds: string[], decision: ReviewDecision, comment: string | null | undefined): Promise<AccessReviewItemRow[]> {
    return mapped(decideReviewItems(this.deps.db, this.deps.bus, reviewActor(caller), itemIds, decision, comment));
  }

  complete(caller: Caller, id: string): Promise<AccessReviewRow> {
    return mapped(completeAccessReview(this.deps.db, this.deps.bus, reviewActor(caller), id));
  }

  cancel(caller: Caller, id: string): Promise<AccessReviewRow> {
    return mapped(cancelAccessReview(this.deps.db, this.deps.bus, reviewActor(caller), id));
  }

  async retry(caller: Caller, id: string): Promise<AccessReviewRow> {
    await mapped(retryRemediations(this.deps.db, this.deps.bus, reviewActor(caller), id));
    return this.deps.db.selectFrom('access_reviews').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  }

  /**
   * Whether the caller may read the review: any platform role; a member only when it is a reviewer
   * of at least one of its items (and then only its own items: see items()).
   */
  async mayRead(ctx: GatewayContext, caller: Caller, review: AccessReviewRow): Promise<boolean> {
    if (caller.role !== MEMBER) return true;
    const connector = await loadersOf(ctx).connector.load(review.connector_id);
    if (!connector) return false;
    const oid = callerOidIn(caller, connector);
    const r = await sql<{ ok: boolean }>`
      SELECT EXISTS (
        SELECT 1 FROM access_review_items i
        WHERE i.review_id = ${review.id} AND ${this.mineSql(caller.sub, oid)}) AS ok`.execute(this.deps.db);
    return r.rows[0]?.ok === true;
  }

  /** The review, refused (FORBIDDEN) to a member who reviews nothing in it. */
  async readable(ctx: GatewayContext, caller: Caller, id: string): Promise<AccessReviewRow | null> {
    const row = await loadersOf(ctx).review.load(id);
    if (!row) return null;
    if (!(await this.mayRead(ctx, caller, row))) throw new ForbiddenError('you are not a reviewer in this access review');
    return row;
  }

  private mineSql(subject: string, oid: string | null) {
    return mineSql(subject, oid);
  }

  /** Newest first: (created_at, id) descending. */
  async list(
    connectorId: string | null | undefined,
    status: AccessReviewStatus | null | undefined,
    first?: number | null,
    after?: string | null,
  ) {
    const limit = pageSize(first);
    const cursor = decodeCursor(after, ['string', 'string']);
    if (cursor && (!isTimestampKey(cursor[0] as string) || !isUuid(cursor[1] as string)))
      throw new BadUserInputError('`after` is not a cursor returned by this API');
    if (connectorId && !isUuid(connectorId))
      return toPage<AccessReviewRow & { created_key: string }, AccessReview>(
        [],
        limit,
        () => [],
        toAccessReview,
        async () => 0,
      );
    if (status && !ACCESS_REVIEW_STATUSES.includes(status)) throw new BadUserInputError(`unknown status ${status}`);
    const db = this.deps.db;
    const filtered = () => {
      let q = db.selectFrom('access_reviews');
      if (connectorId) q = q.where('connector_id', '=', connectorId);
      if (status) q = q.where('status', '=', status);
      return q;
    };
    let q = filtered().selectAll().select(timestampKey('created_at').as('created_key'));
    if (cursor) q = q.where(sql<boolean>`(created_at, id) < (${cursor[0]}::timestamptz, ${cursor[1]}::uuid)`);
    const rows = await q
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    return toPage(
      rows,
      limit,
      (r) => [r.created_key, r.id],
      toAccessReview,
      async () =>
        Number(
          (
            await filtered()
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        ),
    );
  }

  /**
   * A review's items in id order. `mine` (forced for members): only items the caller is a named
   * reviewer of, never its own access; `decided` filters on whether a decision was made.
   */
  async items(
    ctx: GatewayContext,
    caller: Caller,
    review: AccessReview,
    opts: { decided?: boolean | null; mine?: boolean | null },
    first?: number | null,
    after?: string | null,
  ): Promise<PageResult<AccessReviewItem>> {
    const limit = pageSize(first);
    const cursor = decodeIdCursor(after);
    const mine = opts.mine === true || caller.role === MEMBER;
    const connector = mine ? await loadersOf(ctx).connector.load(review.connectorId) : null;
    const oid = connector ? callerOidIn(caller, connector) : null;
    const db = this.deps.db;
    const filtered = () => {
      let q = db.selectFrom('access_review_items as i').where('i.review_id', '=', review.id);
      if (mine) q = q.where(this.mineSql(caller.sub, oid));
      if (opts.decided === true) q = q.where('i.decision', 'is not', null);
      if (opts.decided === false) q = q.where('i.decision', 'is', null);
      return q;
    };
    let q = filtered().selectAll('i');
    if (cursor) q = q.where('i.id', '>', cursor);
    const rows = await q
      .orderBy('i.id')
      .limit(limit + 1)
      .execute();
    return toPage(
      rows,
      limit,
      (r) => [r.id],
      toAccessReviewItem,
      async () =>
        Number(
          (
            await filtered()
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        ),
    );
  }

  /**
   * Items of ACTIVE reviews the caller is a named reviewer of (by subject, or as the Entra user its
   * token names). One statement, built once per shape (Statements): the page, its total when
   * selected (`withCount`), and the entitlement and principal of each row when selected, primed into
   * the request's loaders (`prime`) so the fields under the page resolve without SQL. Three more
   * round trips before (the count, then the two relations' loaders), each planned by Postgres.
   */
  async myItems(
    caller: Caller,
    pending: boolean,
    first?: number | null,
    after?: string | null,
    opts: { withCount?: boolean; prime?: Loaders; entitlement?: boolean; principal?: boolean } = {},
  ): Promise<PageResult<AccessReviewItem>> {
    const limit = pageSize(first);
    const cursor = decodeIdCursor(after);
    const db = this.deps.db;
    const tid = caller.tid?.toLowerCase() ?? null;
    const oid = caller.oid ?? null;
    const byOid = oid !== null && tid !== null;
    const withCount = opts.withCount === true;
    const joinEntitlement = opts.prime !== undefined && opts.entitlement === true;
    const joinPrincipal = opts.prime !== undefined && opts.principal === true;
    const values = [`s:${caller.sub}`, `o:${oid ?? ''}`, oid, tid, cursor, limit + 1];
    const P = Statements.param;
    const shape = `myItems:${byOid}:${pending}:${withCount}:${cursor !== null}:${joinEntitlement}:${joinPrincipal}`;
    const filtered = () => {
      // Connectors whose tenant is the caller's: there its oid names it.
      const tenantConnectors = sql`(SELECT id FROM connectors WHERE lower(tenant_id) = ${P<string>(3)} OR lower(consented_tenant_id) = ${P<string>(3)})`;
      const mine = byOid
        ? sql<boolean>`(i.reviewer_keys @> ARRAY[${P<string>(0)}]::text[]
            OR (i.reviewer_keys @> ARRAY[${P<string>(1)}]::text[] AND i.connector_id IN ${tenantConnectors}))
          AND NOT (i.principal_external_id = ${P<string>(2)} AND i.connector_id IN ${tenantConnectors})`
        : sql<boolean>`i.reviewer_keys @> ARRAY[${P<string>(0)}]::text[]`;
      let q = db
        .selectFrom('access_review_items as i')
        .innerJoin('access_reviews as r', 'r.id', 'i.review_id')
        .where('r.status', '=', 'ACTIVE')
        .where(mine);
      if (pending) q = q.where('i.decision', 'is', null);
      return q;
    };
    const count = () => filtered().select((eb) => eb.fn.countAll<string>().as('n'));
    const build = () => {
      let q = filtered()
        .selectAll('i')
        // The count's `i` is its own FROM item, so the subquery is uncorrelated and runs once.
        .select(totalColumn(withCount ? count() : null))
        .$if(joinEntitlement, (qb) =>
          qb
            .leftJoin('entitlements as e', 'e.id', 'i.entitlement_id')
            .select(ENTITLEMENT_COLUMNS.map((c) => sql.ref(`e.${c}`).as(`e_${c}`))),
        )
        .$if(joinPrincipal, (qb) =>
          qb.leftJoin('resources as p', 'p.id', 'i.principal_id').select(RESOURCE_BRIEF_COLUMNS.map((c) => sql.ref(`p.${c}`).as(`p_${c}`))),
        );
      if (cursor !== null) q = q.where('i.id', '>', P<string>(4));
      return q.orderBy('i.id').limit(P<number>(5));
    };
    const rows = (await this.statements.run(shape, build, values)).rows as unknown as Array<
      AccessReviewItemRow & { total_count: string | null } & Record<string, unknown>
    >;
    const loaders = opts.prime;
    if (loaders)
      for (const r of rows) {
        // A relation the join did not find is primed as null: the loader would not find it either.
        if (joinEntitlement) {
          const e = joined<EntitlementListRow>(r, E_ALIASES);
          loaders.entitlementById.prime(r.entitlement_id, e);
          if (e) loaders.entitlementByKey.prime(scoped(e.connector_id, e.key), e);
        }
        if (joinPrincipal) {
          const p = joined<ResourceListRow>(r, P_ALIASES);
          loaders.resourceById.prime(r.principal_id, p);
          if (p) loaders.resourceByExternalId.prime(scoped(p.connector_id, p.external_id), p);
        }
      }
    return toPage(
      rows,
      limit,
      (r) => [r.id],
      toAccessReviewItem,
      // Only when the page is empty and the total was selected (a cursor past the end): rare.
      async () => Number((await this.statements.run(`myItems:count:${byOid}:${pending}`, count, values)).rows[0]!.n),
      knownTotal(rows),
    );
  }

  /** The review's events from NATS (any replica's), for Subscription.accessReviewUpdated. */
  async updates(ctx: GatewayContext, caller: Caller, id: string): Promise<AsyncIterableIterator<AccessReviewUpdated>> {
    if (!isUuid(id)) throw new NotFoundError(`access review ${id} does not exist`);
    const row = await this.readable(ctx, caller, id);
    if (!row) throw new NotFoundError(`access review ${id} does not exist`);
    return eventStream<AccessReviewUpdated>((push) => this.deps.bus.subscribeAccessReviewUpdated(id, push));
  }
}
