import { Args, ArgsType, Authorized, Ctx, Field, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import type { GatewayContext } from '../../context';
import { Connector, toConnector } from '../connectors/connector.type';
import { PageArgs } from '../shared/args';
import { AuditEvent, AuditEventConnection } from './audit-event.type';

@ArgsType()
class AuditEventsArgs extends PageArgs {
  @Field(() => ID, { nullable: true })
  connectorId?: string | null;
}

@Resolver(() => AuditEvent)
export class AuditResolver {
  /** Newest first, keyset on the bigserial id. */
  @Query(() => AuditEventConnection)
  @Authorized()
  async auditEvents(
    @Args(() => AuditEventsArgs) a: AuditEventsArgs,
    @Ctx() ctx: GatewayContext,
  ): Promise<InstanceType<typeof AuditEventConnection>> {
    return new AuditEventConnection(await ctx.services.audit.list(a.connectorId ?? null, a.first, a.after));
  }

  @FieldResolver(() => Connector, { nullable: true })
  async connector(@Root() e: AuditEvent, @Ctx() ctx: GatewayContext): Promise<Connector | null> {
    if (!e.connectorId) return null;
    const row = await ctx.loaders.connectorById.load(e.connectorId);
    return row ? toConnector(row) : null;
  }
}
