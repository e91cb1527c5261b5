import { Authorized, Ctx, Extensions, Query, Resolver } from 'type-graphql';
import { requireCaller } from '../../auth/authorize';
import type { GatewayContext } from '../../context';
import { CALLER_SCOPED } from '../../response-cache/caller-scope';
import { Me } from './me.type';

@Resolver(() => Me)
export class MeResolver {
  /**
   * Identities are linked through the token's tenant and object id (`tid`, `oid`); the HS256
   * development tokens carry neither yet, so the list stays empty until sign-in provides them.
   */
  @Query(() => Me)
  @Authorized()
  @Extensions(CALLER_SCOPED)
  me(@Ctx() ctx: GatewayContext): Me {
    const caller = requireCaller(ctx.caller);
    return { subject: caller.sub, roles: [caller.role], displayName: null, identities: [] };
  }
}
