import type { TenantExport } from '@warden/graph-emulator';

type Obj = Record<string, unknown>;
export type Group = TenantExport['groups'][number];

/** A group Graph lets us write (not synced, not dynamic, not mail-enabled non-Unified) and not role-assignable. */
export function writableGroups(t: TenantExport, opts: { unified?: boolean } = {}): Group[] {
  return t.groups.filter((g) => {
    const types = (g.groupTypes as string[] | undefined) ?? [];
    const unified = types.includes('Unified');
    if (opts.unified !== undefined && unified !== opts.unified) return false;
    return (
      g.onPremisesSyncEnabled !== true &&
      !types.includes('DynamicMembership') &&
      !(g.mailEnabled === true && !unified) &&
      g.isAssignableToRole !== true
    );
  });
}

export function userIds(t: TenantExport): string[] {
  return (t.users as Obj[]).map((u) => String(u.id));
}

export function enterpriseApps(t: TenantExport): Obj[] {
  return (t.servicePrincipals as Obj[]).filter((sp) => sp.servicePrincipalType === 'Application');
}

export function group(t: TenantExport, id: string): Group {
  const g = t.groups.find((x) => x.id === id);
  if (!g) throw new Error(`group ${id} not in export`);
  return g;
}

export function appRoleAssignment(t: TenantExport, resourceId: string, principalId: string, appRoleId: string): Obj | undefined {
  return (t.appRoleAssignments as Obj[]).find(
    (a) => a.resourceId === resourceId && a.principalId === principalId && a.appRoleId === appRoleId,
  );
}

export function roleAssignment(t: TenantExport, roleId: string, principalId: string): Obj | undefined {
  return (t.roleAssignments as Obj[]).find(
    (a) => a.roleDefinitionId === roleId && a.principalId === principalId && a.directoryScopeId === '/',
  );
}

/** The active assignment of the role to the principal over a directoryScopeId (an administrative unit). */
export function scopedRoleAssignment(t: TenantExport, roleId: string, principalId: string, scope: string): Obj | undefined {
  return (t.roleAssignments as Obj[]).find(
    (a) => a.roleDefinitionId === roleId && a.principalId === principalId && a.directoryScopeId === scope,
  );
}

export function eligibility(t: TenantExport, roleId: string, principalId: string): Obj | undefined {
  return (t.roleEligibilitySchedules as Obj[]).find(
    (a) => a.roleDefinitionId === roleId && a.principalId === principalId && (a.directoryScopeId ?? '/') === '/',
  );
}

/** First user not in `exclude` (deterministic). */
export function pickUser(t: TenantExport, exclude: Iterable<string>, skip = 0): string {
  const ex = new Set(exclude);
  const u = userIds(t).filter((id) => !ex.has(id))[skip];
  if (!u) throw new Error('no user left to pick');
  return u;
}
