import DataLoader from 'dataloader';
import type { GraphQLResolveInfo } from 'graphql';
import {
  Arg,
  Args,
  ArgsType,
  Authorized,
  Ctx,
  Field,
  FieldResolver,
  ID,
  Info,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
  type SubscribeResolverData,
} from 'type-graphql';
import type { AccessRequestUpdated } from '@warden/bus';
import type { AccessRequestDecisionRow, AccessRequestStatus } from '@warden/database';
import { EVERY_CALLER, requireCaller, requireMemberVisible } from '../../auth/authorize';
import { refreshLoaders, type GatewayContext } from '../../context';
import { NotFoundError } from '../../errors';
import { selectsField } from '../../pagination/selection';
import { Connector, toConnector } from '../connectors/connector.type';
import { Decider } from '../deciders/decider.type';
import { Entitlement, toEntitlement } from '../entitlements/entitlement.type';
import { ProvisioningTask, toProvisioningTask } from '../grants/provisioning-task.type';
import { placeholderResource, Resource, toResource } from '../resources/resource.type';
import { PageArgs } from '../shared/args';
import {
  AccessRequest,
  AccessRequestConnection,
  AccessRequestInput,
  AccessRequestStatusEnum,
  ApprovalDecision,
  toAccessRequest,
} from './access-request.type';

@ArgsType()
class AccessRequestsArgs extends PageArgs {
  @Field(() => ID, { nullable: true })
  connectorId?: string | null;

  @Field(() => AccessRequestStatusEnum, { nullable: true })
  status?: AccessRequestStatus | null;

  @Field(() => Boolean, { nullable: true })
  mine?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  awaitingMyDecision?: boolean | null;
}

// One decisions statement per request page (not per request), kept on the request's context.
const decisionLoaders = new WeakMap<object, DataLoader<string, AccessRequestDecisionRow[]>>();

