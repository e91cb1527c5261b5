import type { TenantCounts, TenantSize } from '../types';

/** Object counts per tenant size; L and XL follow the shape (5% guests, 3% disabled, ...). */
export const SIZE_COUNTS: Record<TenantSize, TenantCounts> = {
  S: {
    users: 200,
    groups: 30,
    memberships: 1_200,
    largeGroups: 0,
    enterpriseApps: 15,
    managedIdentities: 5,
    appRoleAssignments: 300,
    devices: 5,
    orgContacts: 3,
    roleAssignments: 12,
    roleEligibilitySchedules: 8,
    customRoles: 1,
  },
  M: {
    users: 5_000,
    groups: 500,
    memberships: 50_000,
    largeGroups: 0,
    enterpriseApps: 150,
    managedIdentities: 50,
    appRoleAssignments: 10_000,
    devices: 50,
    orgContacts: 20,
    roleAssignments: 60,
    roleEligibilitySchedules: 40,
    customRoles: 3,
  },
  L: {
    users: 50_000,
    groups: 5_000,
    memberships: 500_000,
    largeGroups: 3,
    enterpriseApps: 1_000,
    managedIdentities: 500,
    appRoleAssignments: 100_000,
    devices: 300,
    orgContacts: 100,
    roleAssignments: 300,
    roleEligibilitySchedules: 200,
    customRoles: 10,
  },
  XL: {
    users: 250_000,
    groups: 25_000,
    memberships: 2_500_000,
    largeGroups: 10,
    enterpriseApps: 5_000,
    managedIdentities: 2_500,
    appRoleAssignments: 500_000,
    devices: 1_500,
    orgContacts: 500,
    roleAssignments: 1_500,
    roleEligibilitySchedules: 1_000,
    customRoles: 20,
  },
};

export function resolveCounts(size: TenantSize, overrides?: Partial<TenantCounts>): TenantCounts {
  const base = { ...SIZE_COUNTS[size] };
  if (!overrides) return base;
  for (const [k, v] of Object.entries(overrides) as [keyof TenantCounts, number | undefined][]) {
    if (v !== undefined) base[k] = v;
  }
  return base;
}

/** Graph's per app+tenant resource-unit budget per 10 s, by tenant user count. */
export function ruBudgetForUsers(userCount: number): number {
  if (userCount < 50) return 3_500;
  if (userCount <= 500) return 5_000;
  return 8_000;
}
