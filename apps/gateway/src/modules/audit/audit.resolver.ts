import type { GraphQLResolveInfo } from 'graphql';
import { Args, ArgsType, Authorized, Ctx, Extensions, Field, FieldResolver, ID, Info, Query, Resolver, Root } from 'type-graphql';
import { CONNECTOR_SCOPED, reads, readsConnector } from '../../response-cache/read-scope';
import type { GatewayContext } from '../../context';
import { selectsField } from '../../pagination/selection';
import { Connector, toConnector } from '../connectors/connector.type';
import { PageArgs } from '../shared/args';
import { DateTimeScalar } from '../shared/scalars';
import { AuditEvent, AuditEventConnection } from './audit-event.type';

@ArgsType()
class AuditEventsArgs extends PageArgs {
  @Field(() => ID, { nullable: true })
  connectorId?: string | null;

  @Field(() => String, { nullable: true, description: "Only this actor's rows (token subject, or 'system')." })
  actor?: string | null;

  @Field(() => String, { nullable: true, description: "Only this action, or every action under a prefix ending in '.' (e.g. 'grant.')." })
  action?: string | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Rows at or after this time.' })
  since?: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Rows before this time.' })
  until?: Date | null;
}

@Resolver(() => AuditEvent)
export class AuditResolver {
  /** Newest first, keyset on the bigserial id. */
  @Query(() => AuditEventConnection)
  @Authorized()
  @Extensions({ ...reads(), ...CONNECTOR_SCOPED })
  async auditEvents(
    @Args(() => AuditEventsArgs) a: AuditEventsArgs,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<InstanceType<typeof AuditEventConnection>> {
    readsConnector(ctx, a.connectorId ?? null);
    return new AuditEventConnection(await ctx.services.audit.list(a, a.first, a.after, selectsField(info, 'totalCount')));
  }

  @FieldResolver(() => Connector, { nullable: true })
  async connector(@Root() e: AuditEvent, @Ctx() ctx: GatewayContext): Promise<Connector | null> {
    if (!e.connectorId) return null;
    const row = await ctx.loaders.connectorById.load(e.connectorId);
    return row ? toConnector(row) : null;
  }
}
