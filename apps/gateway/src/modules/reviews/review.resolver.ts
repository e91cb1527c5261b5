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
import type { AccessReviewUpdated } from '@warden/bus';
import type { AccessReviewStatus, ReviewDecision } from '@warden/database';
import { CREATE_REVIEWS, EVERY_CALLER, MANAGE_REVIEW, requireCaller, requireMemberVisible } from '../../auth/authorize';
import { MEMBER } from '../../auth/roles';
import { selectsField, selectsNodeField } from '../../pagination/selection';
import { refreshLoaders, type GatewayContext } from '../../context';
import { NotFoundError } from '../../errors';
import { PageArgs } from '../shared/args';
import { Connector, toConnector } from '../connectors/connector.type';
import { Decider } from '../deciders/decider.type';
import { Entitlement, placeholderEntitlement, toEntitlement } from '../entitlements/entitlement.type';
import { ProvisioningTask, toProvisioningTask } from '../grants/provisioning-task.type';
import { placeholderResource, Resource, toResource } from '../resources/resource.type';
import { AccessReviewInput } from './review.input';
import { loadersOf } from './review.service';
import {
  AccessReview,
  AccessReviewConnection,
  AccessReviewItem,
  AccessReviewItemConnection,
  AccessReviewProgress,
  AccessReviewStatusEnum,
  ReviewDecisionEnum,
  toAccessReview,
  toAccessReviewItem,
} from './review.type';

@ArgsType()
class AccessReviewsArgs extends PageArgs {
  @Field(() => ID, { nullable: true })
  connectorId?: string | null;

  @Field(() => AccessReviewStatusEnum, { nullable: true })
  status?: AccessReviewStatus | null;
}

@ArgsType()
class ReviewItemsArgs extends PageArgs {
  @Field(() => Boolean, { nullable: true })
  decided?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  mine?: boolean | null;
}

@ArgsType()
class MyReviewItemsArgs extends PageArgs {
  @Field(() => Boolean, { nullable: true, defaultValue: true })
  pending?: boolean | null;
}

// Review answers depend on who asks (a member sees only its own items) and change with every
// decision: none of them is kept by the response cache.
function noCache(ctx: GatewayContext): void {
  ctx.uncacheable = true;
}

@Resolver(() => AccessReview)
export class AccessReviewResolver {
  @Query(() => AccessReviewConnection)
  @Authorized()
  async accessReviews(@Args(() => AccessReviewsArgs) a: AccessReviewsArgs, @Ctx() ctx: GatewayContext) {
    noCache(ctx);
    return new AccessReviewConnection(await ctx.services.reviews.list(a.connectorId, a.status, a.first, a.after));
  }

