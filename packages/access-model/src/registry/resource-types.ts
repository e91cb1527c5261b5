import type { EntitlementMetadata, PrincipalKind, ResourceType } from '@warden/database';
import { keyPattern } from './keys';

/**
 * The resource-type registry: what the product knows about each Entra object type, as data and pure
 * rules (no Graph calls; Graph reads live in the sync worker's syncers, Graph writes in the provision
 * worker's operations). The sync worker derives its stage permissions, sweeps and stats from it, the
 * provision worker and the gateway their permission and grantability checks.
 */

/** Graph application permissions any one of which allows a read (Graph's least-to-most privileged list). */
export interface ReadPermissions {
  /** What is read, for "skipped …" messages. */
  reads: string;
  anyOf: readonly string[];
}

/** Writing directory roles (active and PIM, and membership of role-assignable groups) needs this on top of the provisioning set. */
export const DIRECTORY_ROLE_WRITE_PERMISSION = 'RoleManagement.ReadWrite.Directory';

const DIRECTORY_READ = ['Directory.Read.All', 'Directory.ReadWrite.All'];
const SERVICE_PRINCIPAL_READ: ReadPermissions = {
  reads: 'enterprise applications and managed identities',
  anyOf: ['Application.Read.All', 'Application.ReadWrite.All', ...DIRECTORY_READ],
};

const SERVICE_PRINCIPALS: readonly ResourceType[] = ['MANAGED_IDENTITY', 'ENTERPRISE_APPLICATION'];

/** What the grantability rule knows about the entitlement beyond its kind. */
export interface EntitlementShape {
  resourceType: ResourceType;
  slug: string;
  /** For groups: groupTypes includes 'Unified' (Microsoft 365 groups take only users as members). */
  unifiedGroup?: boolean;
  /** For app roles: the role's allowedMemberTypes ('User' covers users and groups, 'Application' service principals). */
  allowedMemberTypes?: string[];
  /** For scoped directory roles: false when Graph does not allow the role at that scope (entitlement metadata `scopeAllowed`). */
  scopeAllowed?: boolean;
}

export interface EntitlementKindDescription {
  resourceType: ResourceType;
  /**
   * The entitlement slug; '*' = every slug of the type no other kind claims (app roles); `prefix*`
   * = every slug starting with prefix (scoped role assignments, `assigned@*`).
   */
  slug: string;
  /** Permissions to read this kind's grants beyond the type's own read, when it has its own (assignments, PIM). */
  read?: ReadPermissions;
  /** Application permissions that allow the Graph write, least privileged first (named in 403 messages). */
  write: readonly string[];
  /** When the write additionally needs DIRECTORY_ROLE_WRITE_PERMISSION. */
  roleWrite: 'always' | 'roleAssignableGroup' | 'never';
  /** Null when the principal may hold it, else why not (the grantability rule). */
  refusal(principalType: ResourceType, e: EntitlementShape): string | null;
}

const isSp = (t: ResourceType) => SERVICE_PRINCIPALS.includes(t);
const allow = (principalType: ResourceType, ok: boolean, what: string) =>
  ok ? null : `${what}; ${principalType} principals cannot hold it`;

/**
 * Every entitlement kind, what grants it and who may hold it. Keyed by kind, so `EntitlementKind` is
 * these keys and `Record<EntitlementKind, …>` tables elsewhere (the provision worker's OPERATIONS)
 * fail to compile until they handle a new one.
 */
