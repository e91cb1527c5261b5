import type { JsonObject, TenantExport } from '../types';
import type { Directory } from './directory';

/** The full truth in Graph property names, for tests that diff a synced database against it. */
export function exportTenant(dir: Directory): TenantExport {
  const spOwners: { servicePrincipalId: string; ownerId: string }[] = [];
  for (const [sp, owners] of dir.spOwners.entries()) for (const o of owners) spOwners.push({ servicePrincipalId: sp, ownerId: o });
  return {
    tenantId: dir.tenantId,
    // managerId is not a Graph property: the manager reference (`$expand=manager`, `manager@delta`), for tests.
    users: dir.users.list().map((u) => ({ ...u, managerId: dir.managers.get(u.id) ?? null })),
    groups: dir.groups.list().map((g) => ({ ...g, members: [...dir.groupMembers.get(g.id)], owners: [...dir.groupOwners.get(g.id)] })),
    servicePrincipals: dir.servicePrincipals.list().map((sp) => ({ ...sp, owners: [...dir.spOwners.get(sp.id)] })),
    appRoleAssignments: [...dir.appRoleAssignments.list()],
    servicePrincipalOwners: spOwners,
    roleDefinitions: [...dir.roleDefinitions.list()],
    roleAssignments: [...dir.roleAssignments.list()],
    administrativeUnits: [...dir.administrativeUnits.list()],
    applications: [...dir.applications.list()],
    roleEligibilitySchedules: dir.currentEligibilitySchedules(),
    directoryRoles: dir.directoryRoles
      .list()
      .map((r) => ({ ...r, members: dir.directoryRoleMembers(r.id) }) as JsonObject & { members: string[] }),
    devices: [...dir.devices.list()],
    orgContacts: [...dir.orgContacts.list()],
  };
}