@Resolver(() => AccessRequest)
export class AccessRequestResolver {
  /**
   * Every caller: platform roles read every request; members only their own, those for their
   * identities and those they decide (AccessRequestService). Answers depend on the caller and on
   * tables the response cache does not watch, so they are never cached.
   */
  @Query(() => AccessRequestConnection, {
    description:
      'mine: only requests the caller made or that are for one of its identities;\nawaitingMyDecision: only PENDING requests whose current step the caller may decide.',
  })
  @Authorized(EVERY_CALLER)
  async accessRequests(
    @Args(() => AccessRequestsArgs) a: AccessRequestsArgs,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<InstanceType<typeof AccessRequestConnection>> {
    const caller = requireCaller(ctx.caller);
    requireMemberVisible(caller, info);
    ctx.uncacheable = true;
    const page = await ctx.services.accessRequests.list(caller, a, a.first, a.after, selectsField(info, 'totalCount'));
    return new AccessRequestConnection({ ...page, edges: page.edges.map((e) => ({ cursor: e.cursor, node: toAccessRequest(e.node) })) });
  }

  @Query(() => AccessRequest, { nullable: true })
  @Authorized(EVERY_CALLER)
  async accessRequest(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<AccessRequest | null> {
    const caller = requireCaller(ctx.caller);
    requireMemberVisible(caller, info);
    ctx.uncacheable = true;
    const row = await ctx.services.accessRequests.find(caller, id);
    return row ? toAccessRequest(row) : null;
  }

  @Mutation(() => AccessRequest)
  @Authorized(EVERY_CALLER)
  async requestAccess(
    @Arg('input', () => AccessRequestInput) input: AccessRequestInput,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<AccessRequest> {
    const caller = requireCaller(ctx.caller);
    requireMemberVisible(caller, info);
    return toAccessRequest(await ctx.services.accessRequests.request(caller, input));
  }

  @Mutation(() => AccessRequest)
  @Authorized(EVERY_CALLER)
  async approveAccessRequest(
    @Arg('id', () => ID) id: string,
    @Arg('comment', () => String, { nullable: true }) comment: string | null,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<AccessRequest> {
    const caller = requireCaller(ctx.caller);
    requireMemberVisible(caller, info);
    return toAccessRequest(await ctx.services.accessRequests.decide(caller, id, true, comment));
  }

  @Mutation(() => AccessRequest)
  @Authorized(EVERY_CALLER)
  async denyAccessRequest(
    @Arg('id', () => ID) id: string,
    @Arg('comment', () => String, { nullable: true }) comment: string | null,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<AccessRequest> {
    const caller = requireCaller(ctx.caller);
    requireMemberVisible(caller, info);
    return toAccessRequest(await ctx.services.accessRequests.decide(caller, id, false, comment));
  }

  @Mutation(() => AccessRequest, { description: 'The requester, or an admin of the connector, while the request is PENDING.' })
  @Authorized(EVERY_CALLER)
  async cancelAccessRequest(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<AccessRequest> {
    const caller = requireCaller(ctx.caller);
    requireMemberVisible(caller, info);
    return toAccessRequest(await ctx.services.accessRequests.cancel(caller, id));
  }

  @Subscription(() => AccessRequest, {
    description: 'Every state change of the request (the requester, its deciders, and admins may subscribe).',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { id: string }, GatewayContext>) =>
      context.services.accessRequests.updates(requireCaller(context.caller), args.id),
  })
  @Authorized(EVERY_CALLER)
  async accessRequestUpdated(
    @Root() event: AccessRequestUpdated,
    @Arg('id', () => ID) _id: string,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<AccessRequest> {
    const caller = requireCaller(ctx.caller);
    requireMemberVisible(caller, info);
    refreshLoaders(ctx);
    const row = await ctx.services.accessRequests.find(caller, event.requestId);
    if (!row) throw new NotFoundError(`access request ${event.requestId} no longer exists`);
    return toAccessRequest(row);
  }

  @FieldResolver(() => Connector)
  async connector(@Root() r: AccessRequest, @Ctx() ctx: GatewayContext): Promise<Connector> {
    const row = await ctx.loaders.connectorById.load(r.row.connector_id);
    if (!row) throw new NotFoundError(`connector ${r.row.connector_id} does not exist`);
    return toConnector(row);
  }

  @FieldResolver(() => Entitlement)
  async entitlement(@Root() r: AccessRequest, @Ctx() ctx: GatewayContext): Promise<Entitlement> {
    const row =
      (await ctx.loaders.entitlementById.load(r.row.entitlement_id)) ??
      (await ctx.loaders.entitlementByKey.load(`${r.row.connector_id}|${r.row.entitlement_key}`));
    if (!row) throw new NotFoundError(`entitlement ${r.row.entitlement_key} is no longer synced`);
    return toEntitlement(row);
  }

  @FieldResolver(() => Resource, { description: 'Who gets the access.' })
  async principal(@Root() r: AccessRequest, @Ctx() ctx: GatewayContext): Promise<Resource> {
    const row =
      (await ctx.loaders.resourceById.load(r.row.principal_id)) ??
      (await ctx.loaders.resourceByExternalId.load(`${r.row.connector_id}|${r.row.principal_external_id}`));
    return row ? toResource(row) : placeholderResource(r.row.connector_id, r.row.principal_external_id, 'USER');
  }

  @FieldResolver(() => [Decider], { description: 'Who may decide the current step (empty when none is waiting).' })
  async approvers(@Root() r: AccessRequest, @Ctx() ctx: GatewayContext): Promise<Decider[]> {
    return Promise.all(
      r.row.approvers.map(async (a) => {
        const user = a.resourceId ? await ctx.loaders.resourceById.load(a.resourceId) : null;
        return { subject: a.subject, user: user ? toResource(user) : null, displayName: user?.display_name || a.displayName };
      }),
    );
  }

  @FieldResolver(() => [ApprovalDecision])
  async decisions(@Root() r: AccessRequest, @Ctx() ctx: GatewayContext): Promise<ApprovalDecision[]> {
    let loader = decisionLoaders.get(ctx.loaders);
    if (!loader) {
      loader = new DataLoader((ids: readonly string[]) => ctx.services.accessRequests.decisions(ids));
      decisionLoaders.set(ctx.loaders, loader);
    }
    const rows = await loader.load(r.id);
    return rows.map((d) => ({ step: d.step, actor: d.actor, approved: d.approved, comment: d.comment, at: d.at as unknown as Date }));
  }

  @FieldResolver(() => ProvisioningTask, { nullable: true, description: 'The grant that carries out the approved request.' })
  async provisioningTask(@Root() r: AccessRequest, @Ctx() ctx: GatewayContext): Promise<ProvisioningTask | null> {
    if (!r.row.provisioning_task_id) return null;
    const row = await ctx.services.grantRequests.findTask(r.row.provisioning_task_id);
    return row ? toProvisioningTask(row) : null;
  }
}
