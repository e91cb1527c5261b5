import type { ResourceType } from '@warden/database';

/**
 * Which principals Graph lets us grant each entitlement to. The gateway refuses a request before it
 * is queued and the provision worker checks again before any Graph call, both with this one rule.
 */
export type EntitlementKind =
  | 'GROUP_MEMBER'
  | 'GROUP_OWNER'
  | 'APP_ASSIGNMENT' // the default-access 'assigned' entitlement and every app role
  | 'APP_OWNER'
  | 'ROLE_ASSIGNED'
  | 'ROLE_ELIGIBLE';

export interface EntitlementShape {
  resourceType: ResourceType;
  slug: string;
  /** For groups: groupTypes includes 'Unified' (Microsoft 365 groups take only users as members). */
  unifiedGroup?: boolean;
  /** For app roles: the role's allowedMemberTypes ('User' covers users and groups, 'Application' service principals). */
  allowedMemberTypes?: string[];
}

export function entitlementKind(resourceType: ResourceType, slug: string): EntitlementKind | null {
  switch (resourceType) {
    case 'GROUP':
      return slug === 'member' ? 'GROUP_MEMBER' : slug === 'owner' ? 'GROUP_OWNER' : null;
    case 'ENTERPRISE_APPLICATION':
      return slug === 'owner' ? 'APP_OWNER' : 'APP_ASSIGNMENT';
    case 'DIRECTORY_ROLE':
      return slug === 'assigned' ? 'ROLE_ASSIGNED' : slug === 'eligible' ? 'ROLE_ELIGIBLE' : null;
    default:
      return null;
  }
}

const SERVICE_PRINCIPALS: ResourceType[] = ['MANAGED_IDENTITY', 'ENTERPRISE_APPLICATION'];

/** Returns null when the principal may hold the entitlement, else the reason it may not. */
export function principalRefusal(e: EntitlementShape, principalType: ResourceType): string | null {
  const kind = entitlementKind(e.resourceType, e.slug);
  if (!kind) return `'${e.slug}' on a ${e.resourceType} is not an entitlement that can be provisioned`;
  const isSp = SERVICE_PRINCIPALS.includes(principalType);
  const allow = (ok: boolean, what: string) => (ok ? null : `${what}; ${principalType} principals cannot hold it`);
  switch (kind) {
    case 'GROUP_MEMBER':
      if (e.unifiedGroup) return allow(principalType === 'USER', 'Microsoft 365 groups take only users as members');
      return allow(principalType === 'USER' || principalType === 'GROUP' || isSp, 'group membership is for users, groups and service principals');
    case 'GROUP_OWNER':
      return allow(principalType === 'USER' || isSp, 'group owners must be users or service principals');
    case 'APP_OWNER':
      return allow(principalType === 'USER' || isSp, 'application owners must be users or service principals');
    case 'APP_ASSIGNMENT': {
      const types = e.allowedMemberTypes ?? ['User'];
      const userish = principalType === 'USER' || principalType === 'GROUP';
      if (userish && types.includes('User')) return null;
      if (isSp && types.includes('Application')) return null;
      return `app role '${e.slug}' allows ${types.join(', ') || 'no'} member types; ${principalType} principals cannot hold it`;
    }
    case 'ROLE_ASSIGNED':
      return allow(principalType === 'USER' || principalType === 'GROUP' || isSp, 'directory roles are for users, role-assignable groups and service principals');
    case 'ROLE_ELIGIBLE':
      return allow(principalType === 'USER' || principalType === 'GROUP', 'PIM eligibility is for users and role-assignable groups');
  }
}
