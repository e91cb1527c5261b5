import { describe, expect, it } from 'vitest';
import { mapScopedRoleEntitlement } from '../src/syncers/directory-roles';

// The database comparison (sync.test.ts) covers administrative-unit scopes end to end; the emulator
// has no app registrations, so the application-scope naming is checked here.
describe('scoped directory-role entitlements', () => {
  const userAdmin = {
    id: 'fe930be7-5e62-47db-91af-98c3a49a38b1',
    displayName: 'User Administrator',
    isBuiltIn: true,
    templateId: 'fe930be7-5e62-47db-91af-98c3a49a38b1',
  };
  const appAdmin = {
    id: '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3',
    displayName: 'Application Administrator',
    isBuiltIn: true,
    templateId: '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3',
  };

  it('names an administrative-unit scope by the unit and keys it by the directoryScopeId', () => {
    const e = mapScopedRoleEntitlement(userAdmin, '/administrativeUnits/6a1b9e3c-0000-4000-8000-000000000001', 'Sales');
    expect(e).toMatchObject({
      key: `DIRECTORY_ROLE:${userAdmin.id}:assigned@/administrativeUnits/6a1b9e3c-0000-4000-8000-000000000001`,
      slug: 'assigned@/administrativeUnits/6a1b9e3c-0000-4000-8000-000000000001',
      displayName: 'User Administrator (administrative unit: Sales)',
      grantable: true,
      metadata: {
        scopeType: 'administrativeUnit',
        scopeId: '6a1b9e3c-0000-4000-8000-000000000001',
        scopeDisplayName: 'Sales',
        scopeAllowed: true,
      },
    });
    // Unnamed (administrative units unreadable): the unit id stands in.
    expect(mapScopedRoleEntitlement(userAdmin, '/administrativeUnits/x1', null).displayName).toBe(
      'User Administrator (administrative unit: x1)',
    );
  });

  it('names an application scope by the app object id, and knows which roles Graph allows there', () => {
    const e = mapScopedRoleEntitlement(appAdmin, '/0b7c0000-0000-4000-8000-000000000002', null);
    expect(e.displayName).toBe('Application Administrator (application: 0b7c0000-0000-4000-8000-000000000002)');
    expect(e.metadata).toMatchObject({
      scopeType: 'application',
      directoryScopeId: '/0b7c0000-0000-4000-8000-000000000002',
      scopeAllowed: true,
    });
    expect(mapScopedRoleEntitlement(userAdmin, '/0b7c0000-0000-4000-8000-000000000002', null).metadata['scopeAllowed']).toBe(false);
  });
});
