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
import type { ProvisioningTaskUpdated } from '@warden/bus';
import { REQUEST_GRANTS } from '../../auth/authorize';
import { refreshLoaders, type GatewayContext } from '../../context';
import { NotFoundError } from '../../errors';
import { Entitlement, toEntitlement } from '../entitlements/entitlement.type';
import { placeholderResource, Resource, toResource } from '../resources/resource.type';
import { GrantInput, RevokeInput } from './grant-request.input';
import { ProvisioningTask, toProvisioningTask } from './provisioning-task.type';

/** grant / revoke (they create provisioning tasks) and reading those tasks back. */
@Resolver(() => ProvisioningTask)
export class GrantRequestResolver {
  @Query(() => ProvisioningTask, { nullable: true })
  @Authorized()
  @Extensions({ ...reads(), ...CONNECTOR_SCOPED })
  async provisioningTask(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<ProvisioningTask | null> {
    const row = await ctx.services.grantRequests.findTask(id);
    readsConnector(ctx, row?.connector_id ?? null);
    return row ? toProvisioningTask(row) : null;
  }

  @FieldResolver(() => Entitlement)
  async entitlement(@Root() t: ProvisioningTask, @Ctx() ctx: GatewayContext): Promise<Entitlement> {
    const row =
      (await ctx.loaders.entitlementById.load(t.entitlementId)) ??
      (await ctx.loaders.entitlementByKey.load(`${t.connectorId}|${t.entitlementKey}`));
    if (!row) throw new NotFoundError(`entitlement ${t.entitlementKey} is no longer synced`);
    return toEntitlement(row);
  }

  @FieldResolver(() => Resource)
  async principal(@Root() t: ProvisioningTask, @Ctx() ctx: GatewayContext): Promise<Resource> {
    const row =
      (await ctx.loaders.resourceById.load(t.principalId)) ??
      (await ctx.loaders.resourceByExternalId.load(`${t.connectorId}|${t.principalExternalId}`));
    return row ? toResource(row) : placeholderResource(t.connectorId, t.principalExternalId, 'USER');
  }

  @Mutation(() => ProvisioningTask)
  @Authorized(REQUEST_GRANTS)
  async grant(@Arg('input', () => GrantInput) input: GrantInput, @Ctx() ctx: GatewayContext): Promise<ProvisioningTask> {
    const row = await ctx.services.grantRequests.request(ctx.caller, { action: 'GRANT', ...input });
    return toProvisioningTask(row);
  }

  @Mutation(() => ProvisioningTask)
  @Authorized(REQUEST_GRANTS)
  async revoke(@Arg('input', () => RevokeInput) input: RevokeInput, @Ctx() ctx: GatewayContext): Promise<ProvisioningTask> {
    const row = await ctx.services.grantRequests.request(ctx.caller, { action: 'REVOKE', ...input });
    return toProvisioningTask(row);
  }

  @Subscription(() => ProvisioningTask, {
    description: 'Every state change of the task.',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { id: string }, GatewayContext>) =>
      context.services.grantRequests.taskUpdates(args.id),
  })
  @Authorized()
  async provisioningTaskUpdated(
    @Root() event: ProvisioningTaskUpdated,
    @Arg('id', () => ID) _id: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<ProvisioningTask> {
    refreshLoaders(ctx);
    const row = await ctx.services.grantRequests.findTask(event.taskId);
    if (!row) throw new NotFoundError(`provisioning task ${event.taskId} no longer exists`);
    return toProvisioningTask(row);
  }
}