  @Query(() => AccessReview, { nullable: true })
  @Authorized(EVERY_CALLER)
  async accessReview(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<AccessReview | null> {
    noCache(ctx);
    const caller = requireCaller(ctx.caller);
    requireMemberVisible(caller, info);
    const row = await ctx.services.reviews.readable(ctx, caller, id);
    return row ? toAccessReview(row) : null;
  }

  @Mutation(() => AccessReview, { description: 'SUPER_ADMIN, or a CONNECTOR_ADMIN who owns the connector.' })
  @Authorized(CREATE_REVIEWS)
  async createAccessReview(
    @Arg('input', () => AccessReviewInput) input: AccessReviewInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<AccessReview> {
    const row = await ctx.services.reviews.create(requireCaller(ctx.caller), {
      name: input.name,
      connectorId: input.connectorId,
      entitlementIds: input.entitlementIds,
      resourceTypes: input.resourceTypes,
      reviewers: input.reviewers,
      fallbackSubjects: input.fallbackSubjects,
      dueAt: input.dueAt,
      autoRevoke: input.autoRevoke,
      undecided: input.undecided,
      inactiveDays: input.inactiveDays,
    });
    return toAccessReview(row);
  }

  @Mutation(() => [AccessReviewItem], {
    description: 'All or nothing: if the caller may not decide one of the items, none is changed (FORBIDDEN).',
  })
  @Authorized(EVERY_CALLER)
  async decideReviewItems(
    @Arg('itemIds', () => [ID]) itemIds: string[],
    @Arg('decision', () => ReviewDecisionEnum) decision: ReviewDecision,
    @Arg('comment', () => String, { nullable: true }) comment: string | null,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<AccessReviewItem[]> {
    const caller = requireCaller(ctx.caller);
    requireMemberVisible(caller, info);
    const rows = await ctx.services.reviews.decide(caller, itemIds, decision, comment);
    return rows.map(toAccessReviewItem);
  }

  @Mutation(() => AccessReview)
  @Authorized(MANAGE_REVIEW)
  async completeAccessReview(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<AccessReview> {
    return toAccessReview(await ctx.services.reviews.complete(requireCaller(ctx.caller), id));
  }

  @Mutation(() => AccessReview)
  @Authorized(MANAGE_REVIEW)
  async cancelAccessReview(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<AccessReview> {
    return toAccessReview(await ctx.services.reviews.cancel(requireCaller(ctx.caller), id));
  }

  @Mutation(() => AccessReview, {
    description:
      'Requests again every revoke of the review that failed (a new provisioning task each); the review is COMPLETING until they finished.',
  })
  @Authorized(MANAGE_REVIEW)
  async retryAccessReviewRemediation(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<AccessReview> {
    return toAccessReview(await ctx.services.reviews.retry(requireCaller(ctx.caller), id));
  }

  @Subscription(() => AccessReview, {
    description: 'Every decision, progress and state change of the review.',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { id: string }, GatewayContext>) =>
      context.services.reviews.updates(context, requireCaller(context.caller), args.id),
  })
  @Authorized(EVERY_CALLER)
  async accessReviewUpdated(
    @Root() event: AccessReviewUpdated,
    @Arg('id', () => ID) _id: string,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<AccessReview> {
    refreshLoaders(ctx);
    requireMemberVisible(requireCaller(ctx.caller), info);
    const row = await loadersOf(ctx).review.load(event.reviewId);
    if (!row) throw new NotFoundError('the access review was deleted with its connector');
    return toAccessReview(row);
  }

  @FieldResolver(() => Connector)
  async connector(@Root() r: AccessReview, @Ctx() ctx: GatewayContext): Promise<Connector> {
    const row = await ctx.loaders.connectorById.load(r.connectorId);
    if (!row) throw new NotFoundError('the connector was deleted');
    return toConnector(row);
  }

  @FieldResolver(() => AccessReviewProgress)
  progress(@Root() r: AccessReview, @Ctx() ctx: GatewayContext): Promise<AccessReviewProgress> {
    return loadersOf(ctx).progress.load(r.id);
  }

  @FieldResolver(() => AccessReviewItemConnection, {
    description: 'decided: filter on whether a decision was made; mine: only the items the caller may decide.',
  })
  async items(@Root() r: AccessReview, @Args(() => ReviewItemsArgs) a: ReviewItemsArgs, @Ctx() ctx: GatewayContext) {
    noCache(ctx);
    const caller = requireCaller(ctx.caller);
    return new AccessReviewItemConnection(
      await ctx.services.reviews.items(ctx, caller, r, { decided: a.decided, mine: a.mine }, a.first, a.after),
    );
  }
}

@Resolver(() => AccessReviewItem)
export class AccessReviewItemResolver {
  @Query(() => AccessReviewItemConnection, { description: 'Review items the caller may decide, across every active review.' })
  @Authorized(EVERY_CALLER)
  async myReviewItems(@Args(() => MyReviewItemsArgs) a: MyReviewItemsArgs, @Ctx() ctx: GatewayContext, @Info() info: GraphQLResolveInfo) {
    noCache(ctx);
    const caller = requireCaller(ctx.caller);
    requireMemberVisible(caller, info);
    return new AccessReviewItemConnection(
      await ctx.services.reviews.myItems(caller, a.pending !== false, a.first, a.after, {
        withCount: selectsField(info, 'totalCount'),
        prime: ctx.loaders,
        entitlement: selectsNodeField(info, 'entitlement'),
        principal: selectsNodeField(info, 'principal'),
      }),
    );
  }

  @FieldResolver(() => AccessReview)
  async review(@Root() item: AccessReviewItem, @Ctx() ctx: GatewayContext): Promise<AccessReview> {
    const row = await loadersOf(ctx).review.load(item.reviewId);
    if (!row) throw new NotFoundError('the access review was deleted with its connector');
    return toAccessReview(row);
  }

  @FieldResolver(() => Entitlement)
  async entitlement(@Root() item: AccessReviewItem, @Ctx() ctx: GatewayContext): Promise<Entitlement> {
    const row = await ctx.loaders.entitlementById.load(item.entitlementId);
    return row ? toEntitlement(row) : placeholderEntitlement(item.connectorId, item.entitlementId, item.entitlementKey);
  }

  @FieldResolver(() => Resource)
  async principal(@Root() item: AccessReviewItem, @Ctx() ctx: GatewayContext): Promise<Resource> {
    const row = await ctx.loaders.resourceById.load(item.principalId);
    return row ? toResource(row) : placeholderResource(item.connectorId, item.principalExternalId, item.principalKind);
  }

  @FieldResolver(() => [Decider])
  async reviewers(@Root() item: AccessReviewItem, @Ctx() ctx: GatewayContext): Promise<Decider[]> {
    const users = await Promise.all(item.reviewerOids.map((oid) => ctx.loaders.resourceByExternalId.load(`${item.connectorId}|${oid}`)));
    return [
      ...item.reviewerOids.map((oid, i) => {
        const row = users[i];
        return { subject: null, user: row ? toResource(row) : null, displayName: row?.display_name ?? oid };
      }),
      ...item.reviewerSubjects.map((subject) => ({ subject, user: null, displayName: subject })),
    ];
  }

  @FieldResolver(() => ProvisioningTask, { nullable: true, description: 'The revoke that carried out a REVOKE decision.' })
  async remediation(@Root() item: AccessReviewItem, @Ctx() ctx: GatewayContext): Promise<ProvisioningTask | null> {
    if (!item.remediationTaskId || requireCaller(ctx.caller).role === MEMBER) return null;
    const row = await loadersOf(ctx).task.load(item.remediationTaskId);
    return row ? toProvisioningTask(row) : null;
  }
}
