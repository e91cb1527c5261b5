import { describe, expect, it } from 'vitest';
import { RESOURCE_TYPES } from '@warden/database';
import {
  additionalWritePermissions,
  DIRECTORY_ROLE_WRITE_PERMISSION,
  ENTITLEMENT_KINDS,
  ENTITLEMENT_KIND_NAMES,
  entitlementKind,
  groupOfMemberKey,
  keyPattern,
  memberKey,
  MEMBER_KEY_PATTERN,
  missingAdditionalWritePermissions,
  principalKindOfResource,
  RESOURCE_STAGES,
  RESOURCE_TYPES_REGISTRY,
  sweepOfStage,
} from '../src';

describe('resource-type registry', () => {
  it('describes every resource type once, and every kind names a slug its type resolves back to it', () => {
    expect(Object.keys(RESOURCE_TYPES_REGISTRY).sort()).toEqual([...RESOURCE_TYPES].sort());
    for (const k of ENTITLEMENT_KIND_NAMES) {
      const d = ENTITLEMENT_KINDS[k];
      expect(entitlementKind(d.resourceType, d.slug === '*' ? 'SomeAppRole' : d.slug)).toBe(k);
    }
  });

  it('sweeps and unmarks per stage what finalize always swept', () => {
    expect(RESOURCE_STAGES).toEqual(['users', 'groups', 'servicePrincipals', 'directoryRoles']);
    expect(sweepOfStage('users')).toEqual({
      fullPassOnly: true,
      resourceTypes: ['USER'],
      entitlementTypes: [],
      grantPatterns: [],
      grantSlugTypes: [],
    });
    expect(sweepOfStage('groups')).toEqual({
      fullPassOnly: true,
      resourceTypes: ['GROUP'],
      entitlementTypes: ['GROUP'],
      grantPatterns: ['GROUP:%'],
      grantSlugTypes: [],
    });
    expect(sweepOfStage('servicePrincipals')).toEqual({
      fullPassOnly: true,
      resourceTypes: ['MANAGED_IDENTITY', 'ENTERPRISE_APPLICATION'],
      entitlementTypes: ['ENTERPRISE_APPLICATION'],
      grantPatterns: [],
      grantSlugTypes: [],
    });
    expect(sweepOfStage('directoryRoles')).toEqual({
      fullPassOnly: false,
      resourceTypes: ['DIRECTORY_ROLE'],
      entitlementTypes: ['DIRECTORY_ROLE'],
      grantPatterns: [],
      grantSlugTypes: ['DIRECTORY_ROLE'],
    });
  });

  it('asks for the role-write permission for role kinds and membership of role-assignable groups only', () => {
    expect(additionalWritePermissions('ROLE_ASSIGNED', {})).toEqual([DIRECTORY_ROLE_WRITE_PERMISSION]);
    expect(additionalWritePermissions('ROLE_ELIGIBLE', null)).toEqual([DIRECTORY_ROLE_WRITE_PERMISSION]);
    expect(additionalWritePermissions('GROUP_MEMBER', { roleAssignable: true })).toEqual([DIRECTORY_ROLE_WRITE_PERMISSION]);
    expect(additionalWritePermissions('GROUP_MEMBER', { roleAssignable: false })).toEqual([]);
    expect(additionalWritePermissions('GROUP_OWNER', { roleAssignable: true })).toEqual([]);
    expect(missingAdditionalWritePermissions('GROUP_MEMBER', { roleAssignable: true }, [DIRECTORY_ROLE_WRITE_PERMISSION])).toEqual([]);
  });

  it('maps resource types to principal kinds as provisioning always did', () => {
    expect(principalKindOfResource('USER')).toBe('USER');
    expect(principalKindOfResource('GROUP')).toBe('GROUP');
    expect(principalKindOfResource('MANAGED_IDENTITY')).toBe('SERVICE_PRINCIPAL');
    expect(principalKindOfResource('ENTERPRISE_APPLICATION')).toBe('SERVICE_PRINCIPAL');
  });

  it('formats, parses and matches keys in one place', () => {
    expect(memberKey('g1')).toBe('GROUP:g1:member');
    expect(groupOfMemberKey('GROUP:g1:member')).toBe('g1');
    expect(groupOfMemberKey('GROUP:g1:owner')).toBeNull();
    expect(MEMBER_KEY_PATTERN).toBe('GROUP:%:member');
    expect(keyPattern('DIRECTORY_ROLE', 'eligible')).toBe('DIRECTORY_ROLE:%:eligible');
  });
});