export const ENTITLEMENT_KINDS = {
  GROUP_MEMBER: {
    resourceType: 'GROUP',
    slug: 'member',
    write: ['GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'],
    roleWrite: 'roleAssignableGroup',
    refusal: (p, e) =>
      e.unifiedGroup
        ? allow(p, p === 'USER', 'Microsoft 365 groups take only users as members')
        : allow(p, p === 'USER' || p === 'GROUP' || isSp(p), 'group membership is for users, groups and service principals'),
  },
  GROUP_OWNER: {
    resourceType: 'GROUP',
    slug: 'owner',
    write: ['Group.ReadWrite.All', 'Directory.ReadWrite.All'],
    roleWrite: 'never',
    refusal: (p) => allow(p, p === 'USER' || isSp(p), 'group owners must be users or service principals'),
  },
  APP_OWNER: {
    resourceType: 'ENTERPRISE_APPLICATION',
    slug: 'owner',
    write: ['Application.ReadWrite.All', 'Directory.ReadWrite.All'],
    roleWrite: 'never',
    refusal: (p) => allow(p, p === 'USER' || isSp(p), 'application owners must be users or service principals'),
  },
  // The default-access 'assigned' entitlement and every app role.
  APP_ASSIGNMENT: {
    resourceType: 'ENTERPRISE_APPLICATION',
    slug: '*',
    read: {
      reads: 'app role assignments',
      anyOf: ['Application.Read.All', 'Application.ReadWrite.All', 'AppRoleAssignment.ReadWrite.All', ...DIRECTORY_READ],
    },
    write: ['AppRoleAssignment.ReadWrite.All'],
    roleWrite: 'never',
    refusal: (p, e) => {
      const types = e.allowedMemberTypes ?? ['User'];
      if ((p === 'USER' || p === 'GROUP') && types.includes('User')) return null;
      if (isSp(p) && types.includes('Application')) return null;
      return `app role '${e.slug}' allows ${types.join(', ') || 'no'} member types; ${p} principals cannot hold it`;
    },
  },
  ROLE_ASSIGNED: {
    resourceType: 'DIRECTORY_ROLE',
    slug: 'assigned',
    write: [DIRECTORY_ROLE_WRITE_PERMISSION],
    roleWrite: 'always',
    refusal: (p) =>
      allow(p, p === 'USER' || p === 'GROUP' || isSp(p), 'directory roles are for users, role-assignable groups and service principals'),
  },
  // Active assignments over an administrative unit or an application: slug `assigned@<directoryScopeId>`.
  ROLE_ASSIGNED_SCOPED: {
    resourceType: 'DIRECTORY_ROLE',
    slug: 'assigned@*',
    write: [DIRECTORY_ROLE_WRITE_PERMISSION],
    roleWrite: 'always',
    refusal: (p, e) =>
      e.scopeAllowed === false
        ? `Graph does not allow this role at the scope '${e.slug.slice('assigned@'.length)}' (only the roles listed as administrative-unit or application scopable)`
        : allow(
            p,
            p === 'USER' || p === 'GROUP' || isSp(p),
            'directory roles are for users, role-assignable groups and service principals',
          ),
  },
  ROLE_ELIGIBLE: {
    resourceType: 'DIRECTORY_ROLE',
    slug: 'eligible',
    read: {
      reads: 'PIM eligibility schedules',
      anyOf: [
        'RoleEligibilitySchedule.Read.Directory',
        'RoleEligibilitySchedule.ReadWrite.Directory',
        'RoleManagement.Read.Directory',
        'RoleManagement.Read.All',
        'RoleManagement.ReadWrite.Directory',
      ],
    },
    write: [DIRECTORY_ROLE_WRITE_PERMISSION, 'RoleEligibilitySchedule.ReadWrite.Directory'],
    roleWrite: 'always',
    refusal: (p) => allow(p, p === 'USER' || p === 'GROUP', 'PIM eligibility is for users and role-assignable groups'),
  },
} as const satisfies Record<string, EntitlementKindDescription>;

export type EntitlementKind = keyof typeof ENTITLEMENT_KINDS;
export const ENTITLEMENT_KIND_NAMES = Object.keys(ENTITLEMENT_KINDS) as EntitlementKind[];

/** The sync worker's stages that list resources (appAccess lists grants of ENTERPRISE_APPLICATION only). */
export type ResourceStage = 'users' | 'groups' | 'servicePrincipals' | 'directoryRoles';

/** Which rows a finished pass over a type removes when the run did not see them (runs/finalize.ts). */
export interface SweepRule {
  /** Sweep only after a complete (full) listing; directory roles are always listed completely. */
  fullPassOnly: boolean;
  resources: boolean;
  entitlements: boolean;
  /**
   * Direct grants: 'pattern' sweeps every key matching `keyPattern(type)` (one range scan; types with
   * many grants), 'slugs' the grants of the type's entitlements found through the entitlements table
   * (index probes; a few entitlements), 'none' leaves them to the stage's own pending deletions.
   */
  grants: 'pattern' | 'slugs' | 'none';
}

export interface ResourceTypeDescription {
  type: ResourceType;
  /** How the type appears as a grant's principal; null: never a principal. */
  principalKind: PrincipalKind | null;
  /** The sync stage that lists it. */
  stage: ResourceStage;
  read: ReadPermissions;
  /** Its key in a sync run's stats. */
  statsKey: 'users' | 'managedIdentities' | 'groups' | 'enterpriseApplications' | 'directoryRoles';
  sweep: SweepRule;
}

