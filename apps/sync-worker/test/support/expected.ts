import type { TenantExport } from '@warden/graph-emulator';

/**
 * The database a correct sync must produce, derived from the emulator's export with its own code
 * (not the worker's mappers), so a mapping bug shows up as a difference.
 */
type Obj = Record<string, unknown>;
const DEFAULT_ACCESS = '00000000-0000-0000-0000-000000000000';
/** Built-in roles Graph allows over an administrative unit, by name (custom roles are allowed too). */
const AU_ROLES = new Set([
  'User Administrator',
  'Groups Administrator',
  'Helpdesk Administrator',
  'Authentication Administrator',
  'Privileged Authentication Administrator',
  'SharePoint Administrator',
  'Teams Administrator',
  'License Administrator',
  'Password Administrator',
  'Cloud Device Administrator',
]);
const APP_ROLES = new Set(['Application Administrator', 'Cloud Application Administrator']);

export interface ExpectedResource {
  type: string;
  displayName: string;
  profile: Obj;
  searchText: string;
}
export interface ExpectedEntitlement {
  resourceExternalId: string;
  resourceType: string;
  slug: string;
  displayName: string;
  grantable: boolean;
  appRoleId: string | null;
  metadata: Obj;
}
export interface ExpectedGrant {
  kind: string;
  via: string[];
  expiresAt: string | null;
  graphAssignmentId: string | null;
}

export interface ExpectedModel {
  resources: Map<string, ExpectedResource>;
  entitlements: Map<string, ExpectedEntitlement>;
  /** `${key}\n${principal}\n${direct}` */
  grants: Map<string, ExpectedGrant>;
}

const s = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const b = (v: unknown): boolean | null => (typeof v === 'boolean' ? v : null);
const lower = (...parts: unknown[]) =>
  parts
    .filter((p): p is string => typeof p === 'string' && p !== '')
    .join(' ')
    .toLowerCase();

function signIns(a: unknown): Obj {
  const o = (a ?? {}) as Obj;
  return {
    lastSignInDateTime: s(o['lastSignInDateTime']),
    lastNonInteractiveSignInDateTime: s(o['lastNonInteractiveSignInDateTime']),
    lastSuccessfulSignInDateTime: s(o['lastSuccessfulSignInDateTime']),
  };
}

