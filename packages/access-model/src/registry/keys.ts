import { entitlementKey, type ResourceType } from '@warden/database';

/**
 * Entitlement keys, `<RESOURCE_TYPE>:<graph object id>:<slug>`: the one place they are formatted,
 * parsed and matched with LIKE. (`entitlementKey` itself is defined next to the tables in
 * @warden/database, which cannot import this package; it is re-exported here.)
 */
export { entitlementKey };

/** The membership entitlement of a group: `GROUP:<id>:member`. */
export function memberKey(groupId: string): string {
  return entitlementKey('GROUP', groupId, 'member');
}

const MEMBER_KEY = /^GROUP:([^:]+):member$/;

/** The group id of a membership key, or null when the key is not a group membership. */
export function groupOfMemberKey(key: string): string | null {
  return MEMBER_KEY.exec(key)?.[1] ?? null;
}

/** True for an ownership key of any resource type (`…:owner`). */
export function isOwnerKey(key: string): boolean {
  return key.endsWith(':owner');
}

/** LIKE pattern for every entitlement key of a resource type (`GROUP:%`), or of one slug (`GROUP:%:member`). */
export function keyPattern(type: ResourceType, slug?: string): string {
  return slug === undefined ? `${type}:%` : `${type}:%:${slug}`;
}

/** LIKE pattern of every group membership key. */
export const MEMBER_KEY_PATTERN = keyPattern('GROUP', 'member');

/**
 * Scoped directory-role assignments: one entitlement per (role, scope), slug `assigned@<directoryScopeId>`
 * with Graph's directoryScopeId verbatim (`/administrativeUnits/<id>` or `/<application object id>`),
 * e.g. `DIRECTORY_ROLE:<roleId>:assigned@/administrativeUnits/<auId>`. Tenant-wide ('/') stays `assigned`.
 */
export const SCOPED_ROLE_SLUG_PREFIX = 'assigned@';

/** The slug of an active role assignment at a directoryScopeId ('/' → 'assigned'). */
export function roleAssignedSlug(directoryScopeId: string | null | undefined): string {
  const scope = directoryScopeId ?? '/';
  return scope === '/' ? 'assigned' : `${SCOPED_ROLE_SLUG_PREFIX}${scope}`;
}

/** The directoryScopeId of a role slug: '/' for `assigned` (and any unscoped slug), the scope of `assigned@<scope>`. */
export function directoryScopeOfSlug(slug: string): string {
  return slug.startsWith(SCOPED_ROLE_SLUG_PREFIX) ? slug.slice(SCOPED_ROLE_SLUG_PREFIX.length) : '/';
}

/** What a directoryScopeId names: an administrative unit, an application, or the tenant. */
export function directoryScopeKind(directoryScopeId: string): { type: 'tenant' | 'administrativeUnit' | 'application'; id: string | null } {
  if (directoryScopeId === '/') return { type: 'tenant', id: null };
  const au = /^\/administrativeUnits\/([^/]+)$/.exec(directoryScopeId);
  if (au) return { type: 'administrativeUnit', id: au[1]! };
  return { type: 'application', id: directoryScopeId.replace(/^\//, '') };
}
