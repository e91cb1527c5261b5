import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Authorized, Ctx, Extensions, FieldResolver, ID, Info, Query, Resolver, Root } from 'type-graphql';
import { CONNECTOR_SCOPED, GRANTS_BY_KEY, reads, readsConnector, readsGrantsOf } from '../../response-cache/read-scope';
import type { GatewayContext } from '../../context';
import { isUuid } from '../../pagination/cursor';
import { GrantConnection } from '../grants/grant.type';
import { grantsRequestBelow, grantsUnder } from '../grants/prefetch';
import { placeholderResource, Resource, toResource } from '../resources/resource.type';
import { GrantPageArgs } from '../shared/args';
import { Entitlement, toEntitlement } from './entitlement.type';

@Resolver(() => Entitlement)
export class EntitlementResolver {
  @Query(() => Entitlement, { nullable: true })
  @Authorized()
  @Extensions({ ...reads(), ...CONNECTOR_SCOPED })
  async entitlement(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Entitlement | null> {
    // The holders page asked for below comes in the same statement as the entitlement.
    const request = isUuid(id) ? grantsRequestBelow(info) : null;
    if (request) {
      const { parent, page } = await ctx.services.grants.pageUnder('entitlement', id, request, ctx.loaders);
      readsConnector(ctx, parent?.connector_id ?? null);
      return parent ? { ...toEntitlement(parent), grantsPage: { request, page } } : null;
    }
    const row = await ctx.loaders.entitlementById.load(id);
    // Not found: a row with this id may yet appear in any connector.
    readsConnector(ctx, row?.connector_id ?? null);
    return row ? toEntitlement(row) : null;
  }

  @FieldResolver(() => Resource)
  async resource(@Root() e: Entitlement, @Ctx() ctx: GatewayContext): Promise<Resource> {
    const row = await ctx.loaders.resourceByExternalId.load(`${e.connectorId}|${e.resourceExternalId}`);
    return row ? toResource(row) : placeholderResource(e.connectorId, e.resourceExternalId, e.resourceType);
  }

  @FieldResolver(() => GrantConnection, { description: 'Who holds it.' })
  @Extensions(GRANTS_BY_KEY)
  async grants(
    @Root() e: Entitlement,
    @Args(() => GrantPageArgs) a: GrantPageArgs,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<InstanceType<typeof GrantConnection>> {
    readsGrantsOf(ctx, e.connectorId, { entitlementKey: e.key });
    return new GrantConnection(await grantsUnder(ctx, e.grantsPage, { connectorId: e.connectorId, entitlementKey: e.key }, a, info));
  }
}
