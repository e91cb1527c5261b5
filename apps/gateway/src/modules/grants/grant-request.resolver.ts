import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import type { ProvisioningTaskUpdated } from '@warden/bus';
import { requireReader } from '../../auth/authorize';
import { refreshLoaders, type GatewayContext } from '../../context';
import { NotFoundError } from '../../errors';
import { isUuid } from '../../pagination/cursor';
import { eventStream } from '../../subscriptions/event-stream';
import { Entitlement, toEntitlement } from '../entitlements/entitlement.type';
import { placeholderResource, Resource, toResource } from '../resources/resource.type';
import { GrantInput, RevokeInput } from './grant-request.input';
import { ProvisioningTask, toProvisioningTask } from './provisioning-task.type';

@Resolver(() => ProvisioningTask)
export class ProvisioningResolver {
  @Query(() => ProvisioningTask, { nullable: true })
  async provisioningTask(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<ProvisioningTask | null> {
    requireReader(ctx.caller);
    if (!isUuid(id)) return null;
    const row = await ctx.deps.db.selectFrom('provisioning_tasks').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toProvisioningTask(row) : null;
  }

  @FieldResolver(() => Entitlement)
  async entitlement(@Root() t: ProvisioningTask, @Ctx() ctx: GatewayContext): Promise<Entitlement> {
    const row = (await ctx.loaders.entitlementById.load(t.entitlementId)) ?? (await ctx.loaders.entitlementByKey.load(`${t.connectorId}|${t.entitlementKey}`));
    if (!row) throw new NotFoundError(`entitlement ${t.entitlementKey} is no longer synced`);
    return toEntitlement(row);
  }

  @FieldResolver(() => Resource)
  async principal(@Root() t: ProvisioningTask, @Ctx() ctx: GatewayContext): Promise<Resource> {
    const row = (await ctx.loaders.resourceById.load(t.principalId)) ?? (await ctx.loaders.resourceByExternalId.load(`${t.connectorId}|${t.principalExternalId}`));
    return row ? toResource(row) : placeholderResource(t.connectorId, t.principalExternalId, 'USER');
  }

  @Mutation(() => ProvisioningTask)
  async grant(@Arg('input', () => GrantInput) input: GrantInput, @Ctx() ctx: GatewayContext): Promise<ProvisioningTask> {
    const row = await ctx.services.provisioning.request(ctx.caller, { action: 'GRANT', ...input });
    return toProvisioningTask(row);
  }

  @Mutation(() => ProvisioningTask)
  async revoke(@Arg('input', () => RevokeInput) input: RevokeInput, @Ctx() ctx: GatewayContext): Promise<ProvisioningTask> {
    const row = await ctx.services.provisioning.request(ctx.caller, { action: 'REVOKE', ...input });
    return toProvisioningTask(row);
  }

  @Subscription(() => ProvisioningTask, {
    description: 'Every state change of the task.',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { id: string }, GatewayContext>) => {
      requireReader(context.caller);
      if (!isUuid(args.id)) throw new NotFoundError(`provisioning task ${args.id} does not exist`);
      return eventStream<ProvisioningTaskUpdated>((push) => context.deps.bus.subscribeProvisioningTaskUpdated(args.id, push));
    },
  })
  async provisioningTaskUpdated(@Root() event: ProvisioningTaskUpdated, @Arg('id', () => ID) _id: string, @Ctx() ctx: GatewayContext): Promise<ProvisioningTask> {
    refreshLoaders(ctx);
    const row = await ctx.deps.db.selectFrom('provisioning_tasks').selectAll().where('id', '=', event.taskId).executeTakeFirst();
    if (!row) throw new NotFoundError(`provisioning task ${event.taskId} no longer exists`);
    return toProvisioningTask(row);
  }
}
