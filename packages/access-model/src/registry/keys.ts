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