/** One entry per ResourceType, in sync order (the compiler refuses a missing one). */
export const RESOURCE_TYPES_REGISTRY: Readonly<Record<ResourceType, ResourceTypeDescription>> = {
  USER: {
    type: 'USER',
    principalKind: 'USER',
    stage: 'users',
    // User.ReadBasic.All is not enough: it hides accountEnabled, userType, department and the other profile fields the model keeps.
    read: { reads: 'users', anyOf: ['User.Read.All', 'User.ReadWrite.All', ...DIRECTORY_READ] },
    statsKey: 'users',
    sweep: { fullPassOnly: true, resources: true, entitlements: false, grants: 'none' },
  },
  GROUP: {
    type: 'GROUP',
    principalKind: 'GROUP',
    stage: 'groups',
    read: {
      reads: 'groups with members and owners',
      anyOf: ['Group.Read.All', 'Group.ReadWrite.All', 'GroupMember.Read.All', 'GroupMember.ReadWrite.All', ...DIRECTORY_READ],
    },
    statsKey: 'groups',
    sweep: { fullPassOnly: true, resources: true, entitlements: true, grants: 'pattern' },
  },
  MANAGED_IDENTITY: {
    type: 'MANAGED_IDENTITY',
    principalKind: 'SERVICE_PRINCIPAL',
    stage: 'servicePrincipals',
    read: SERVICE_PRINCIPAL_READ,
    statsKey: 'managedIdentities',
    sweep: { fullPassOnly: true, resources: true, entitlements: false, grants: 'none' },
  },
  ENTERPRISE_APPLICATION: {
    type: 'ENTERPRISE_APPLICATION',
    principalKind: 'SERVICE_PRINCIPAL',
    stage: 'servicePrincipals',
    read: SERVICE_PRINCIPAL_READ,
    statsKey: 'enterpriseApplications',
    // Its grants (owners, assignments) are read by the appAccess stage, which records its own deletions.
    sweep: { fullPassOnly: true, resources: true, entitlements: true, grants: 'none' },
  },
  DIRECTORY_ROLE: {
    type: 'DIRECTORY_ROLE',
    principalKind: null,
    stage: 'directoryRoles',
    read: {
      reads: 'directory roles and their assignments',
      anyOf: ['RoleManagement.Read.Directory', 'RoleManagement.Read.All', 'RoleManagement.ReadWrite.Directory', ...DIRECTORY_READ],
    },
    statsKey: 'directoryRoles',
    sweep: { fullPassOnly: false, resources: true, entitlements: true, grants: 'slugs' },
  },
};

export const RESOURCE_TYPE_LIST: readonly ResourceTypeDescription[] = Object.values(RESOURCE_TYPES_REGISTRY);

/** The kinds of a resource type, in registry order. */
export function kindsOf(type: ResourceType): EntitlementKind[] {
  return ENTITLEMENT_KIND_NAMES.filter((k) => ENTITLEMENT_KINDS[k].resourceType === type);
}

/** The entitlement kind of a slug on a resource type, or null when it is not provisionable. */
export function entitlementKind(resourceType: ResourceType, slug: string): EntitlementKind | null {
  let wildcard: EntitlementKind | null = null;
  for (const k of ENTITLEMENT_KIND_NAMES) {
    const d: EntitlementKindDescription = ENTITLEMENT_KINDS[k];
    if (d.resourceType !== resourceType) continue;
    if (d.slug === slug) return k;
    if (d.slug === '*') wildcard = k;
    else if (d.slug.endsWith('*') && slug.startsWith(d.slug.slice(0, -1)) && slug.length >= d.slug.length) return k;
  }
  return wildcard;
}

/** A kind's slug as a LIKE pattern: `prefix*` → `prefix%`; '*' (the wildcard kind) → '%'. */
export function slugLikePattern(slug: string): string {
  return slug.endsWith('*') ? `${slug.slice(0, -1).replace(/[%_\\]/g, '\\$&')}%` : slug.replace(/[%_\\]/g, '\\$&');
}

/**
 * Built-in directory roles Graph lets one assign over an administrative unit (by template id; custom
 * roles may be too). Graph answers 400 for any other built-in role with an administrative-unit scope.
 */
