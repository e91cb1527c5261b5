import type { ResourceType } from '@warden/database';
import { ENTITLEMENT_KINDS, entitlementKind, type EntitlementShape } from '../registry/resource-types';

/**
 * Which principals Graph lets us grant each entitlement to. The gateway refuses a request before it
 * is queued and the provision worker checks again before any Graph call, both with this one rule;
 * each kind's part of it is its `refusal` in the registry (../registry/resource-types.ts).
 */
export { entitlementKind, type EntitlementKind, type EntitlementShape } from '../registry/resource-types';

/** Returns null when the principal may hold the entitlement, else the reason it may not. */
export function principalRefusal(e: EntitlementShape, principalType: ResourceType): string | null {
  const kind = entitlementKind(e.resourceType, e.slug);
  if (!kind) return `'${e.slug}' on a ${e.resourceType} is not an entitlement that can be provisioned`;
  return ENTITLEMENT_KINDS[kind].refusal(principalType, e);
}
