import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, ArgsType, Authorized, Ctx, Extensions, Field, FieldResolver, ID, Info, Query, Resolver, Root } from 'type-graphql';
import { CONNECTOR_SCOPED, GRANTS_BY_KEY, reads, readsConnector, readsGrantsOf } from '../../response-cache/read-scope';
import type { ResourceType } from '@warden/database';
import type { GatewayContext } from '../../context';
import { NotFoundError } from '../../errors';
import { scoped } from '../../loaders';
import { selectsField } from '../../pagination/selection';
import { Connector, toConnector } from '../connectors/connector.type';
import { Entitlement, toEntitlement } from '../entitlements/entitlement.type';
import { isUuid } from '../../pagination/cursor';
import { GrantConnection } from '../grants/grant.type';
import { grantsRequestBelow, grantsUnder } from '../grants/prefetch';
import { GrantPageArgs, PageArgs } from '../shared/args';
import { ResourceTypeEnum } from '../shared/enums';
import { DateTimeScalar, JSONScalar } from '../shared/scalars';
import { Resource, ResourceConnection, toResource } from './resource.type';

@ArgsType()
class ResourcesArgs extends PageArgs {
  @Field(() => ID)
  connectorId!: string;

  @Field(() => ResourceTypeEnum, { nullable: true })
  type?: ResourceType | null;

  @Field(() => String, { nullable: true, description: 'Matches display name, user principal name and mail (case-insensitive substring).' })
  search?: string | null;
}

@Resolver(() => Resource)
export class ResourceResolver {
  @Query(() => ResourceConnection)
  @Authorized()
  @Extensions({ ...reads(), ...CONNECTOR_SCOPED })
  async resources(
    @Args(() => ResourcesArgs) a: ResourcesArgs,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<InstanceType<typeof ResourceConnection>> {
    readsConnector(ctx, a.connectorId);
    const page = await ctx.services.resources.list(
      { connectorId: a.connectorId, type: a.type, search: a.search },
      a.first,
      a.after,
      selectsField(info, 'totalCount'),
    );
    return new ResourceConnection(page);
  }

  @Query(() => Resource, { nullable: true })
  @Authorized()
  @Extensions({ ...reads(), ...CONNECTOR_SCOPED })
  async resource(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Resource | null> {
    // What it holds, asked for below, comes in the same statement as the resource.
    const request = isUuid(id) ? grantsRequestBelow(info) : null;
    if (request) {
      const { parent, page } = await ctx.services.grants.pageUnder('resource', id, request, ctx.loaders);
      readsConnector(ctx, parent?.connector_id ?? null);
      return parent ? { ...toResource(parent), grantsPage: { request, page } } : null;
    }
    const row = await ctx.loaders.resourceById.load(id);
    // Not found: a row with this id may yet appear in any connector.
    readsConnector(ctx, row?.connector_id ?? null);
    return row ? toResource(row) : null;
  }

  @FieldResolver(() => JSONScalar, {
    description: 'Type-specific attributes as synced (for users: userPrincipalName, mail, accountEnabled, userType, ...).',
  })
  async profile(@Root() r: Resource, @Ctx() ctx: GatewayContext): Promise<Record<string, unknown>> {
    if (r.profile !== undefined) return r.profile;
    return (await ctx.loaders.resourceProfileById.load(r.id)) ?? {};
  }

  @FieldResolver(() => Resource, {
    nullable: true,
    description: "Users: the user's manager in Entra ID (synced from Graph's manager reference); null without one or when not synced.",
  })
  async manager(@Root() r: Resource, @Ctx() ctx: GatewayContext): Promise<Resource | null> {
    if (r.type !== 'USER') return null;
    const managerId = (await this.profile(r, ctx))['managerId'];
    if (typeof managerId !== 'string' || managerId === '') return null;
    const row = await ctx.loaders.resourceByExternalId.load(scoped(r.connectorId, managerId));
    return row ? toResource(row) : null;
  }

  @FieldResolver(() => DateTimeScalar, {
    nullable: true,
    description:
      "Users: the last sign-in, interactive or not (the later of Graph's signInActivity lastSignInDateTime and lastNonInteractiveSignInDateTime); null when never signed in or not read (needs AuditLog.Read.All).",
  })
  async lastSignInAt(@Root() r: Resource, @Ctx() ctx: GatewayContext): Promise<Date | null> {
    if (r.type !== 'USER') return null;
    const p = await this.profile(r, ctx);
    const times = [p['lastSignInDateTime'], p['lastNonInteractiveSignInDateTime']]
      .filter((t): t is string => typeof t === 'string')
      .map((t) => Date.parse(t))
      .filter((t) => Number.isFinite(t));
    return times.length ? new Date(Math.max(...times)) : null;
  }

  @FieldResolver(() => Connector)
  async connector(@Root() r: Resource, @Ctx() ctx: GatewayContext): Promise<Connector> {
    const row = await ctx.loaders.connectorById.load(r.connectorId);
    if (!row) throw new NotFoundError('the connector was deleted');
    return toConnector(row);
  }

  @FieldResolver(() => [Entitlement], { description: "Entitlements this resource offers (e.g. a group's member and owner)." })
  async entitlements(@Root() r: Resource, @Ctx() ctx: GatewayContext): Promise<Entitlement[]> {
    const rows = await ctx.loaders.entitlementsByResource.load(`${r.connectorId}|${r.externalId}`);
    return rows.map(toEntitlement);
  }

  @FieldResolver(() => GrantConnection, { description: 'What this resource holds as a principal.' })
  @Extensions(GRANTS_BY_KEY)
  async grants(
    @Root() r: Resource,
    @Args(() => GrantPageArgs) a: GrantPageArgs,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<InstanceType<typeof GrantConnection>> {
    readsGrantsOf(ctx, r.connectorId, { principalExternalId: r.externalId });
    return new GrantConnection(
      await grantsUnder(ctx, r.grantsPage, { connectorId: r.connectorId, principalExternalId: r.externalId }, a, info),
    );
  }
}