export function expectedModel(t: TenantExport, opts: { skipAdGroups?: boolean } = {}): ExpectedModel {
  const resources = new Map<string, ExpectedResource>();
  const entitlements = new Map<string, ExpectedEntitlement>();
  const grants = new Map<string, ExpectedGrant>();
  const kind = new Map<string, string>();

  for (const u of t.users as Obj[]) {
    const id = String(u['id']);
    kind.set(id, 'USER');
    resources.set(id, {
      type: 'USER',
      displayName: s(u['displayName']) ?? '',
      profile: {
        userPrincipalName: s(u['userPrincipalName']),
        mail: s(u['mail']),
        accountEnabled: b(u['accountEnabled']),
        userType: s(u['userType']),
        department: s(u['department']),
        jobTitle: s(u['jobTitle']),
        employeeId: s(u['employeeId']),
        managerId: s(u['managerId']),
        createdDateTime: s(u['createdDateTime']),
        // Not in users delta: read by the sign-in stage (full runs, then on its own schedule).
        ...signIns(u['signInActivity']),
      },
      searchText: lower(u['displayName'], u['userPrincipalName'], u['mail']),
    });
  }
  const skipped = new Set<string>();
  for (const g of t.groups) {
    if (opts.skipAdGroups && g['onPremisesSyncEnabled'] === true) {
      skipped.add(g.id);
      continue;
    }
    kind.set(g.id, 'GROUP');
    const types = (g['groupTypes'] as string[]) ?? [];
    const unified = types.includes('Unified');
    const dynamic = types.includes('DynamicMembership');
    const groupType = dynamic
      ? 'dynamic'
      : unified
        ? 'microsoft365'
        : g['mailEnabled'] === true
          ? g['securityEnabled'] === true
            ? 'mailEnabledSecurity'
            : 'distribution'
          : 'security';
    const name = s(g['displayName']) ?? '';
    resources.set(g.id, {
      type: 'GROUP',
      displayName: name,
      profile: {
        groupType,
        groupTypes: types,
        securityEnabled: b(g['securityEnabled']),
        mailEnabled: b(g['mailEnabled']),
        onPremisesSyncEnabled: b(g['onPremisesSyncEnabled']),
        isAssignableToRole: b(g['isAssignableToRole']),
        mail: s(g['mail']),
        description: s(g['description']),
        createdDateTime: s(g['createdDateTime']),
      },
      searchText: lower(name, g['mail']),
    });
    const synced = g['onPremisesSyncEnabled'] === true;
    const mailOnly = g['mailEnabled'] === true && !unified;
    const metadata = { unifiedGroup: unified, roleAssignable: g['isAssignableToRole'] === true };
    entitlements.set(`GROUP:${g.id}:member`, {
      resourceExternalId: g.id,
      resourceType: 'GROUP',
      slug: 'member',
      displayName: `Member of ${name}`,
      grantable: !(synced || mailOnly || dynamic),
      appRoleId: null,
      metadata,
    });
    entitlements.set(`GROUP:${g.id}:owner`, {
      resourceExternalId: g.id,
      resourceType: 'GROUP',
      slug: 'owner',
      displayName: `Owner of ${name}`,
      grantable: !(synced || mailOnly),
      appRoleId: null,
      metadata,
    });
  }
  const appRoleSlug = new Map<string, string>();
  const apps = new Set<string>();
  for (const sp of t.servicePrincipals as Obj[]) {
    const id = String(sp['id']);
    kind.set(id, 'SERVICE_PRINCIPAL');
    const type =
      sp['servicePrincipalType'] === 'ManagedIdentity'
        ? 'MANAGED_IDENTITY'
        : sp['servicePrincipalType'] === 'Application'
          ? 'ENTERPRISE_APPLICATION'
          : null;
    if (!type) continue;
    const name = s(sp['displayName']) ?? '';
    resources.set(id, {
      type,
      displayName: name,
      profile: {
        appId: s(sp['appId']),
        servicePrincipalType: s(sp['servicePrincipalType']),
        accountEnabled: b(sp['accountEnabled']),
        appRoles: sp['appRoles'] ?? [],
      },
      searchText: lower(name, sp['appId']),
    });
    if (type !== 'ENTERPRISE_APPLICATION') continue;
    apps.add(id);
    entitlements.set(`ENTERPRISE_APPLICATION:${id}:owner`, {
      resourceExternalId: id,
      resourceType: 'ENTERPRISE_APPLICATION',
      slug: 'owner',
      displayName: `Owner of ${name}`,
      grantable: true,
      appRoleId: null,
      metadata: {},
    });
    entitlements.set(`ENTERPRISE_APPLICATION:${id}:assigned`, {
      resourceExternalId: id,
      resourceType: 'ENTERPRISE_APPLICATION',
      slug: 'assigned',
      displayName: `Assigned to ${name}`,
      grantable: true,
      appRoleId: DEFAULT_ACCESS,
      metadata: { allowedMemberTypes: ['User'] },
    });
    appRoleSlug.set(`${id}|${DEFAULT_ACCESS}`, 'assigned');
    for (const role of (sp['appRoles'] as Obj[]) ?? []) {
      const value = String(role['value']);
      const slug = value === 'owner' || value === 'assigned' ? `approle-${value}` : value;
      appRoleSlug.set(`${id}|${String(role['id'])}`, slug);
      entitlements.set(`ENTERPRISE_APPLICATION:${id}:${slug}`, {
        resourceExternalId: id,
        resourceType: 'ENTERPRISE_APPLICATION',
        slug,
        displayName: `${String(role['displayName'])} of ${name}`,
        grantable: true,
        appRoleId: String(role['id']),
        metadata: { allowedMemberTypes: role['allowedMemberTypes'] },
      });
    }
  }
  for (const r of t.roleDefinitions as Obj[]) {
    const id = String(r['id']);
    const name = s(r['displayName']) ?? '';
    resources.set(id, {
      type: 'DIRECTORY_ROLE',
      displayName: name,
      profile: { templateId: s(r['templateId']), isBuiltIn: b(r['isBuiltIn']), description: s(r['description']) },
      searchText: lower(name),
    });
    entitlements.set(`DIRECTORY_ROLE:${id}:assigned`, {
      resourceExternalId: id,
      resourceType: 'DIRECTORY_ROLE',
      slug: 'assigned',
      displayName: `${name} (active)`,
      grantable: true,
      appRoleId: null,
      metadata: {},
    });
    entitlements.set(`DIRECTORY_ROLE:${id}:eligible`, {
      resourceExternalId: id,
      resourceType: 'DIRECTORY_ROLE',
      slug: 'eligible',
      displayName: `${name} (eligible)`,
      grantable: true,
      appRoleId: null,
      metadata: {},
    });
  }

  // Scoped active assignments: one entitlement per (role, scope), named after the scope.
  const roleById = new Map((t.roleDefinitions as Obj[]).map((r) => [String(r['id']), r]));
  const unitName = new Map((t.administrativeUnits as Obj[]).map((u) => [String(u['id']), s(u['displayName'])]));
  const appName = new Map(((t.applications ?? []) as Obj[]).map((x) => [String(x['id']), s(x['displayName'])]));
  const scopedKey = (roleId: string, scope: string): string => {
    const key = `DIRECTORY_ROLE:${roleId}:assigned@${scope}`;
    if (entitlements.has(key)) return key;
    const r = roleById.get(roleId) ?? {};
    const au = scope.startsWith('/administrativeUnits/') ? scope.slice('/administrativeUnits/'.length) : null;
    const scopeName = au ? (unitName.get(au) ?? null) : (appName.get(scope.slice(1)) ?? null);
    const builtIn = b(r['isBuiltIn']);
    const name = s(r['displayName']) ?? '';
    entitlements.set(key, {
      resourceExternalId: roleId,
      resourceType: 'DIRECTORY_ROLE',
      slug: `assigned@${scope}`,
      displayName: `${name} (${au ? 'administrative unit' : 'application'}: ${scopeName ?? au ?? scope.slice(1)})`,
      grantable: true,
      appRoleId: null,
      metadata: {
        directoryScopeId: scope,
        scopeType: au ? 'administrativeUnit' : 'application',
        scopeId: au ?? scope.slice(1),
        scopeDisplayName: scopeName,
        scopeAllowed: builtIn === false || (au ? AU_ROLES : APP_ROLES).has(name),
      },
    });
    return key;
  };
  for (const r of t.roleDefinitions as Obj[]) {
    if (b(r['isBuiltIn']) !== false && !AU_ROLES.has(s(r['displayName']) ?? '')) continue;
    for (const u of t.administrativeUnits as Obj[]) scopedKey(String(r['id']), `/administrativeUnits/${String(u['id'])}`);
  }

  const direct = (key: string, principal: string, extra: Partial<ExpectedGrant> = {}) => {
    const k = kind.get(principal);
    if (!k) return; // devices, org contacts, skipped on-premises groups
    grants.set(`${key}\n${principal}\ntrue`, { kind: k, via: [], expiresAt: null, graphAssignmentId: null, ...extra });
  };
  const parents = new Map<string, string[]>();
  for (const g of t.groups) {
    if (skipped.has(g.id)) continue;
    for (const m of g.members) {
      direct(`GROUP:${g.id}:member`, m);
      if (kind.has(m)) parents.set(m, [...(parents.get(m) ?? []), g.id]);
    }
    for (const o of g.owners) direct(`GROUP:${g.id}:owner`, o);
  }
  for (const a of t.appRoleAssignments as Obj[]) {
    const rid = String(a['resourceId']);
    if (!apps.has(rid)) continue;
    const slug = appRoleSlug.get(`${rid}|${String(a['appRoleId'])}`);
    if (slug) direct(`ENTERPRISE_APPLICATION:${rid}:${slug}`, String(a['principalId']), { graphAssignmentId: String(a['id']) });
  }
  for (const o of t.servicePrincipalOwners)
    if (apps.has(o.servicePrincipalId)) direct(`ENTERPRISE_APPLICATION:${o.servicePrincipalId}:owner`, o.ownerId);
  for (const ra of t.roleAssignments as Obj[]) {
    const scope = String(ra['directoryScopeId'] ?? '/');
    const key =
      scope === '/' ? `DIRECTORY_ROLE:${String(ra['roleDefinitionId'])}:assigned` : scopedKey(String(ra['roleDefinitionId']), scope);
    direct(key, String(ra['principalId']), { graphAssignmentId: String(ra['id']) });
  }
  for (const e of t.roleEligibilitySchedules as Obj[]) {
    if (e['directoryScopeId'] !== '/') continue;
    const exp = ((e['scheduleInfo'] as Obj | undefined)?.['expiration'] as Obj | undefined) ?? {};
    const end = exp['type'] === 'afterDateTime' ? s(exp['endDateTime']) : null;
    direct(`DIRECTORY_ROLE:${String(e['roleDefinitionId'])}:eligible`, String(e['principalId']), {
      graphAssignmentId: String(e['id']),
      expiresAt: end,
    });
  }

  // Inherited membership: independent breadth-first closure over the direct member edges.
  for (const l of parents.values()) l.sort();
  for (const [principal, groups] of parents) {
    const best = new Map<string, string[]>();
    let level = groups.filter((g) => g !== principal).map((g) => ({ g, path: [g] }));
    const seen = new Set(level.map((x) => x.g));
    while (level.length) {
      const next: { g: string; path: string[] }[] = [];
      for (const { g, path } of level) {
        for (const up of parents.get(g) ?? []) {
          if (up === principal) continue;
          if (!best.has(up)) best.set(up, path);
          if (!seen.has(up)) {
            seen.add(up);
            next.push({ g: up, path: [...path, up] });
          }
        }
      }
      level = next;
    }
    for (const [g, path] of best) {
      grants.set(`GROUP:${g}:member\n${principal}\nfalse`, {
        kind: kind.get(principal)!,
        via: [...path].reverse().map((x) => `GROUP:${x}:member`),
        expiresAt: null,
        graphAssignmentId: null,
      });
    }
  }
  return { resources, entitlements, grants };
}
