import type { EntitlementKind } from '@warden/access-model';
import { appAssignment } from './app-assignment';
import { referenceOperation } from './directory-reference';
import { roleAssignment, scopedRoleAssignment } from './role-assignment';
import { roleEligibility } from './role-eligibility';
import type { Operation } from './types';

/**
 * The Graph write of every entitlement kind of @warden/access-model's registry: a kind added there
 * does not compile until it has one here. Reference-shaped kinds are one line each.
 */
export const OPERATIONS: Record<EntitlementKind, Operation> = {
  GROUP_MEMBER: referenceOperation('GROUP_MEMBER', (i) => `/v1.0/groups/${i.resourceId}/members`),
  GROUP_OWNER: referenceOperation('GROUP_OWNER', (i) => `/v1.0/groups/${i.resourceId}/owners`),
  APP_ASSIGNMENT: appAssignment,
  APP_OWNER: referenceOperation('APP_OWNER', (i) => `/v1.0/servicePrincipals/${i.resourceId}/owners`),
  ROLE_ASSIGNED: roleAssignment,
  ROLE_ASSIGNED_SCOPED: scopedRoleAssignment,
  ROLE_ELIGIBLE: roleEligibility,
};

export * from './types';
