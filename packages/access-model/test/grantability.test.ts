import { describe, expect, it } from 'vitest';
import { entitlementKind, principalRefusal } from '../src/access/grantability';
import { directoryScopeKind, directoryScopeOfSlug, roleAssignedSlug } from '../src/registry/keys';
import { additionalWritePermissions, roleAllowedAtScope, slugLikePattern } from '../src/registry/resource-types';

describe('grantability', () => {
  it('maps slugs to provisioning kinds', () => {
    expect(entitlementKind('GROUP', 'member')).toBe('GROUP_MEMBER');
    expect(entitlementKind('ENTERPRISE_APPLICATION', 'Reader')).toBe('APP_ASSIGNMENT');
    expect(entitlementKind('DIRECTORY_ROLE', 'eligible')).toBe('ROLE_ELIGIBLE');
    expect(entitlementKind('USER', 'member')).toBeNull();
  });

  it('scoped role assignments: one kind for every scope, its slug carries the directoryScopeId', () => {
    const au = '/administrativeUnits/6a1b9e3c-0000-4000-8000-000000000001';
    expect(roleAssignedSlug('/')).toBe('assigned');
    expect(roleAssignedSlug(au)).toBe(`assigned@${au}`);
    expect(directoryScopeOfSlug(`assigned@${au}`)).toBe(au);
    expect(directoryScopeOfSlug('assigned')).toBe('/');
    expect(directoryScopeKind(au)).toEqual({ type: 'administrativeUnit', id: '6a1b9e3c-0000-4000-8000-000000000001' });
    expect(directoryScopeKind('/0b7c0000-0000-4000-8000-000000000002')).toEqual({
      type: 'application',
      id: '0b7c0000-0000-4000-8000-000000000002',
    });
    expect(entitlementKind('DIRECTORY_ROLE', `assigned@${au}`)).toBe('ROLE_ASSIGNED_SCOPED');
    expect(entitlementKind('DIRECTORY_ROLE', 'assigned')).toBe('ROLE_ASSIGNED');
    expect(entitlementKind('DIRECTORY_ROLE', 'assigned@')).toBeNull();
    expect(additionalWritePermissions('ROLE_ASSIGNED_SCOPED', {})).toEqual(['RoleManagement.ReadWrite.Directory']);
    expect(slugLikePattern('assigned@*')).toBe('assigned@%');
    expect(slugLikePattern('eligible')).toBe('eligible');

    const userAdmin = { templateId: 'fe930be7-5e62-47db-91af-98c3a49a38b1', isBuiltIn: true };
    const globalAdmin = { templateId: '62e90394-69f5-4237-9190-012177145e10', isBuiltIn: true };
    const appAdmin = { templateId: '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3', isBuiltIn: true };
    expect(roleAllowedAtScope(userAdmin, au)).toBe(true);
    expect(roleAllowedAtScope(globalAdmin, au)).toBe(false);
    expect(roleAllowedAtScope(globalAdmin, '/')).toBe(true);
    expect(roleAllowedAtScope({ templateId: 'x', isBuiltIn: false }, au)).toBe(true);
    expect(roleAllowedAtScope(appAdmin, '/0b7c0000-0000-4000-8000-000000000002')).toBe(true);
    expect(roleAllowedAtScope(userAdmin, '/0b7c0000-0000-4000-8000-000000000002')).toBe(false);

    const scoped = { resourceType: 'DIRECTORY_ROLE' as const, slug: `assigned@${au}` };
    for (const p of ['USER', 'GROUP', 'ENTERPRISE_APPLICATION', 'MANAGED_IDENTITY'] as const)
      expect(principalRefusal(scoped, p)).toBeNull();
    expect(principalRefusal(scoped, 'DIRECTORY_ROLE')).toMatch(/directory roles are for users/);
    expect(principalRefusal({ ...scoped, scopeAllowed: false }, 'USER')).toMatch(/does not allow this role at the scope/);
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
