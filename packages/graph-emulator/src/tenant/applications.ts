import type { Directory, Entity } from './directory';
import { Rng, deriveSeed } from './rng';

/**
 * App registrations (`/applications`) and the roles Graph allows over one of them. Only applications
 * registered in this tenant have an application object here (a multi-tenant app from another
 * publisher has a service principal but no registration). Generated from their own seed stream, so
 * adding them left every other generated object (and its id) unchanged.
 */

/** Built-in roles Graph lets one assign over a single application (template ids); custom roles may be too. */
export const APP_SCOPABLE_ROLES: ReadonlySet<string> = new Set([
  '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3', // Application Administrator
  '158c047a-c907-4556-b7ef-446551a6b5f7', // Cloud Application Administrator
]);
export const APPLICATION_ADMINISTRATOR = '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3';

/** Whether Graph accepts this role definition over one application. */
export function roleAllowedOverApplication(def: Entity): boolean {
  return def['isBuiltIn'] !== true || APP_SCOPABLE_ROLES.has(String(def['templateId']).toLowerCase());
}

/** One application object per enterprise application registered in this tenant. */
export function generateApplications(dir: Directory, seed: number): Entity[] {
  const rng = new Rng(deriveSeed(seed, 0xa991));
  const out: Entity[] = [];
  for (const sp of dir.servicePrincipals.list()) {
    if (sp['servicePrincipalType'] !== 'Application' || sp['appOwnerOrganizationId'] !== dir.tenantId) continue;
    const app: Entity = {
      id: rng.guid(),
      appId: sp['appId'] ?? null,
      displayName: sp['displayName'] ?? null,
      signInAudience: 'AzureADMyOrg',
      createdDateTime: '2023-01-01T00:00:00Z',
      deletedDateTime: null,
    };
    dir.applications.set(app);
    out.push(app);
  }
  return out;
}

/**
 * A few role assignments over one application (about one per 40 role assignments, at least one when
 * there is an application): Application or Cloud Application Administrator for a user.
 */
export function generateAppScopedAssignments(
  seed: number,
  roleAssignments: number,
  apps: readonly Entity[],
  users: readonly string[],
  add: (roleTemplateId: string, principalId: string, scope: string) => void,
): void {
  if (!apps.length || !users.length) return;
  const rng = new Rng(deriveSeed(seed, 0xa992));
  const roles = [...APP_SCOPABLE_ROLES];
  const n = Math.max(1, Math.round(roleAssignments / 40));
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const role = rng.pick(roles);
    const principal = rng.pick(users);
    const scope = `/${rng.pick(apps).id}`;
    const key = `${role}|${principal}|${scope}`;
    if (seen.has(key)) continue;
    seen.add(key);
    add(role, principal, scope);
  }
}

/** The object id a directoryScopeId names ('/': none). */
export function scopeObjectId(scope: string): string | undefined {
  if (scope === '/') return undefined;
  return scope.replace(/^\/(administrativeUnits\/)?/, '').toLowerCase();
}
