import type { EntitlementKind } from '@warden/access-model';
import { appAssignment } from './app-assignment';
import { appOwnership } from './app-ownership';
import { groupMembership } from './group-membership';
import { groupOwnership } from './group-ownership';
import { roleAssignment } from './role-assignment';
import { roleEligibility } from './role-eligibility';
import type { Operation } from './types';

export const OPERATIONS: Record<EntitlementKind, Operation> = {
  GROUP_MEMBER: groupMembership,
  GROUP_OWNER: groupOwnership,
  APP_ASSIGNMENT: appAssignment,
  APP_OWNER: appOwnership,
  ROLE_ASSIGNED: roleAssignment,
  ROLE_ELIGIBLE: roleEligibility,
};

export * from './types';
