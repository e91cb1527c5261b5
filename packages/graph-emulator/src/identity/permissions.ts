/** Graph application permission sets (../shared/reference/access-model.md) and what each route needs. */

export const READ_ONLY_SET = [
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
] as const;

export const PROVISIONING_SET = [
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
] as const;

/** The provisioning app also writes directory roles and PIM eligibility. */
export const PROVISIONING_ROLES: string[] = [...PROVISIONING_SET, 'RoleManagement.ReadWrite.Directory'];
export const READONLY_ROLES: string[] = [...READ_ONLY_SET];

const DIR_READ = ['Directory.Read.All', 'Directory.ReadWrite.All'];

/**
 * Permission requirements per operation: the token needs at least one of the listed roles
 * (Graph's "least to most privileged" lists in each API page's permissions table).
 */
export const REQUIRED = {
  readUsers: ['User.Read.All', 'User.ReadWrite.All', 'User.ReadBasic.All', ...DIR_READ],
  readGroups: ['Group.Read.All', 'Group.ReadWrite.All', 'GroupMember.Read.All', 'GroupMember.ReadWrite.All', ...DIR_READ],
  readServicePrincipals: ['Application.Read.All', 'Application.ReadWrite.All', ...DIR_READ],
  readAppRoleAssignments: ['Application.Read.All', 'Application.ReadWrite.All', 'AppRoleAssignment.ReadWrite.All', ...DIR_READ],
  readDirectoryRoles: ['RoleManagement.Read.Directory', 'RoleManagement.Read.All', 'RoleManagement.ReadWrite.Directory', ...DIR_READ],
  readRoleManagement: ['RoleManagement.Read.Directory', 'RoleManagement.Read.All', 'RoleManagement.ReadWrite.Directory', ...DIR_READ],
  readRoleEligibility: [
    'RoleEligibilitySchedule.Read.Directory',
    'RoleEligibilitySchedule.ReadWrite.Directory',
    'RoleManagement.Read.Directory',
    'RoleManagement.Read.All',
    'RoleManagement.ReadWrite.Directory',
  ],
  readAdministrativeUnits: ['AdministrativeUnit.Read.All', 'AdministrativeUnit.ReadWrite.All', ...DIR_READ],
  readApplications: ['Application.Read.All', 'Application.ReadWrite.All', ...DIR_READ],
  // List directoryAudits: AuditLog.Read.All, or the higher-privileged Directory.Read.All.
  readAuditLogs: ['AuditLog.Read.All', ...DIR_READ],
  readDirectoryObjects: ['Directory.Read.All', 'Directory.ReadWrite.All', 'User.Read.All', 'Group.Read.All', 'Application.Read.All'],
  writeGroupMembers: ['GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'],
  writeGroupOwners: ['Group.ReadWrite.All', 'Directory.ReadWrite.All'],
  writeServicePrincipalOwners: ['Application.ReadWrite.All', 'Directory.ReadWrite.All'],
  writeAppRoleAssignments: ['AppRoleAssignment.ReadWrite.All'],
  writeRoleAssignments: ['RoleManagement.ReadWrite.Directory'],
  writeRoleEligibility: ['RoleEligibilitySchedule.ReadWrite.Directory', 'RoleManagement.ReadWrite.Directory'],
} as const satisfies Record<string, readonly string[]>;

export type Permission = keyof typeof REQUIRED;

export function allows(roles: readonly string[], need: Permission): boolean {
  const req: readonly string[] = REQUIRED[need];
  return roles.some((r) => req.includes(r));
}

/** Every permission name the emulated Microsoft Graph service principal offers as an app role. */
export function allGraphPermissions(): string[] {
  const s = new Set<string>([...PROVISIONING_ROLES, ...READONLY_ROLES]);
  for (const list of Object.values(REQUIRED)) for (const r of list) s.add(r);
  return [...s].sort();
}
