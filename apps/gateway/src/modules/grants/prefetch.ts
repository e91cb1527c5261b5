import type { GraphQLResolveInfo } from 'graphql';
import { decodeIdCursor, pageSize } from '../../pagination/cursor';
import type { PageResult } from '../../pagination/page';
import { childField, selectsField } from '../../pagination/selection';
import type { GatewayContext } from '../../context';
import type { GrantFilter, GrantPageRequest } from './grant.service';
import type { Grant } from './grant.type';

/** A grants page fetched by the parent's resolver, with the request it answers. */
export interface PrefetchedGrants {
  request: GrantPageRequest;
  page: PageResult<Grant>;
}

/**
 * The grants page the `grants` field under the field being resolved will ask for, when the parent can
 * fetch it in its own statement; null when that field is not selected (once) or its arguments are
 * not valid (the field then reports the mistake itself, where the client expects it).
 */
export function grantsRequestBelow(info: GraphQLResolveInfo): GrantPageRequest | null {
  const child = childField(info, 'grants');
  if (!child) return null;
  const { first, after, includeInherited } = child.args as {
    first?: number | null;
    after?: string | null;
    includeInherited?: boolean | null;
  };
  try {
    pageSize(first);
    decodeIdCursor(after);
  } catch {
    return null;
  }
  return { first, after, includeInherited: includeInherited !== false, withCount: child.selects('totalCount') };
}

/** The page the parent fetched, if it is the one this field's arguments ask for. */
export function prefetchedFor(
  prefetched: PrefetchedGrants | undefined,
  args: GrantsFieldArgs,
  info: GraphQLResolveInfo,
): PageResult<Grant> | null {
  if (!prefetched) return null;
  const r = prefetched.request;
  const same =
    (r.first ?? null) === (args.first ?? null) &&
    (r.after ?? null) === (args.after ?? null) &&
    r.includeInherited === (args.includeInherited !== false) &&
    r.withCount === selectsField(info, 'totalCount');
  return same ? prefetched.page : null;
}

type GrantsFieldArgs = { first?: number | null; after?: string | null; includeInherited?: boolean | null };

/** The `grants` page under an entitlement or a resource: the one its parent fetched, or its own statement. */
export async function grantsUnder(
  ctx: GatewayContext,
  prefetched: PrefetchedGrants | undefined,
  filter: Omit<GrantFilter, 'includeInherited'>,
  args: GrantsFieldArgs,
  info: GraphQLResolveInfo,
): Promise<PageResult<Grant>> {
  return (
    prefetchedFor(prefetched, args, info) ??
    ctx.services.grants.list(
      { ...filter, includeInherited: args.includeInherited !== false },
      args.first,
      args.after,
      ctx.loaders,
      selectsField(info, 'totalCount'),
    )
  );
}
