import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Authorized, Ctx, Extensions, FieldResolver, ID, Info, Mutation, Query, Resolver, Root } from 'type-graphql';
import { CONNECTOR_SCOPED, reads, readsConnector } from '../../response-cache/read-scope';
import { selectsField } from '../../pagination/selection';
import { changeConnector, CREATE_CONNECTORS } from '../../auth/authorize';
import type { GatewayContext } from '../../context';
import { PageArgs } from '../shared/args';
import { ConnectorLogConnection, SyncRun, SyncRunConnection, toSyncRun } from '../sync-runs/sync-run.type';
import { CreateConnectorInput, UpdateConnectorInput } from './connector.input';
import { AdminConsentStart, Connector, ConnectorConnection, toConnector } from './connector.type';

@Resolver(() => Connector)
export class ConnectorResolver {
  @Query(() => ConnectorConnection)
  @Authorized()
  @Extensions(reads())
  async connectors(
    @Args(() => PageArgs) { first, after }: PageArgs,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<InstanceType<typeof ConnectorConnection>> {
    return new ConnectorConnection(await ctx.services.connectors.list(first, after, ctx.loaders, selectsField(info, 'totalCount')));
  }

  @Query(() => Connector, { nullable: true })
  @Authorized()
  @Extensions({ ...reads(), ...CONNECTOR_SCOPED })
  async connector(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<Connector | null> {
    // Found or not, the answer is about the connectors row with this id.
    readsConnector(ctx, id);
    const row = await ctx.loaders.connectorById.load(id);
    return row ? toConnector(row) : null;
  }

  @FieldResolver(() => SyncRun, { nullable: true })
  async lastSyncRun(@Root() c: Connector, @Ctx() ctx: GatewayContext): Promise<SyncRun | null> {
    const row = await ctx.loaders.lastSyncRunByConnector.load(c.id);
    return row ? toSyncRun(row) : null;
  }

  @FieldResolver(() => SyncRunConnection)
  async syncRuns(
    @Root() c: Connector,
    @Args(() => PageArgs) { first, after }: PageArgs,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<InstanceType<typeof SyncRunConnection>> {
    return new SyncRunConnection(await ctx.services.syncRuns.listForConnector(c.id, first, after, selectsField(info, 'totalCount')));
  }

  @FieldResolver(() => ConnectorLogConnection, {
    description: 'What the connector did, newest first: syncs started and finished, counts, warnings, skipped types.',
  })
  async logs(
    @Root() c: Connector,
    @Args(() => PageArgs) { first, after }: PageArgs,
    @Ctx() ctx: GatewayContext,
  ): Promise<InstanceType<typeof ConnectorLogConnection>> {
    return new ConnectorLogConnection(await ctx.services.syncRuns.logs(c.id, first, after));
  }

  @Mutation(() => Connector)
  @Authorized(CREATE_CONNECTORS)
  async createConnector(
    @Arg('input', () => CreateConnectorInput) input: CreateConnectorInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<Connector> {
    return toConnector(await ctx.services.connectors.create(ctx.caller, input));
  }

  @Mutation(() => Connector)
  @Authorized(changeConnector('id'))
  async updateConnector(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateConnectorInput) input: UpdateConnectorInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<Connector> {
    return toConnector(await ctx.services.connectors.update(ctx.caller, id, input));
  }

  @Mutation(() => Boolean)
  @Authorized(changeConnector('id'))
  deleteConnector(
    @Arg('id', () => ID) id: string,
    @Arg('revokeTimeBoundAccess', () => Boolean, {
      nullable: true,
      description:
        'Refused (CONFLICT) while the connector has time-bound grants not yet revoked or provisioning tasks queued/running. true: first queue revokes of those grants (still refused until they have completed; call again then).',
    })
    revokeTimeBoundAccess: boolean | null | undefined,
    @Ctx() ctx: GatewayContext,
  ): Promise<boolean> {
    return ctx.services.connectors.delete(ctx.caller, id, { revokeTimeBoundAccess });
  }

  @Mutation(() => AdminConsentStart)
  @Authorized(changeConnector('connectorId'))
  beginAdminConsent(
    @Arg('connectorId', () => ID) connectorId: string,
    @Ctx() ctx: GatewayContext,
    @Arg('allowSharedTenant', () => Boolean, {
      nullable: true,
      defaultValue: false,
      description:
        'SUPER_ADMIN only: let this consent bind a tenant that another connector already uses (refused with CONFLICT otherwise).',
    })
    allowSharedTenant?: boolean | null,
  ): Promise<AdminConsentStart> {
    return ctx.services.connectors.beginAdminConsent(ctx.caller, connectorId, allowSharedTenant ?? false);
  }
}
