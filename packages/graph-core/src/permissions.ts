// The permission sets of ../shared/reference/access-model.md: what sync needs and what grant/revoke needs.
export const READ_PERMISSIONS: readonly string[] = [
  'Application.Read.All',
  'AppRoleAssignment.ReadWrite.All',
  'AuditLog.Read.All',
  'Directory.ReadWrite.All',
  'Group.Read.All',
  'GroupMember.Read.All',
  'MailboxSettings.Read',
  'RoleAssignmentSchedule.Read.Directory',
  'RoleEligibilitySchedule.Read.Directory',
  'RoleManagement.Read.All',
  'RoleManagement.Read.Directory',
  'RoleManagementAlert.Read.Directory',
  'RoleManagementPolicy.Read.AzureADGroup',
  'RoleManagementPolicy.Read.Directory',
  'ServicePrincipalEndpoint.Read.All',
  'User.Read.All',
  'User.ReadBasic.All',
];

export const PROVISIONING_PERMISSIONS: readonly string[] = [
  'Application.ReadWrite.All',
  'AppRoleAssignment.ReadWrite.All',
  'AuditLog.Read.All',
  'Directory.ReadWrite.All',
  'Group.ReadWrite.All',
  'GroupMember.ReadWrite.All',
  'MailboxSettings.ReadWrite',
  'RoleAssignmentSchedule.Read.Directory',
  'RoleEligibilitySchedule.Read.Directory',
  'RoleManagement.Read.All',
  'RoleManagement.Read.Directory',
  'RoleManagementAlert.Read.Directory',
  'RoleManagementPolicy.Read.AzureADGroup',
  'RoleManagementPolicy.Read.Directory',
  'ServicePrincipalEndpoint.ReadWrite.All',
  'User.ReadWrite.All',
  'User.ReadBasic.All',
];

// What one write needs on top of these sets (RoleManagement.ReadWrite.Directory for directory roles
// and role-assignable groups) is a rule of the access model: @warden/access-model's registry.

// A ReadWrite permission implies its Read counterpart, so a provisioning app is not reported as
// missing read permissions.
function satisfied(needed: string, granted: Set<string>): boolean {
  return (
    granted.has(needed) ||
    granted.has(needed.replace('.Read.', '.ReadWrite.')) ||
    (needed === 'MailboxSettings.Read' && granted.has('MailboxSettings.ReadWrite'))
  );
}

export function missingPermissions(granted: readonly string[]): { forSync: string[]; forProvisioning: string[] } {
  const g = new Set(granted);
  return {
    forSync: READ_PERMISSIONS.filter((p) => !satisfied(p, g)),
    forProvisioning: PROVISIONING_PERMISSIONS.filter((p) => !satisfied(p, g)),
  };
}
