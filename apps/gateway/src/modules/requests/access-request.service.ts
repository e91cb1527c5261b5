import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import {
  AccessRequestError,
  cancelAccessRequest,
  decideAccessRequest,
  isDecider,
  oidInConnector,
  requestAccess,
  type RequestDeps,
} from '@warden/access-model';
import type { AccessRequestUpdated } from '@warden/bus';
import type { AccessRequestDecisionRow, AccessRequestRow, AccessRequestStatus, Database } from '@warden/database';
import { actorDetails } from '../../auth/audit-actor';
import { requireConnectorWriter } from '../../auth/authorize';
import { MEMBER, type Caller } from '../../auth/roles';
import type { GatewayDeps } from '../../context';
import { BadUserInputError, ForbiddenError, NotFoundError, ruleErrors, WardenError } from '../../errors';
import { decodeCursor, isUuid, pageSize } from '../../pagination/cursor';
import { toPage, type PageResult } from '../../pagination/page';
import { eventStream } from '../../subscriptions/event-stream';

export interface AccessRequestFilter {
  connectorId?: string | null;
  status?: AccessRequestStatus | null;
  mine?: boolean | null;
  awaitingMyDecision?: boolean | null;
}

type ConnectorTenant = { id: string; display_name: string; owners: string[]; tenant_id: string | null; consented_tenant_id: string | null };

/** The workflow's refusals as the contract's coded errors. */
const refusals = ruleErrors((e): e is AccessRequestError => e instanceof AccessRequestError);
export const asGatewayError = refusals.map;
const mapped = refusals.wrap;

/**
 * Access requests (Query.accessRequests / accessRequest, requestAccess, approve / deny / cancel,
 * Subscription.accessRequestUpdated). The rules of the workflow are @warden/access-model's; this
 * decides who the caller is in the request's connector and what it may see:
 * - callers with a platform role read every request; a member reads the requests it made, those for
 *   one of its identities, and those it decides (or decided);
 * - a member requests only for its own identity; SUPER_ADMIN and the connector's CONNECTOR_ADMIN
 *   owners for any principal of the connector;
 * - only a current approver decides (whatever its role); the requester or the connector's admins cancel.
 */
export class AccessRequestService {
  private readonly workflow: RequestDeps;

  constructor(private readonly deps: GatewayDeps) {
    this.workflow = { db: deps.db, bus: deps.bus };
  }

