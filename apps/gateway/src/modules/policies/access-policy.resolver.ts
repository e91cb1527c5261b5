import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { requireCaller, SET_ACCESS_POLICY } from '../../auth/authorize';
import type { GatewayContext } from '../../context';
import { NotFoundError } from '../../errors';
import { Connector, toConnector } from '../connectors/connector.type';
import { Entitlement, toEntitlement } from '../entitlements/entitlement.type';
import { AccessPolicy, AccessPolicyInput, toAccessPolicy } from './access-policy.type';

@Resolver(() => AccessPolicy)
export class AccessPolicyResolver {
  /** Platform roles (members learn what they may request by asking). Never cached: policies are not a watched table. */
  @Query(() => [AccessPolicy], { description: "The connector's default policy first, then the entitlements' own." })
  @Authorized()
  async accessPolicies(@Arg('connectorId', () => ID) connectorId: string, @Ctx() ctx: GatewayContext): Promise<AccessPolicy[]> {
    ctx.uncacheable = true;
    return (await ctx.services.accessPolicies.list(connectorId)).map(toAccessPolicy);
  }

  @Mutation(() => AccessPolicy, { description: 'SUPER_ADMIN, or a CONNECTOR_ADMIN who owns the connector.' })
  @Authorized(SET_ACCESS_POLICY)
  async setAccessPolicy(
    @Arg('input', () => AccessPolicyInput) input: AccessPolicyInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<AccessPolicy> {
    const row = await ctx.services.accessPolicies.set(requireCaller(ctx.caller), {
      connectorId: input.connectorId,
      entitlementId: input.entitlementId ?? null,
      requestable: input.requestable,
      steps: input.steps.map((s) => ({ kind: s.kind, subjects: s.subjects ?? [] })),
      maxDurationSeconds: input.maxDurationSeconds ?? null,
      requireDuration: input.requireDuration ?? false,
    });
    return toAccessPolicy(row);
  }

  @FieldResolver(() => Connector)
  async connector(@Root() p: AccessPolicy, @Ctx() ctx: GatewayContext): Promise<Connector> {
    const row = await ctx.loaders.connectorById.load(p.connectorId);
    if (!row) throw new NotFoundError(`connector ${p.connectorId} does not exist`);
    return toConnector(row);
  }

  @FieldResolver(() => Entitlement, {
    nullable: true,
    description: "null: the connector's default, used by every entitlement without a policy of its own.",
  })
  async entitlement(@Root() p: AccessPolicy, @Ctx() ctx: GatewayContext): Promise<Entitlement | null> {
    if (!p.entitlementId) return null;
    const row = await ctx.loaders.entitlementById.load(p.entitlementId);
    return row ? toEntitlement(row) : null;
  }
}
