import { ENTITLEMENT_KINDS, RESOURCE_TYPE_LIST, type ReadPermissions, type ResourceStage } from '@warden/access-model';
import type { StageName } from './runs/checkpoint';

/**
 * What each stage reads and the application permissions that allow it (any one suffices; Graph's
 * "least to most privileged" lists), from the resource-type registry: a resource stage reads what its
 * types need, appAccess and eligibility what their entitlement kinds need beyond that.
 */
export const STAGE_PERMISSIONS: Record<StageName | 'eligibility', ReadPermissions> = {
  ...(Object.fromEntries(RESOURCE_TYPE_LIST.map((t) => [t.stage, t.read])) as Record<ResourceStage, ReadPermissions>),
  appAccess: ENTITLEMENT_KINDS.APP_ASSIGNMENT.read,
  eligibility: ENTITLEMENT_KINDS.ROLE_ELIGIBLE.read,
  // Users' signInActivity: Graph needs AuditLog.Read.All on top of a users read permission.
  signIns: { reads: 'sign-in activity', anyOf: ['AuditLog.Read.All'] },
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
  for (const stage of new Set<StageName>(RESOURCE_TYPE_LIST.map((t) => t.stage))) {
    if (allowed(g, stage)) run.add(stage);
    else skipped.set(stage, reason(stage));
  }
  const appAssignments = allowed(g, 'appAccess');
  // Owners come from /servicePrincipals/{id}/owners, which needs the service principal read permission.
  const appOwners = allowed(g, 'servicePrincipals');
  if (run.has('servicePrincipals') && (appAssignments || appOwners)) run.add('appAccess');
  else
    skipped.set(
      'appAccess',
      run.has('servicePrincipals')
        ? reason('appAccess')
        : 'skipped app role assignments and app owners: enterprise applications cannot be read',
    );
  if (run.has('users') && allowed(g, 'signIns')) run.add('signIns');
  else skipped.set('signIns', run.has('users') ? reason('signIns') : 'skipped sign-in activity: users cannot be read');
  return { run, skipped, eligibility: run.has('directoryRoles') && allowed(g, 'eligibility'), appAssignments, appOwners };
}
