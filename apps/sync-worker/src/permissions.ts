import type { StageName } from './runs/checkpoint';

const DIRECTORY_READ = ['Directory.Read.All', 'Directory.ReadWrite.All'];

/**
 * What each stage reads and the application permissions that allow it (any one suffices; Graph's
 * "least to most privileged" lists). User.ReadBasic.All is not enough for users: it hides
 * accountEnabled, userType, department and the other profile fields the model keeps.
 */
export const STAGE_PERMISSIONS: Record<StageName | 'eligibility', { reads: string; anyOf: string[] }> = {
  users: { reads: 'users', anyOf: ['User.Read.All', 'User.ReadWrite.All', ...DIRECTORY_READ] },
  groups: { reads: 'groups with members and owners', anyOf: ['Group.Read.All', 'Group.ReadWrite.All', 'GroupMember.Read.All', 'GroupMember.ReadWrite.All', ...DIRECTORY_READ] },
  servicePrincipals: { reads: 'enterprise applications and managed identities', anyOf: ['Application.Read.All', 'Application.ReadWrite.All', ...DIRECTORY_READ] },
  appAccess: { reads: 'app role assignments', anyOf: ['Application.Read.All', 'Application.ReadWrite.All', 'AppRoleAssignment.ReadWrite.All', ...DIRECTORY_READ] },
  directoryRoles: { reads: 'directory roles and their assignments', anyOf: ['RoleManagement.Read.Directory', 'RoleManagement.Read.All', 'RoleManagement.ReadWrite.Directory', ...DIRECTORY_READ] },
  eligibility: {
    reads: 'PIM eligibility schedules',
    anyOf: ['RoleEligibilitySchedule.Read.Directory', 'RoleEligibilitySchedule.ReadWrite.Directory', 'RoleManagement.Read.Directory', 'RoleManagement.Read.All', 'RoleManagement.ReadWrite.Directory'],
  },
};

export interface StagePlan {
  /** Stages that will run, with the reason each skipped one is skipped. */
  run: Set<StageName>;
  skipped: Map<StageName, string>;
  eligibility: boolean;
  /** appAccess reads owners even without an assignment permission, and vice versa. */
  appAssignments: boolean;
  appOwners: boolean;
}

function allowed(granted: ReadonlySet<string>, what: keyof typeof STAGE_PERMISSIONS): boolean {
  return STAGE_PERMISSIONS[what].anyOf.some((p) => granted.has(p));
}

function reason(what: keyof typeof STAGE_PERMISSIONS): string {
  const p = STAGE_PERMISSIONS[what];
  return `skipped ${p.reads}: the app has none of ${p.anyOf.join(', ')}`;
}

/** Which stages the token's roles allow. Nothing readable at all fails the run. */
export function planStages(grantedRoles: readonly string[]): StagePlan {
  const g = new Set(grantedRoles);
  const run = new Set<StageName>();
  const skipped = new Map<StageName, string>();
  for (const stage of ['users', 'groups', 'servicePrincipals', 'directoryRoles'] as const) {
    if (allowed(g, stage)) run.add(stage);
    else skipped.set(stage, reason(stage));
  }
  const appAssignments = allowed(g, 'appAccess');
  // Owners come from /servicePrincipals/{id}/owners, which needs the service principal read permission.
  const appOwners = allowed(g, 'servicePrincipals');
  if (run.has('servicePrincipals') && (appAssignments || appOwners)) run.add('appAccess');
  else skipped.set('appAccess', run.has('servicePrincipals') ? reason('appAccess') : 'skipped app role assignments and app owners: enterprise applications cannot be read');
  return { run, skipped, eligibility: run.has('directoryRoles') && allowed(g, 'eligibility'), appAssignments, appOwners };
}
