import {
  Arg,
  Authorized,
  Ctx,
  Extensions,
  FieldResolver,
  ID,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
  type SubscribeResolverData,
} from 'type-graphql';
import { CONNECTOR_SCOPED, reads, readsConnector } from '../../response-cache/read-scope';
import type { SyncRunUpdated } from '@warden/bus';
import type { SyncMode } from '@warden/database';
import { changeConnector } from '../../auth/authorize';
import { refreshLoaders, type GatewayContext } from '../../context';
import { NotFoundError } from '../../errors';
import { Connector, toConnector } from '../connectors/connector.type';
import { SyncModeEnum } from '../shared/enums';
import { ConnectorLogEntry, SyncRun, toSyncRun } from './sync-run.type';

interface SyncRunSubscriptionArgs {
  connectorId: string;
}

@Resolver(() => SyncRun)
export class SyncRunResolver {
  @Query(() => SyncRun, { nullable: true })
  @Authorized()
  @Extensions({ ...reads(), ...CONNECTOR_SCOPED })
  async syncRun(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<SyncRun | null> {
    const row = await ctx.loaders.syncRunById.load(id);
    readsConnector(ctx, row?.connector_id ?? null);
    return row ? toSyncRun(row) : null;
  }

  @FieldResolver(() => Connector)
  async connector(@Root() run: SyncRun, @Ctx() ctx: GatewayContext): Promise<Connector> {
    const row = await ctx.loaders.connectorById.load(run.connectorId);
    if (!row) throw new NotFoundError('the connector was deleted');
    return toConnector(row);
  }

  @Mutation(() => SyncRun)
  @Authorized(changeConnector('connectorId'))
  async triggerSync(
    @Arg('connectorId', () => ID) connectorId: string,
    @Arg('mode', () => SyncModeEnum, { nullable: true, defaultValue: 'INCREMENTAL' }) mode: SyncMode | null,
    @Ctx() ctx: GatewayContext,
  ): Promise<SyncRun> {
    return toSyncRun(await ctx.services.syncRuns.trigger(ctx.caller, connectorId, mode ?? 'INCREMENTAL'));
  }

  @Subscription(() => SyncRun, {
    description: "Every state or progress change of the connector's sync runs.",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, SyncRunSubscriptionArgs, GatewayContext>) =>
      context.services.syncRuns.updates(args.connectorId),
  })
  @Authorized()
  async syncRunUpdated(
    @Root() event: SyncRunUpdated,
    @Arg('connectorId', () => ID) _connectorId: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<SyncRun> {
    refreshLoaders(ctx);
    return toSyncRun(await ctx.services.syncRuns.forEvent(event));
  }
}

@Resolver(() => ConnectorLogEntry)
export class ConnectorLogResolver {
  @FieldResolver(() => SyncRun, { nullable: true })
  async syncRun(@Root() entry: ConnectorLogEntry, @Ctx() ctx: GatewayContext): Promise<SyncRun | null> {
    if (!entry.syncRunId) return null;
    const row = await ctx.loaders.syncRunById.load(entry.syncRunId);
    return row ? toSyncRun(row) : null;
  }
}
