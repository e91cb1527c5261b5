import { type GraphQLResolveInfo } from 'graphql';
import { sql, type Kysely } from 'kysely';
import { Arg, Authorized, Ctx, Extensions, Field, Info, Int, ObjectType, Query, Resolver } from 'type-graphql';
import type { Database } from '@warden/database';
import { EVERY_CALLER, requireCaller, requireMemberVisible } from '../../auth/authorize';
import { MEMBER, type Caller } from '../../auth/roles';
import type { GatewayContext } from '../../context';
import { Connector, CONNECTOR_PUBLIC_COLUMNS, toConnector } from '../connectors/connector.type';
import { Entitlement, ENTITLEMENT_COLUMNS, toEntitlement } from '../entitlements/entitlement.type';
import { CALLER_SCOPED } from '../../response-cache/caller-scope';

@ObjectType({
  simpleResolvers: true,
  description:
    'An entitlement the caller may request (its policy, own or the connector default, is requestable), with the limits of that policy.',
})
export class RequestableEntitlement {
  @Field(() => Entitlement)
  entitlement!: Entitlement;

  @Field(() => Connector)
  connector!: Connector;

  @Field(() => Int, { nullable: true, description: 'The longest access one request may ask for; null: no limit.' })
  maxDurationSeconds!: number | null;

  @Field(() => Boolean, { description: 'A request must ask for a duration.' })
  requireDuration!: boolean;

  @Field(() => Int, { description: 'How many approval steps a request goes through (0: approved at once).' })
  approvalSteps!: number;
}

/**
 * The request catalog: grantable entitlements whose effective policy is requestable, matched by name
 * (case-insensitive substring), in the connectors where the caller has an identity (a member can
 * only request for itself) or in every connector for a platform role. One statement.
 */
export async function requestableEntitlements(
  db: Kysely<Database>,
  caller: Caller,
  identityConnectors: string[],
  search: string | null,
  limit: number,
): Promise<RequestableEntitlement[]> {
  if (caller.role === MEMBER && identityConnectors.length === 0) return [];
  let q = db
    .selectFrom('entitlements as e')
    .innerJoin('connectors as c', 'c.id', 'e.connector_id')
    .leftJoin('access_policies as own', 'own.entitlement_id', 'e.id')
    .leftJoin('access_policies as def', (j) => j.onRef('def.connector_id', '=', 'e.connector_id').on('def.entitlement_id', 'is', null))
    .select(ENTITLEMENT_COLUMNS.map((col) => `e.${col}` as const))
    .select(CONNECTOR_PUBLIC_COLUMNS.map((col) => `c.${col} as c_${col}` as const))
    .select([
      sql<number | null>`coalesce(own.max_duration_seconds, case when own.id is null then def.max_duration_seconds end)`.as('max_duration'),
      sql<boolean>`coalesce(own.require_duration, def.require_duration, false)`.as('require_duration'),
      sql<number>`jsonb_array_length(coalesce(own.steps, def.steps, '[]'::jsonb))`.as('steps'),
    ])
    .where('e.grantable', '=', true)
    .where(sql<boolean>`coalesce(own.requestable, def.requestable, false)`);
  if (caller.role === MEMBER) q = q.where('e.connector_id', 'in', identityConnectors);
  if (search) q = q.where('e.display_name', 'ilike', `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  const rows = await q.orderBy('e.display_name').orderBy('e.id').limit(limit).execute();
  return rows.map((r) => {
    const connector = Object.fromEntries(CONNECTOR_PUBLIC_COLUMNS.map((col) => [col, r[`c_${col}`]])) as Parameters<typeof toConnector>[0];
    return {
      entitlement: toEntitlement(r),
      connector: toConnector(connector),
      maxDurationSeconds: r.max_duration === null ? null : Number(r.max_duration),
      requireDuration: r.require_duration,
      approvalSteps: Number(r.steps),
    };
  });
}

@Resolver(() => RequestableEntitlement)
export class RequestableEntitlementResolver {
  /** Every caller; a member sees its own connectors only. Policies are not a watched table: never cached. */
  @Query(() => [RequestableEntitlement], {
    description:
      "The request catalog: entitlements the caller may request, by name (case-insensitive substring); a member's are those of the connectors it has an identity in. At most `first` (default 20, max 100).",
  })
  @Authorized(EVERY_CALLER)
  @Extensions(CALLER_SCOPED)
  async requestableEntitlements(
    @Arg('search', () => String, { nullable: true }) search: string | null,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<RequestableEntitlement[]> {
    const caller = requireCaller(ctx.caller);
    requireMemberVisible(caller, info);
    ctx.uncacheable = true;
    const identities = caller.role === MEMBER ? await ctx.services.me.identities(caller) : [];
    const limit = Math.min(Math.max(first ?? 20, 1), 100);
    return requestableEntitlements(
      ctx.deps.db,
      caller,
      identities.map((i) => i.connectorId),
      search?.trim() || null,
      limit,
    );
  }
}
