import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import type { SyncRunUpdated } from '@warden/bus';
import type { SyncMode } from '@warden/database';
import { requireReader } from '../../auth/authorize';
import { refreshLoaders, type GatewayContext } from '../../context';
import { NotFoundError } from '../../errors';
import { isUuid } from '../../pagination/cursor';
import { eventStream } from '../../subscriptions/event-stream';
import { Connector, toConnector } from '../connectors/connector.type';
import { SyncModeEnum } from '../shared/enums';
import { ConnectorLogEntry, SyncRun, SYNC_RUN_COLUMNS, toSyncRun } from './sync-run.type';

interface SyncRunSubscriptionArgs {
  connectorId: string;
}

@Resolver(() => SyncRun)
export class SyncRunResolver {
  @Query(() => SyncRun, { nullable: true })
  async syncRun(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<SyncRun | null> {
    requireReader(ctx.caller);
    const row = await ctx.loaders.syncRunById.load(id);
    return row ? toSyncRun(row) : null;
  }

  @FieldResolver(() => Connector)
  async connector(@Root() run: SyncRun, @Ctx() ctx: GatewayContext): Promise<Connector> {
    const row = await ctx.loaders.connectorById.load(run.connectorId);
    if (!row) throw new NotFoundError('the connector was deleted');
    return toConnector(row);
  }

  @Mutation(() => SyncRun)
  async triggerSync(
    @Arg('connectorId', () => ID) connectorId: string,
    @Arg('mode', () => SyncModeEnum, { nullable: true, defaultValue: 'INCREMENTAL' }) mode: SyncMode | null,
    @Ctx() ctx: GatewayContext,
  ): Promise<SyncRun> {
    const { who } = await ctx.services.connectors.authorizeWrite(ctx.caller, connectorId);
    return toSyncRun(await ctx.services.syncRuns.trigger(who, connectorId, mode ?? 'INCREMENTAL'));
  }

  @Subscription(() => SyncRun, {
    description: 'Every state or progress change of the connector\'s sync runs.',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, SyncRunSubscriptionArgs, GatewayContext>) => {
      requireReader(context.caller);
      if (!isUuid(args.connectorId)) throw new NotFoundError(`connector ${args.connectorId} does not exist`);
      return eventStream<SyncRunUpdated>((push) => context.deps.bus.subscribeSyncRunUpdated(args.connectorId, push));
    },
  })
  async syncRunUpdated(@Root() event: SyncRunUpdated, @Arg('connectorId', () => ID) _connectorId: string, @Ctx() ctx: GatewayContext): Promise<SyncRun> {
    refreshLoaders(ctx);
    const row = await ctx.deps.db.selectFrom('sync_runs').select(SYNC_RUN_COLUMNS).where('id', '=', event.runId).executeTakeFirst();
    if (row) return toSyncRun(row);
    // The run is gone (its connector was deleted): report what the event says.
    const at = new Date(event.at);
    return toSyncRun({
      id: event.runId, connector_id: event.connectorId, mode: 'FULL', status: event.status, progress: event.progress, stats: {}, error: null,
      requested_by: null, queued_at: at as never, started_at: null, finished_at: event.status === 'QUEUED' || event.status === 'RUNNING' ? null : at,
    });
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
