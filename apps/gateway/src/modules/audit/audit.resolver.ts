import { Args, ArgsType, Ctx, Field, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import { requireReader } from '../../auth/authorize';
import type { GatewayContext } from '../../context';
import { decodeCursor, isUuid, pageSize } from '../../pagination/cursor';
import { toPage } from '../../pagination/page';
import { Connector, toConnector } from '../connectors/connector.type';
import { PageArgs } from '../shared/args';
import { AuditEvent, AuditEventConnection, toAuditEvent } from './audit-event.type';

@ArgsType()
class AuditEventsArgs extends PageArgs {
  @Field(() => ID, { nullable: true })
  connectorId?: string | null;
}

@Resolver(() => AuditEvent)
export class AuditResolver {
  /** Newest first, keyset on the bigserial id. */
  @Query(() => AuditEventConnection)
  async auditEvents(@Args(() => AuditEventsArgs) a: AuditEventsArgs, @Ctx() ctx: GatewayContext): Promise<InstanceType<typeof AuditEventConnection>> {
    requireReader(ctx.caller);
    const limit = pageSize(a.first);
    const cursor = decodeCursor(a.after, ['number']);
    const db = ctx.deps.db;
    const connectorId = a.connectorId ?? null;
    if (connectorId !== null && !isUuid(connectorId)) return new AuditEventConnection(toPage([], limit, () => [], toAuditEvent, async () => 0));
    const base = () => (connectorId ? db.selectFrom('audit_events').where('connector_id', '=', connectorId) : db.selectFrom('audit_events'));
    let q = base().selectAll();
    if (cursor) q = q.where('id', '<', String(cursor[0]));
    const rows = await q.orderBy('id', 'desc').limit(limit + 1).execute();
    return new AuditEventConnection(
      toPage(rows, limit, (r) => [Number(r.id)], toAuditEvent, async () => {
        const r = await base().select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        return Number(r.n);
      }),
    );
  }

  @FieldResolver(() => Connector, { nullable: true })
  async connector(@Root() e: AuditEvent, @Ctx() ctx: GatewayContext): Promise<Connector | null> {
    if (!e.connectorId) return null;
    const row = await ctx.loaders.connectorById.load(e.connectorId);
    return row ? toConnector(row) : null;
  }
}
