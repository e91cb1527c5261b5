/**
 * Graph application permissions a connector needs (reference/access-model.md). graph-core exports
 * the same sets; the gateway keeps its own copy so it can start before graph-core exists, and
 * `missingPermissions` here follows graph-core's shape.
 */
export const READ_PERMISSIONS: readonly string[] = [
  'Application.Read.All', 'AppRoleAssignment.ReadWrite.All', 'AuditLog.Read.All', 'Directory.ReadWrite.All', 'Group.Read.All',
  'GroupMember.Read.All', 'MailboxSettings.Read', 'RoleAssignmentSchedule.Read.Directory', 'RoleEligibilitySchedule.Read.Directory',
  'RoleManagement.Read.All', 'RoleManagement.Read.Directory', 'RoleManagementAlert.Read.Directory',
  'RoleManagementPolicy.Read.AzureADGroup', 'RoleManagementPolicy.Read.Directory', 'ServicePrincipalEndpoint.Read.All',
  'User.Read.All', 'User.ReadBasic.All',
];

export const PROVISIONING_PERMISSIONS: readonly string[] = [
  'Application.ReadWrite.All', 'AppRoleAssignment.ReadWrite.All', 'AuditLog.Read.All', 'Directory.ReadWrite.All',
  'Group.ReadWrite.All', 'GroupMember.ReadWrite.All', 'MailboxSettings.ReadWrite', 'RoleAssignmentSchedule.Read.Directory',
  'RoleEligibilitySchedule.Read.Directory', 'RoleManagement.Read.All', 'RoleManagement.Read.Directory',
  'RoleManagementAlert.Read.Directory', 'RoleManagementPolicy.Read.AzureADGroup', 'RoleManagementPolicy.Read.Directory',
  'ServicePrincipalEndpoint.ReadWrite.All', 'User.ReadWrite.All', 'User.ReadBasic.All',
];

export const DIRECTORY_ROLE_WRITE_PERMISSION = 'RoleManagement.ReadWrite.Directory';

/** A ReadWrite grant covers the matching Read permission. */
function covered(granted: Set<string>, p: string): boolean {
  const readWrite = p.replace(/\.Read(\.|$)/, '.ReadWrite$1');
  return granted.has(p) || (readWrite !== p && granted.has(readWrite));
}

export function missingPermissions(granted: readonly string[]): { forSync: string[]; forProvisioning: string[] } {
  const g = new Set(granted);
  return {
    forSync: READ_PERMISSIONS.filter((p) => !covered(g, p)),
    forProvisioning: PROVISIONING_PERMISSIONS.filter((p) => !covered(g, p)),
  };
}

/** What the contract's `missingPermissions` lists: needed for sync or provisioning, not granted. */
export function allMissing(granted: readonly string[]): string[] {
  const m = missingPermissions(granted);
  return [...new Set([...m.forSync, ...m.forProvisioning])].sort();
}
