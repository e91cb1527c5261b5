import type { GraphQLResolveInfo } from 'graphql';
import { Args, ArgsType, Authorized, Ctx, Extensions, Field, FieldResolver, ID, Info, Query, Resolver, Root } from 'type-graphql';
import { CONNECTOR_SCOPED, GRANTS_BY_KEY, reads, readsConnector, readsGrantsOf } from '../../response-cache/read-scope';
import type { GatewayContext } from '../../context';
import { NotFoundError } from '../../errors';
import { selectsField } from '../../pagination/selection';
import { Entitlement, toEntitlement } from '../entitlements/entitlement.type';
import { placeholderResource, Resource, toResource } from '../resources/resource.type';
import { GrantPageArgs } from '../shared/args';
import { Grant, GrantConnection } from './grant.type';

@ArgsType()
class GrantsArgs extends GrantPageArgs {
  @Field(() => ID)
  connectorId!: string;

  @Field(() => ID, { nullable: true })
  entitlementId?: string | null;

  @Field(() => ID, { nullable: true })
  principalId?: string | null;
}

@Resolver(() => Grant)
export class GrantResolver {
  @Query(() => GrantConnection)
  @Authorized()
  // The entitlement, principal and connector are looked up to check they belong to the connector.
  @Extensions({ ...reads('entitlements', 'resources', 'connectors'), ...CONNECTOR_SCOPED, ...GRANTS_BY_KEY })
  async grants(
    @Args(() => GrantsArgs) a: GrantsArgs,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<InstanceType<typeof GrantConnection>> {
    readsConnector(ctx, a.connectorId);
    let entitlementKey: string | undefined;
    let principalExternalId: string | undefined;
    if (a.entitlementId) {
      const e = await ctx.loaders.entitlementById.load(a.entitlementId);
      if (!e || e.connector_id !== a.connectorId)
        throw new NotFoundError(`entitlement ${a.entitlementId} does not exist in connector ${a.connectorId}`);
      entitlementKey = e.key;
    }
    if (a.principalId) {
      const p = await ctx.loaders.resourceById.load(a.principalId);
      if (!p || p.connector_id !== a.connectorId)
        throw new NotFoundError(`principal ${a.principalId} does not exist in connector ${a.connectorId}`);
      principalExternalId = p.external_id;
    }
    const connector = await ctx.loaders.connectorById.load(a.connectorId);
    if (!connector) throw new NotFoundError(`connector ${a.connectorId} does not exist`);
    readsGrantsOf(ctx, a.connectorId, { entitlementKey, principalExternalId });
    const page = await ctx.services.grants.list(
      { connectorId: a.connectorId, entitlementKey, principalExternalId, includeInherited: a.includeInherited !== false },
      a.first,
      a.after,
      ctx.loaders,
      selectsField(info, 'totalCount'),
    );
    return new GrantConnection(page);
  }

  @FieldResolver(() => Entitlement)
  async entitlement(@Root() g: Grant, @Ctx() ctx: GatewayContext): Promise<Entitlement> {
    const row = await ctx.loaders.entitlementByKey.load(`${g.connectorId}|${g.entitlementKey}`);
    if (!row) throw new NotFoundError(`entitlement ${g.entitlementKey} is no longer synced`);
    return toEntitlement(row);
  }

  @FieldResolver(() => Resource)
  async principal(@Root() g: Grant, @Ctx() ctx: GatewayContext): Promise<Resource> {
    const row = await ctx.loaders.resourceByExternalId.load(`${g.connectorId}|${g.principalExternalId}`);
    return row ? toResource(row) : placeholderResource(g.connectorId, g.principalExternalId, g.principalKind);
  }

  @FieldResolver(() => [Entitlement], {
    description: 'For an inherited grant: the group membership entitlements it comes through, outermost first.',
  })
  async via(@Root() g: Grant, @Ctx() ctx: GatewayContext): Promise<Entitlement[]> {
    if (g.viaKeys.length === 0) return [];
    const rows = await ctx.loaders.entitlementByKey.loadMany(g.viaKeys.map((k) => `${g.connectorId}|${k}`));
    return rows.flatMap((r) => (r && !(r instanceof Error) ? [toEntitlement(r)] : []));
  }
}
