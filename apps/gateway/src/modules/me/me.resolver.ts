import type { GraphQLResolveInfo } from 'graphql';
import { Authorized, Ctx, Extensions, Info, Query, Resolver } from 'type-graphql';
import { EVERY_CALLER, requireCaller, requireMemberVisible } from '../../auth/authorize';
import { platformRoles } from '../../auth/roles';
import type { GatewayContext } from '../../context';
import { CALLER_SCOPED } from '../../response-cache/caller-scope';
import { Me } from './me.type';

@Resolver(() => Me)
export class MeResolver {
  /**
   * Every authenticated caller, members included. Identities are linked through the token's tenant
   * and object id (`tid`, `oid`: MeService). A member reads only what MEMBER_VISIBLE_FIELDS lists
   * below `me` (no way from its identities into the inventory).
   */
  @Query(() => Me)
  @Authorized(EVERY_CALLER)
  @Extensions(CALLER_SCOPED)
  async me(@Ctx() ctx: GatewayContext, @Info() info: GraphQLResolveInfo): Promise<Me> {
    const caller = requireCaller(ctx.caller);
    requireMemberVisible(caller, info);
    return {
      subject: caller.sub,
      roles: platformRoles(caller),
      displayName: caller.name ?? null,
      identities: await ctx.services.me.identities(caller),
    };
  }
}