export const ADMINISTRATIVE_UNIT_SCOPABLE_ROLES: readonly string[] = [
  'fe930be7-5e62-47db-91af-98c3a49a38b1', // User Administrator
  'fdd7a751-b60b-444a-984c-02652fe8fa1c', // Groups Administrator
  '729827e3-9c14-49f7-bb1b-9608f156bbb8', // Helpdesk Administrator
  'c4e39bd9-1100-46d3-8c65-fb160da0071b', // Authentication Administrator
  '7be44c8a-adaf-4e2a-84d6-ab2649e08a13', // Privileged Authentication Administrator
  'f28a1f50-f6e7-4571-818b-6a12f2af6b6c', // SharePoint Administrator
  '69091246-20e8-4a56-aa4d-066075b2a7a8', // Teams Administrator
  '4d6ac14f-3453-41d0-bef9-a3e0c569773a', // License Administrator
  '966707d0-3269-4727-9be2-8c3a10f19b9d', // Password Administrator
  '7698a772-787b-4ac8-901f-60d6b08affd2', // Cloud Device Administrator
];

/** Built-in roles Graph lets one assign over a single application (app registration). */
export const APPLICATION_SCOPABLE_ROLES: readonly string[] = [
  '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3', // Application Administrator
  '158c047a-c907-4556-b7ef-446551a6b5f7', // Cloud Application Administrator
];

/** Whether Graph allows a role (built-in by template id, or custom) at a directoryScopeId. */
export function roleAllowedAtScope(role: { templateId: string | null; isBuiltIn: boolean | null }, directoryScopeId: string): boolean {
  if (directoryScopeId === '/') return true;
  if (role.isBuiltIn === false) return true;
  const list = directoryScopeId.startsWith('/administrativeUnits/') ? ADMINISTRATIVE_UNIT_SCOPABLE_ROLES : APPLICATION_SCOPABLE_ROLES;
  return role.templateId !== null && list.includes(role.templateId.toLowerCase());
}

/** LIKE pattern of the direct grants a type's sweep covers. */
export function sweepGrantPattern(type: ResourceType): string {
  return keyPattern(type);
}

/** The stages that list resources, in registry order. */
export const RESOURCE_STAGES: readonly ResourceStage[] = [...new Set(RESOURCE_TYPE_LIST.map((t) => t.stage))];

/** What a stage's pass marks as seen and its finished pass sweeps (runs/finalize.ts), and what a restarted pass unmarks. */
export interface StageSweep {
  /** Sweep only after a complete (full) listing. */
  fullPassOnly: boolean;
  resourceTypes: ResourceType[];
  entitlementTypes: ResourceType[];
  /** LIKE patterns of direct grants swept by key range ('pattern' rule). */
  grantPatterns: string[];
  /** Types whose direct grants are swept through their entitlements ('slugs' rule). */
  grantSlugTypes: ResourceType[];
}

export function sweepOfStage(stage: ResourceStage): StageSweep {
  const types = RESOURCE_TYPE_LIST.filter((t) => t.stage === stage);
  return {
    fullPassOnly: types.some((t) => t.sweep.fullPassOnly),
    resourceTypes: types.filter((t) => t.sweep.resources).map((t) => t.type),
    entitlementTypes: types.filter((t) => t.sweep.entitlements).map((t) => t.type),
    grantPatterns: types.filter((t) => t.sweep.grants === 'pattern').map((t) => sweepGrantPattern(t.type)),
    grantSlugTypes: types.filter((t) => t.sweep.grants === 'slugs').map((t) => t.type),
  };
}

/**
 * The principal kind a resource of this type is as a grant's principal. Types that are never
 * principals (directory roles) fall back to SERVICE_PRINCIPAL, as provisioning always did; the
 * grantability rule refuses them before this is asked.
 */
export function principalKindOfResource(type: ResourceType): PrincipalKind {
  return RESOURCE_TYPES_REGISTRY[type].principalKind ?? 'SERVICE_PRINCIPAL';
}

/**
 * Permissions a write of this kind needs on top of the provisioning set: the directory-role write
 * permission for role kinds and for membership of role-assignable groups. The gateway (before
 * queuing) and the provision worker (before calling Graph) both ask this.
 */
export function additionalWritePermissions(
  kind: EntitlementKind,
  metadata: Pick<EntitlementMetadata, 'roleAssignable'> | null | undefined,
): string[] {
  const rule = ENTITLEMENT_KINDS[kind].roleWrite;
  const needs = rule === 'always' || (rule === 'roleAssignableGroup' && metadata?.roleAssignable === true);
  return needs ? [DIRECTORY_ROLE_WRITE_PERMISSION] : [];
}

/** additionalWritePermissions that `granted` lacks. */
export function missingAdditionalWritePermissions(
  kind: EntitlementKind,
  metadata: Pick<EntitlementMetadata, 'roleAssignable'> | null | undefined,
  granted: readonly string[],
): string[] {
  return additionalWritePermissions(kind, metadata).filter((p) => !granted.includes(p));
}