  private async connector(id: string): Promise<ConnectorTenant> {
    const c = await this.deps.db
      .selectFrom('connectors')
      .select(['id', 'display_name', 'owners', 'tenant_id', 'consented_tenant_id'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!c) throw new NotFoundError(`connector ${id} does not exist`);
    return c;
  }

  private async row(id: string): Promise<AccessRequestRow | null> {
    if (!isUuid(id)) return null;
    return (await this.deps.db.selectFrom('access_requests').selectAll().where('id', '=', id).executeTakeFirst()) ?? null;
  }

  /** Connectors whose tenant is the caller's token tenant (where its `oid` names a synced user). */
  private async myConnectorIds(caller: Caller): Promise<string[]> {
    if (!caller.tid || !caller.oid) return [];
    const tid = caller.tid.toLowerCase();
    const rows = await this.deps.db
      .selectFrom('connectors')
      .select('id')
      .where((eb) => eb.or([eb(sql<string>`lower(tenant_id)`, '=', tid), eb(sql<string>`lower(consented_tenant_id)`, '=', tid)]))
      .execute();
    return rows.map((r) => r.id);
  }

  /** Whether a member may see this request (requester, its principal, a current or past decider). */
  private async memberMaySee(caller: Caller, row: AccessRequestRow): Promise<boolean> {
    if (row.requested_by === caller.sub) return true;
    const oid = oidInConnector(await this.connector(row.connector_id), caller);
    if (oid && oid === row.principal_external_id) return true;
    if (isDecider(row.approvers, { subject: caller.sub, oid })) return true;
    const decided = await this.deps.db
      .selectFrom('access_request_decisions')
      .select('id')
      .where('request_id', '=', row.id)
      .where('actor', '=', caller.sub)
      .executeTakeFirst();
    return !!decided;
  }

  async find(caller: Caller, id: string): Promise<AccessRequestRow | null> {
    const row = await this.row(id);
    if (!row) return null;
    if (caller.role === MEMBER && !(await this.memberMaySee(caller, row)))
      throw new ForbiddenError('a member may read only its own requests and those it decides', { connectorId: row.connector_id });
    return row;
  }

  async list(
    caller: Caller,
    f: AccessRequestFilter,
    first: number | null | undefined,
    after: string | null | undefined,
    withTotal: boolean,
  ) {
    const limit = pageSize(first);
    const cursor = decodeCursor(after, ['string', 'string']);
    if (cursor && (!isUuid(cursor[1] as string) || Number.isNaN(Date.parse(cursor[0] as string))))
      throw new BadUserInputError('`after` is not a cursor returned by this API');
    if (f.connectorId && !isUuid(f.connectorId)) throw new NotFoundError(`connector ${f.connectorId} does not exist`);
    const mine = await this.myConnectorIds(caller);
    const oid = caller.oid ?? '';
    const sub = caller.sub;
    const inMine = (eb: ExpressionBuilder<Database & { r: Database['access_requests'] }, 'r'>) =>
      mine.length ? eb('r.connector_id', 'in', mine) : sql<SqlBool>`false`;
    const mineExpr = (eb: ExpressionBuilder<Database & { r: Database['access_requests'] }, 'r'>): Expression<SqlBool> =>
      eb.or([eb('r.requested_by', '=', sub), eb.and([inMine(eb), eb('r.principal_external_id', '=', oid)])]);
    const awaitingExpr = (eb: ExpressionBuilder<Database & { r: Database['access_requests'] }, 'r'>): Expression<SqlBool> =>
      eb.and([
        eb('r.status', '=', 'PENDING'),
        eb.or([sql<SqlBool>`${sub} = ANY(r.approver_subjects)`, eb.and([inMine(eb), sql<SqlBool>`${oid} = ANY(r.approver_oids)`])]),
      ]);
    let q = this.deps.db.selectFrom('access_requests as r');
    if (f.connectorId) q = q.where('r.connector_id', '=', f.connectorId);
    if (f.status) q = q.where('r.status', '=', f.status);
    if (f.mine) q = q.where(mineExpr);
    if (f.awaitingMyDecision) q = q.where(awaitingExpr);
    if (caller.role === MEMBER)
      q = q.where((eb) =>
        eb.or([
          mineExpr(eb),
          awaitingExpr(eb),
          eb.exists(
            eb.selectFrom('access_request_decisions as d').select('d.id').whereRef('d.request_id', '=', 'r.id').where('d.actor', '=', sub),
          ),
        ]),
      );
    const count = () =>
      q
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
        .then((r) => Number(r.n));
    let pageQ = q.selectAll('r');
    if (cursor) {
      const at = new Date(cursor[0] as string);
      pageQ = pageQ.where((eb) =>
        eb.or([eb('r.created_at', '<', at), eb.and([eb('r.created_at', '=', at), eb('r.id', '<', cursor[1] as string)])]),
      );
    }
    const rows = await pageQ
      .orderBy('r.created_at', 'desc')
      .orderBy('r.id', 'desc')
      .limit(limit + 1)
      .execute();
    const page: PageResult<AccessRequestRow> = toPage(
      rows,
      limit,
      (r) => [new Date(r.created_at as unknown as Date).toISOString(), r.id],
      (r) => r,
      count,
      withTotal ? undefined : null,
    );
    return page;
  }

  async request(
    caller: Caller,
    input: {
      entitlementId: string;
      principalId?: string | null;
      justification: string;
      durationSeconds?: number | null;
      idempotencyKey?: string | null;
    },
  ): Promise<AccessRequestRow> {
    const { db } = this.deps;
    if (!isUuid(input.entitlementId)) throw new NotFoundError(`entitlement ${input.entitlementId} does not exist`);
    const entitlement = await db
      .selectFrom('entitlements')
      .select(['id', 'connector_id'])
      .where('id', '=', input.entitlementId)
      .executeTakeFirst();
    if (!entitlement) throw new NotFoundError(`entitlement ${input.entitlementId} does not exist`);
    const connector = await this.connector(entitlement.connector_id);
    const oid = oidInConnector(connector, caller);
    const own = oid
      ? await db
          .selectFrom('resources')
          .select('id')
          .where('connector_id', '=', connector.id)
          .where('type', '=', 'USER')
          .where('external_id', '=', oid)
          .executeTakeFirst()
      : undefined;
    let principalId = input.principalId ?? null;
    if (principalId !== null && !isUuid(principalId)) throw new NotFoundError(`principal ${principalId} does not exist`);
    if (principalId === null) {
      if (!own)
        throw new ForbiddenError(
          `you have no identity in connector '${connector.display_name}' (your token's tenant and object id name none of its users)`,
          {
            connectorId: connector.id,
          },
        );
      principalId = own.id;
    } else if (principalId !== own?.id) {
      // Only the connector's admins request for someone else.
      try {
        requireConnectorWriter(caller, connector);
      } catch {
        throw new ForbiddenError('you may request access only for your own identity', { connectorId: connector.id });
      }
    }
    return mapped(
      requestAccess(
        this.workflow,
        { subject: caller.sub, oid, auditDetails: actorDetails(caller) },
        {
          entitlementId: entitlement.id,
          principalId,
          justification: input.justification,
          durationSeconds: input.durationSeconds ?? null,
          idempotencyKey: input.idempotencyKey ?? null,
        },
      ),
    );
  }

  async decide(caller: Caller, id: string, approved: boolean, comment: string | null | undefined): Promise<AccessRequestRow> {
    const row = await this.row(id);
    if (!row) throw new NotFoundError(`access request ${id} does not exist`);
    const oid = oidInConnector(await this.connector(row.connector_id), caller);
    try {
      return await decideAccessRequest(
        this.workflow,
        id,
        { subject: caller.sub, oid, auditDetails: actorDetails(caller) },
        { approved, comment },
      );
    } catch (err) {
      const e = asGatewayError(err);
      if (e instanceof ForbiddenError) throw new ForbiddenError(e.message, { connectorId: row.connector_id });
      throw e;
    }
  }

  async cancel(caller: Caller, id: string): Promise<AccessRequestRow> {
    const row = await this.row(id);
    if (!row) throw new NotFoundError(`access request ${id} does not exist`);
    if (row.requested_by !== caller.sub) {
      const connector = await this.connector(row.connector_id);
      try {
        requireConnectorWriter(caller, connector);
      } catch (err) {
        if (err instanceof WardenError)
          throw new ForbiddenError('only the requester or an admin of the connector may cancel a request', {
            connectorId: row.connector_id,
          });
        throw err;
      }
    }
    const oid = oidInConnector(await this.connector(row.connector_id), caller);
    return mapped(cancelAccessRequest(this.workflow, id, { subject: caller.sub, oid, auditDetails: actorDetails(caller) }));
  }

  async decisions(requestIds: readonly string[]): Promise<AccessRequestDecisionRow[][]> {
    const rows = await this.deps.db
      .selectFrom('access_request_decisions')
      .selectAll()
      .where('request_id', 'in', [...requestIds])
      .orderBy('step')
      .orderBy('at')
      .orderBy('id')
      .execute();
    return requestIds.map((id) => rows.filter((r) => r.request_id === id));
  }

  /** Live state changes of one request, for its requester, principal, deciders and platform roles. */
  async updates(caller: Caller, id: string): Promise<AsyncIterableIterator<AccessRequestUpdated>> {
    const row = await this.find(caller, id);
    if (!row) throw new NotFoundError(`access request ${id} does not exist`);
    return eventStream<AccessRequestUpdated>((push) => this.deps.bus.subscribeAccessRequestUpdated(id, push));
  }
}
