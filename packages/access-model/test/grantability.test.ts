import { describe, expect, it } from 'vitest';
import { entitlementKind, principalRefusal } from '../src/access/grantability';

describe('grantability', () => {
  it('maps slugs to provisioning kinds', () => {
    expect(entitlementKind('GROUP', 'member')).toBe('GROUP_MEMBER');
    expect(entitlementKind('ENTERPRISE_APPLICATION', 'Reader')).toBe('APP_ASSIGNMENT');
    expect(entitlementKind('DIRECTORY_ROLE', 'eligible')).toBe('ROLE_ELIGIBLE');
    expect(entitlementKind('USER', 'member')).toBeNull();
  });

  it('allows and refuses principals as Graph does', () => {
    expect(principalRefusal({ resourceType: 'GROUP', slug: 'member' }, 'GROUP')).toBeNull();
    expect(principalRefusal({ resourceType: 'GROUP', slug: 'member', unifiedGroup: true }, 'GROUP')).toMatch(/only users/);
    expect(principalRefusal({ resourceType: 'GROUP', slug: 'owner' }, 'GROUP')).toMatch(/users or service principals/);
    expect(
      principalRefusal({ resourceType: 'ENTERPRISE_APPLICATION', slug: 'Admin', allowedMemberTypes: ['Application'] }, 'USER'),
    ).toMatch(/Application/);
    expect(
      principalRefusal({ resourceType: 'ENTERPRISE_APPLICATION', slug: 'Admin', allowedMemberTypes: ['Application'] }, 'MANAGED_IDENTITY'),
    ).toBeNull();
    expect(principalRefusal({ resourceType: 'DIRECTORY_ROLE', slug: 'eligible' }, 'ENTERPRISE_APPLICATION')).toMatch(/PIM/);
    expect(principalRefusal({ resourceType: 'DIRECTORY_ROLE', slug: 'assigned' }, 'DIRECTORY_ROLE')).not.toBeNull();
  });
});
