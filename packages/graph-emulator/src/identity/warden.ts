import type { EmulatorApp, JsonObject } from '../types';
import type { Directory, Entity } from '../tenant/directory';
import { appRoleAssignmentId } from '../tenant/ids';
import { Rng, deriveSeed } from '../tenant/rng';

const CREATED = '2021-01-01T00:00:00Z';

function assign(
  dir: Directory,
  rng: Rng,
  sp: Entity,
  principal: Entity,
  principalType: 'User' | 'Group' | 'ServicePrincipal',
  appRoleId: string,
): void {
  const obj: Entity = {
    id: appRoleAssignmentId(principal.id, rng.bytes(16)),
    deletedDateTime: null,
    appRoleId,
    createdDateTime: CREATED,
    principalDisplayName: String(principal['displayName'] ?? ''),
    principalId: principal.id,
    principalType,
    resourceDisplayName: String(sp['displayName']),
    resourceId: sp.id,
  };
  dir.appRoleAssignments.set(obj);
  dir.assignmentsByResource.add(sp.id, obj.id);
  dir.assignmentsByPrincipal.add(principal.id, obj.id);
}

const usable = (u: Entity): boolean => u['accountEnabled'] === true && u['userType'] === 'Member';

/**
 * Adds the Warden application's service principal to a generated tenant, with its app roles assigned
 * deterministically: one cloud security group Warden.Viewer (its members hold the role through
 * the group), and, among the enabled member users outside that group, the first Warden.SuperAdmin,
 * the next two Warden.ConnectorAdmin and the next Warden.Viewer, and the Warden service principal itself Warden.SuperAdmin (app-only
 * tokens for scripts). Uses its own random stream, so the rest of the tenant is unchanged.
 * Records the role holders' UPNs on `app.api`.
 */
export function seedWardenApp(dir: Directory, seed: number, app: EmulatorApp): void {
  const api = app.api;
  if (!api) return;
  const rng = new Rng(deriveSeed(seed, 0x3a7de));
  const roleId = (value: string): string => (api.appRoles.find((r) => r.value === value) as { id: string }).id;
  const sp: Entity = {
    id: rng.guid(),
    appId: app.clientId,
    displayName: 'Warden',
    accountEnabled: true,
    servicePrincipalType: 'Application',
    appRoleAssignmentRequired: false,
    appRoles: api.appRoles.map((r): JsonObject => ({
      id: r.id,
      value: r.value,
      displayName: r.displayName,
      description: `${r.displayName} in Warden`,
      allowedMemberTypes: r.allowedMemberTypes,
      isEnabled: true,
      origin: 'Application',
    })),
    tags: ['WindowsAzureActiveDirectoryIntegratedApp'],
    appOwnerOrganizationId: dir.tenantId,
    servicePrincipalNames: [app.clientId, api.identifierUri],
    alternativeNames: [],
    appDisplayName: 'Warden',
    signInAudience: 'AzureADMyOrg',
    replyUrls: [...api.redirectUris, ...api.publicClientRedirectUris],
    oauth2PermissionScopes: api.scopes.map((value) => ({
      id: rng.guid(),
      value,
      type: 'User',
      isEnabled: true,
      adminConsentDisplayName: 'Access Warden',
      adminConsentDescription: 'Allows the app to call Warden as the signed-in user.',
      userConsentDisplayName: 'Access Warden',
      userConsentDescription: 'Allows the app to call Warden on your behalf.',
    })),
    createdDateTime: CREATED,
    deletedDateTime: null,
  };
  dir.servicePrincipals.set(sp);
  api.servicePrincipalId = sp.id;

  // The group first (the first cloud security group with enabled member users), then the direct
  // holders from the users outside it, so each demo user's roles stay distinct.
  let group: { g: Entity; members: Entity[] } | undefined;
  for (const g of dir.groups.list()) {
    if (g['securityEnabled'] !== true || g['onPremisesSyncEnabled'] === true) continue;
    const members = dir.groupMembers
      .get(g.id)
      .map((id) => dir.users.get(id))
      .filter((u): u is Entity => !!u && usable(u));
    if (members.length) {
      group = { g, members };
      break;
    }
  }
  const inGroup = new Set(group?.members.map((u) => u.id) ?? []);
  const users = dir.users
    .list()
    .filter((u) => usable(u) && !inGroup.has(u.id))
    .slice(0, 4);
  const plan: [number, string][] = [
    [0, 'Warden.SuperAdmin'],
    [1, 'Warden.ConnectorAdmin'],
    [2, 'Warden.ConnectorAdmin'],
    [3, 'Warden.Viewer'],
  ];
  api.roleHolders = {};
  for (const r of api.appRoles) api.roleHolders[r.value] = [];
  for (const [i, role] of plan) {
    const u = users[i];
    if (!u) continue;
    assign(dir, rng, sp, u, 'User', roleId(role));
    api.roleHolders[role]?.push(String(u['userPrincipalName']));
  }
  api.viaGroup = [];
  if (group) {
    assign(dir, rng, sp, group.g, 'Group', roleId('Warden.Viewer'));
    api.viaGroup.push({
      groupId: group.g.id,
      displayName: String(group.g['displayName']),
      role: 'Warden.Viewer',
      memberUpns: group.members.slice(0, 5).map((u) => String(u['userPrincipalName'])),
    });
  }
  assign(dir, rng, sp, sp, 'ServicePrincipal', roleId('Warden.SuperAdmin'));
}

/**
 * The app role values a principal holds on an API app: assigned directly or, for users, through a
 * group they are a direct member of (Entra does not follow nested groups for app role assignment).
 */
export function appRolesOf(dir: Directory, app: EmulatorApp, principalId: string): string[] {
  const api = app.api;
  if (!api) return [];
  const spId = api.servicePrincipalId;
  const byId = new Map(api.appRoles.map((r) => [r.id, r.value]));
  const out = new Set<string>();
  for (const aid of dir.assignmentsByResource.get(spId)) {
    const a = dir.appRoleAssignments.get(aid);
    if (!a) continue;
    const value = byId.get(String(a['appRoleId']));
    if (!value) continue;
    const pid = String(a['principalId']);
    if (pid === principalId || (a['principalType'] === 'Group' && dir.groupMembers.has(pid, principalId))) out.add(value);
  }
  return api.appRoles.map((r) => r.value).filter((v) => out.has(v));
}
