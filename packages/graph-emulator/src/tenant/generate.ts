import { createHash } from 'node:crypto';
import type { EmulatorApp, JsonObject, TenantCounts } from '../types';
import { allGraphPermissions } from '../identity/permissions';
import { seedWardenApp } from '../identity/warden';
import { Directory, type Entity } from './directory';
import { appRoleAssignmentId, roleAssignmentId } from './ids';
import {
  APP_ROLE_VALUES,
  APP_WORDS,
  BUILTIN_ROLES,
  DEPARTMENTS,
  EXTERNAL_DOMAINS,
  FIRST_NAMES,
  GLOBAL_ADMIN_TEMPLATE,
  GROUP_WORDS,
  JOB_TITLES,
  LAST_NAMES,
  OFFICES,
} from './names';
import { generatePeople } from './people';
import { Rng, deriveSeed } from './rng';
import { USER_ADMINISTRATOR, generateAdministrativeUnits, roleAllowedOverAdministrativeUnit, unitOf } from './admin-units';
import { generateAppScopedAssignments, generateApplications, scopeObjectId } from './applications';

const BASE_TIME = Date.UTC(2021, 0, 1);
const SCHEDULES_END_AFTER = Date.UTC(2030, 0, 1);
const DAY = 86_400_000;
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
const MICROSOFT_TENANT = 'f8cdef31-a31e-4b4a-93e4-5f571e91255a';
export const DEFAULT_ACCESS_ROLE = '00000000-0000-0000-0000-000000000000';

/** Stable GUID from a name (for things with fixed identity such as Graph's permission app roles). */
export function nameGuid(name: string): string {
  const h = createHash('sha1').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const isoCache = new Map<number, string>();
function isoAt(ms: number): string {
  let s = isoCache.get(ms);
  if (s === undefined) {
    s = new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    if (isoCache.size < 10_000) isoCache.set(ms, s);
  }
  return s;
}

export function tenantIdentity(seed: number): { tenantId: string; domain: string } {
  const rng = new Rng(deriveSeed(seed, 0x7e4a));
  return { tenantId: rng.guid(), domain: `emulated${seed >>> 0}.onmicrosoft.com` };
}

/** Shared by the generator and mutate(): a plausible user object in Graph's shape. */
export function makeUser(rng: Rng, dir: Directory, index: number, opts: { guest: boolean; disabled: boolean; createdMs: number }): Entity {
  const given = rng.pick(FIRST_NAMES);
  const sur = rng.pick(LAST_NAMES);
  const nick = `${given}.${sur}${index}`.toLowerCase();
  const id = rng.guid();
  const dept = rng.pick(DEPARTMENTS);
  if (opts.guest) {
    const ext = rng.pick(EXTERNAL_DOMAINS);
    const mail = `${nick}@${ext}`;
    return {
      id,
      displayName: `${given} ${sur} (${ext})`,
      givenName: given,
      surname: sur,
      userPrincipalName: `${nick}_${ext}#EXT#@${dir.domain}`,
      mail,
      mailNickname: `${nick}_${ext}#EXT#`,
      jobTitle: null,
      department: null,
      officeLocation: null,
      mobilePhone: null,
      businessPhones: [],
      preferredLanguage: null,
      accountEnabled: !opts.disabled,
      userType: 'Guest',
      employeeId: null,
      companyName: null,
      usageLocation: null,
      createdDateTime: isoAt(opts.createdMs),
      onPremisesSyncEnabled: null,
      externalUserState: 'Accepted',
      creationType: 'Invitation',
      deletedDateTime: null,
    };
  }
  const synced = rng.chance(0.3);
  return {
    id,
    displayName: `${given} ${sur}`,
    givenName: given,
    surname: sur,
    userPrincipalName: `${nick}@${dir.domain}`,
    mail: `${nick}@${dir.domain}`,
    mailNickname: nick,
    jobTitle: rng.pick(JOB_TITLES),
    department: dept,
    officeLocation: rng.pick(OFFICES),
    mobilePhone: rng.chance(0.4) ? `+1 555 ${String(rng.int(10_000_000)).padStart(7, '0')}` : null,
    businessPhones: rng.chance(0.6) ? [`+1 425 ${String(rng.int(10_000_000)).padStart(7, '0')}`] : [],
    preferredLanguage: 'en-US',
    accountEnabled: !opts.disabled,
    userType: 'Member',
    employeeId: String(100_000 + index),
    companyName: 'Contoso',
    usageLocation: 'US',
    createdDateTime: isoAt(opts.createdMs),
    onPremisesSyncEnabled: synced ? true : null,
    externalUserState: null,
    creationType: null,
    deletedDateTime: null,
  };
}

export function makeGroup(rng: Rng, index: number, opts: { synced: boolean; createdMs: number; roleAssignable?: boolean }): Entity {
  const kind = rng.next();
  const unified = !opts.synced && kind < 0.35;
  const name = `${rng.pick(GROUP_WORDS)} ${rng.pick(DEPARTMENTS)} ${index}`;
  const nick = name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const mailEnabled = unified || (opts.synced && kind < 0.2);
  return {
    id: rng.guid(),
    displayName: name,
    description: `Generated group ${index}`,
    mailNickname: nick,
    mail: mailEnabled ? `${nick}@contoso.example` : null,
    mailEnabled,
    securityEnabled: !unified || kind < 0.1,
    groupTypes: unified ? ['Unified'] : [],
    visibility: unified ? 'Private' : null,
    isAssignableToRole: opts.roleAssignable ? true : null,
    membershipRule: null,
    membershipRuleProcessingState: null,
    onPremisesSyncEnabled: opts.synced ? true : null,
    onPremisesSamAccountName: opts.synced ? nick.slice(0, 20) : null,
    createdDateTime: isoAt(opts.createdMs),
    renewedDateTime: isoAt(opts.createdMs),
    classification: null,
    securityIdentifier: `S-1-12-1-${rng.nextU32()}-${rng.nextU32()}-${rng.nextU32()}-${rng.nextU32()}`,
    proxyAddresses: [],
    deletedDateTime: null,
  };
}

function appRole(rng: Rng, value: string, memberTypes: string[]): JsonObject {
  return {
    id: rng.guid(),
    value,
    displayName: value.replace('.', ' '),
    description: `${value} access`,
    allowedMemberTypes: memberTypes,
    isEnabled: true,
    origin: 'Application',
  };
}

function makeServicePrincipal(fields: {
  id: string;
  appId: string;
  displayName: string;
  type: 'Application' | 'ManagedIdentity';
  appRoles: JsonObject[];
  owner: string | null;
  tags: string[];
  names: string[];
  assignmentRequired?: boolean;
  alternativeNames?: string[];
}): Entity {
  return {
    id: fields.id,
    appId: fields.appId,
    displayName: fields.displayName,
    accountEnabled: true,
    servicePrincipalType: fields.type,
    appRoleAssignmentRequired: fields.assignmentRequired ?? false,
    appRoles: fields.appRoles,
    tags: fields.tags,
    appOwnerOrganizationId: fields.owner,
    servicePrincipalNames: fields.names,
    alternativeNames: fields.alternativeNames ?? [],
    appDisplayName: fields.displayName,
    signInAudience: fields.type === 'Application' ? 'AzureADMyOrg' : null,
    description: null,
    homepage: null,
    deletedDateTime: null,
  };
}

/** Members for a group of size k: a stride walk over `pool`, distinct as long as gcd(step, n) = 1. */
function strideSample(rng: Rng, pool: readonly string[], k: number): string[] {
  const n = pool.length;
  if (n === 0 || k <= 0) return [];
  const take = Math.min(k, n);
  let step = 1 + rng.int(Math.max(1, n - 1));
  while (gcd(step, n) !== 1) step++;
  let pos = rng.int(n);
  const out = new Array<string>(take);
  for (let i = 0; i < take; i++) {
    out[i] = pool[pos] as string;
    pos += step;
    if (pos >= n) pos -= n;
    if (pos >= n) pos %= n;
  }
  return out;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

export interface GeneratedTenant {
  dir: Directory;
  graphSpId: string;
}

/** Deterministic tenant: the same counts + seed give identical objects and ids. */
export function generateTenant(counts: TenantCounts, seed: number, apps: readonly EmulatorApp[]): GeneratedTenant {
  const { tenantId, domain } = tenantIdentity(seed);
  const dir = new Directory(tenantId, domain);
  const rng = new Rng(deriveSeed(seed, 1));

  // Users: 5% guests, 3% disabled.
  const userIds: string[] = new Array(counts.users);
  const memberUserIds: string[] = [];
  for (let i = 0; i < counts.users; i++) {
    const u = makeUser(rng, dir, i, { guest: rng.chance(0.05), disabled: rng.chance(0.03), createdMs: BASE_TIME + rng.int(1200) * DAY });
    dir.users.set(u);
    userIds[i] = u.id;
    if (u['userType'] === 'Member') memberUserIds.push(u.id);
  }
  const ownerPool = memberUserIds.length ? memberUserIds : userIds;
  generatePeople(dir, userIds, seed);

  for (let i = 0; i < counts.devices; i++) {
    dir.devices.set({
      id: rng.guid(),
      deviceId: rng.guid(),
      displayName: `DESKTOP-${rng.nextU32().toString(36).toUpperCase()}`,
      operatingSystem: rng.pick(['Windows', 'MacMDM', 'iOS', 'Android']),
      accountEnabled: true,
      deletedDateTime: null,
    });
  }
  for (let i = 0; i < counts.orgContacts; i++) {
    const given = rng.pick(FIRST_NAMES);
    const sur = rng.pick(LAST_NAMES);
    const ext = rng.pick(EXTERNAL_DOMAINS);
    dir.orgContacts.set({
      id: rng.guid(),
      displayName: `${given} ${sur}`,
      givenName: given,
      surname: sur,
      mail: `${given}.${sur}@${ext}`.toLowerCase(),
      companyName: ext,
      deletedDateTime: null,
    });
  }

  // Service principals: Microsoft Graph itself, the emulator's own apps, enterprise apps, managed identities.
  const graphSp = makeServicePrincipal({
    id: rng.guid(),
    appId: GRAPH_APP_ID,
    displayName: 'Microsoft Graph',
    type: 'Application',
    owner: MICROSOFT_TENANT,
    appRoles: allGraphPermissions().map((p) => ({
      id: nameGuid(`graph-permission:${p}`),
      value: p,
      displayName: p,
      description: p,
      allowedMemberTypes: ['Application'],
      isEnabled: true,
      origin: 'Application',
    })),
    tags: [],
    names: [GRAPH_APP_ID, 'https://graph.microsoft.com'],
  });
  dir.servicePrincipals.set(graphSp);
  const spPrincipals: string[] = [];
  for (const app of apps) {
    if (app.api) continue; // API apps (Warden) are added at the end, from their own random stream
    const sp = makeServicePrincipal({
      id: rng.guid(),
      appId: app.clientId,
      displayName: `Warden ${app.name}`,
      type: 'Application',
      owner: tenantId,
      appRoles: [],
      tags: ['WindowsAzureActiveDirectoryIntegratedApp'],
      names: [app.clientId],
    });
    dir.servicePrincipals.set(sp);
    spPrincipals.push(sp.id);
    for (const r of app.roles) {
      makeAssignment(rng, dir, {
        principalId: sp.id,
        principalType: 'ServicePrincipal',
        principalDisplayName: String(sp['displayName']),
        resource: graphSp,
        appRoleId: nameGuid(`graph-permission:${r}`),
        createdMs: BASE_TIME,
      });
    }
  }

  const enterpriseApps: Entity[] = [];
  for (let i = 0; i < counts.enterpriseApps; i++) {
    const roleCount = rng.chance(0.25) ? 0 : rng.range(1, 4);
    const roles: JsonObject[] = [];
    const used = new Set<string>();
    for (let r = 0; r < roleCount; r++) {
      const v = rng.pick(APP_ROLE_VALUES);
      if (used.has(v)) continue;
      used.add(v);
      const mt = rng.next();
      roles.push(appRole(rng, v, mt < 0.6 ? ['User'] : mt < 0.85 ? ['User', 'Application'] : ['Application']));
    }
    const appId = rng.guid();
    const name = `${rng.pick(APP_WORDS)} ${rng.pick(GROUP_WORDS)} ${i}`;
    const sp = makeServicePrincipal({
      id: rng.guid(),
      appId,
      displayName: name,
      type: 'Application',
      owner: rng.chance(0.7) ? tenantId : rng.guid(),
      appRoles: roles,
      assignmentRequired: rng.chance(0.5),
      tags: rng.chance(0.1) ? ['WindowsAzureActiveDirectoryIntegratedApp', 'HideApp'] : ['WindowsAzureActiveDirectoryIntegratedApp'],
      names: [appId, `https://${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.contoso.example`],
    });
    dir.servicePrincipals.set(sp);
    enterpriseApps.push(sp);
    if (rng.chance(0.6)) dir.spOwners.init(sp.id, strideSample(rng, ownerPool, rng.range(1, 2)));
  }
  const managedIds: string[] = [];
  for (let i = 0; i < counts.managedIdentities; i++) {
    const appId = rng.guid();
    const name = `mi-${rng.pick(APP_WORDS).toLowerCase()}-${i}`;
    const sp = makeServicePrincipal({
      id: rng.guid(),
      appId,
      displayName: name,
      type: 'ManagedIdentity',
      owner: null,
      appRoles: [],
      tags: [],
      names: [appId, `https://identity.azure.net/${rng.bytes(12).toString('base64url')}`],
      alternativeNames: [
        'isExplicit=True',
        `/subscriptions/${rng.guid()}/resourcegroups/rg-${i}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`,
      ],
    });
    dir.servicePrincipals.set(sp);
    managedIds.push(sp.id);
    spPrincipals.push(sp.id);
  }

  // Groups: 10% synced from on-premises, a few role-assignable, skewed sizes, a few very large.
  const groupIds: string[] = [];
  for (let i = 0; i < counts.groups; i++) {
    const synced = rng.chance(0.1);
    const g = makeGroup(rng, i, { synced, createdMs: BASE_TIME + rng.int(1200) * DAY, roleAssignable: !synced && rng.chance(0.02) });
    dir.groups.set(g);
    groupIds.push(g.id);
  }
  // Always at least one role-assignable group, so consumers meet the extra permission rule.
  const firstCloud = dir.groups.list().find((g) => g['onPremisesSyncEnabled'] !== true);
  if (firstCloud && !dir.groups.list().some((g) => g['isAssignableToRole'] === true)) {
    dir.groups.set({ ...firstCloud, isAssignableToRole: true });
  }
  const largeCount = counts.users >= 10_000 ? Math.min(counts.largeGroups, groupIds.length) : 0;
  let budget = counts.memberships;
  const sizes = new Array<number>(groupIds.length).fill(0);
  for (let i = 0; i < largeCount; i++) {
    sizes[i] = Math.min(counts.users, 10_001 + rng.int(5_000));
    budget -= sizes[i] as number;
  }
  const rest = groupIds.length - largeCount;
  if (rest > 0 && budget > 0) {
    // Pareto-like weights: most groups small, some big.
    const weights: number[] = [];
    let wsum = 0;
    for (let i = 0; i < rest; i++) {
      const w = 1 / Math.pow(1 - rng.next() * 0.999, 0.9);
      weights.push(w);
      wsum += w;
    }
    for (let i = 0; i < rest; i++) {
      sizes[largeCount + i] = Math.min(Math.max(1, Math.round((budget * (weights[i] as number)) / wsum)), Math.min(counts.users, 9_000));
    }
  }
  const devIds = dir.devices.list().map((d) => d.id);
  const contactIds = dir.orgContacts.list().map((c) => c.id);
  for (let i = 0; i < groupIds.length; i++) {
    const gid = groupIds[i] as string;
    const members = strideSample(rng, userIds, sizes[i] as number);
    if (i >= largeCount && groupIds.length > 3 && rng.chance(0.05)) {
      for (let k = rng.range(1, 3); k > 0; k--) {
        const child = rng.pick(groupIds);
        if (child !== gid && !members.includes(child)) members.push(child);
      }
    }
    if (devIds.length && rng.chance(0.03)) members.push(rng.pick(devIds));
    if (contactIds.length && rng.chance(0.03)) members.push(rng.pick(contactIds));
    if (managedIds.length && rng.chance(0.03)) members.push(rng.pick(managedIds));
    dir.groupMembers.init(gid, members);
    if (rng.chance(0.85)) dir.groupOwners.init(gid, strideSample(rng, ownerPool, rng.range(1, 3)));
  }
  // Guarantee consumers see every member type and one nesting cycle (A -> B -> C -> A).
  if (groupIds.length >= 3) {
    const [a, b, c] = [groupIds[groupIds.length - 1], groupIds[groupIds.length - 2], groupIds[groupIds.length - 3]] as string[];
    addInit(dir, a as string, b as string);
    addInit(dir, b as string, c as string);
    addInit(dir, c as string, a as string);
    if (devIds[0]) addInit(dir, a as string, devIds[0]);
    if (contactIds[0]) addInit(dir, b as string, contactIds[0]);
    if (managedIds[0]) addInit(dir, c as string, managedIds[0]);
  }

  // App role assignments: mostly users, some groups, some service principals.
  const assignable = enterpriseApps;
  const bulk = new Map<string, string[]>();
  const seen = new Set<string>();
  let made = 0;
  let guard = counts.appRoleAssignments * 3;
  while (made < counts.appRoleAssignments && assignable.length && guard-- > 0) {
    const idx = Math.floor(Math.pow(rng.next(), 1.6) * assignable.length);
    const sp = assignable[idx] as Entity;
    const roles = sp['appRoles'] as JsonObject[];
    const kind = rng.next();
    let principalId: string;
    let principalType: 'User' | 'Group' | 'ServicePrincipal';
    if (kind < 0.85) {
      principalId = rng.pick(userIds);
      principalType = 'User';
    } else if (kind < 0.96 && groupIds.length) {
      principalId = rng.pick(groupIds);
      principalType = 'Group';
    } else if (spPrincipals.length) {
      principalId = rng.pick(spPrincipals);
      principalType = 'ServicePrincipal';
    } else continue;
    const memberType = principalType === 'ServicePrincipal' ? 'Application' : 'User';
    const eligible = roles.filter((r) => (r['allowedMemberTypes'] as string[]).includes(memberType));
    let appRoleId: string;
    if (roles.length === 0) {
      if (principalType === 'ServicePrincipal') continue;
      appRoleId = DEFAULT_ACCESS_ROLE;
    } else if (eligible.length === 0) continue;
    else appRoleId = String(rng.pick(eligible)['id']);
    const key = `${principalId}|${sp.id}|${appRoleId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const principal = dir.getObject(principalId);
    makeAssignment(
      rng,
      dir,
      {
        principalId,
        principalType,
        principalDisplayName: String(principal?.['displayName'] ?? ''),
        resource: sp,
        appRoleId,
        createdMs: BASE_TIME + rng.int(1200) * DAY,
      },
      bulk,
    );
    made++;
  }
  for (const [key, ids] of bulk) {
    if (key.startsWith('p:')) dir.assignmentsByPrincipal.init(key.slice(2), [...dir.assignmentsByPrincipal.get(key.slice(2)), ...ids]);
    else dir.assignmentsByResource.init(key, [...dir.assignmentsByResource.get(key), ...ids]);
  }

  // Directory roles: built-in and custom definitions, active assignments, PIM eligibility.
  for (const [templateId, name] of BUILTIN_ROLES) {
    dir.roleDefinitions.set(roleDefinition(templateId, name, true, rng));
  }
  for (let i = 0; i < counts.customRoles; i++) {
    const id = rng.guid();
    dir.roleDefinitions.set(roleDefinition(id, `Custom ${rng.pick(APP_WORDS)} Operator ${i}`, false, rng));
  }
  const defs = dir.roleDefinitions.list();
  const roleAssignableGroups = dir.groups
    .list()
    .filter((g) => g['isAssignableToRole'] === true)
    .map((g) => g.id);
  const raSeen = new Set<string>();
  const units = generateAdministrativeUnits(dir, seed, counts.roleAssignments);
  for (let i = 0; i < counts.roleAssignments; i++) {
    let def = i === 0 ? (dir.roleDefinitions.get(GLOBAL_ADMIN_TEMPLATE) as Entity) : pickRole(rng, defs);
    const k = rng.next();
    const principalId =
      k < 0.85 || (!roleAssignableGroups.length && !spPrincipals.length)
        ? rng.pick(ownerPool)
        : k < 0.93 && roleAssignableGroups.length
          ? rng.pick(roleAssignableGroups)
          : rng.pick(spPrincipals.length ? spPrincipals : ownerPool);
    // About one in ten is scoped to an administrative unit (a role Graph allows there: else User Administrator).
    const scope = rng.chance(0.9) ? '/' : `/administrativeUnits/${unitOf(units, rng.guid()).id}`;
    if (scope !== '/' && !roleAllowedOverAdministrativeUnit(def)) def = dir.roleDefinitions.get(USER_ADMINISTRATOR) as Entity;
    const key = `${def.id}|${principalId}|${scope}`;
    if (raSeen.has(key)) continue;
    raSeen.add(key);
    addRoleAssignment(dir, rng, String(def['templateId']), principalId, scope);
  }
  for (let i = 0; i < counts.roleEligibilitySchedules; i++) {
    const def = pickRole(rng, defs);
    const principalId = rng.pick(ownerPool);
    const start = BASE_TIME + rng.int(1000) * DAY;
    const expiring = rng.chance(0.4);
    const id = rng.guid();
    dir.roleEligibilitySchedules.set({
      id,
      principalId,
      roleDefinitionId: String(def['templateId']),
      directoryScopeId: '/',
      appScopeId: null,
      memberType: 'Direct',
      status: 'Provisioned',
      createdUsing: id,
      createdDateTime: isoAt(start),
      modifiedDateTime: null,
      scheduleInfo: {
        startDateTime: isoAt(start),
        recurrence: null,
        // Graph lists only schedules that have not ended: expiring ones end after 2030, so generated
        // tenants stay current for years (a run of the product must not see them expire at once).
        expiration: expiring
          ? { type: 'afterDateTime', endDateTime: isoAt(SCHEDULES_END_AFTER + rng.int(1000) * DAY), duration: null }
          : { type: 'noExpiration', endDateTime: null, duration: null },
      },
    });
  }
  for (const app of apps) if (app.api) seedWardenApp(dir, seed, app);
  // Roles over one app registration, from their own seed streams (every other object is unchanged);
  // after the Warden app, which is registered here too.
  const appRng = new Rng(deriveSeed(seed, 0xa993));
  generateAppScopedAssignments(seed, counts.roleAssignments, generateApplications(dir, seed), ownerPool, (role, principal, scope) =>
    addRoleAssignment(dir, appRng, role, principal, scope),
  );
  return { dir, graphSpId: graphSp.id };
}

function addInit(dir: Directory, group: string, member: string): void {
  const cur = dir.groupMembers.get(group);
  if (!cur.includes(member)) dir.groupMembers.init(group, [...cur, member]);
}

function pickRole(rng: Rng, defs: readonly Entity[]): Entity {
  return defs[Math.floor(Math.pow(rng.next(), 1.3) * defs.length)] as Entity;
}

function roleDefinition(id: string, name: string, builtIn: boolean, rng: Rng): Entity {
  return {
    id,
    displayName: name,
    description: `${name} role`,
    isBuiltIn: builtIn,
    isEnabled: true,
    templateId: id,
    version: builtIn ? '1' : null,
    resourceScopes: ['/'],
    rolePermissions: [
      {
        allowedResourceActions: [`microsoft.directory/${rng.pick(['users', 'groups', 'applications', 'servicePrincipals'])}/standard/read`],
        condition: null,
      },
    ],
  };
}

export function makeAssignment(
  rng: Rng,
  dir: Directory,
  a: {
    principalId: string;
    principalType: 'User' | 'Group' | 'ServicePrincipal';
    principalDisplayName: string;
    resource: Entity;
    appRoleId: string;
    createdMs: number;
  },
  bulk?: Map<string, string[]>,
): Entity {
  const obj: Entity = {
    id: appRoleAssignmentId(a.principalId, rng.bytes(16)),
    deletedDateTime: null,
    appRoleId: a.appRoleId,
    createdDateTime: isoAt(a.createdMs),
    principalDisplayName: a.principalDisplayName,
    principalId: a.principalId,
    principalType: a.principalType,
    resourceDisplayName: String(a.resource['displayName']),
    resourceId: a.resource.id,
  };
  dir.appRoleAssignments.set(obj);
  if (bulk) {
    // Generation appends to plain arrays; the copy-on-write add would be quadratic for big apps.
    for (const key of [a.resource.id, `p:${a.principalId}`]) {
      let l = bulk.get(key);
      if (!l) bulk.set(key, (l = []));
      l.push(obj.id);
    }
  } else {
    dir.assignmentsByResource.add(a.resource.id, obj.id);
    dir.assignmentsByPrincipal.add(a.principalId, obj.id);
  }
  return obj;
}

/** Adds an active role assignment and activates the directory role the first time it is used. */
export function addRoleAssignment(dir: Directory, rng: Rng, roleDefinitionId: string, principalId: string, scope: string): Entity {
  const scopeObj = scopeObjectId(scope);
  const obj: Entity = {
    id: roleAssignmentId(roleDefinitionId, principalId, scopeObj),
    principalId,
    resourceScope: scope,
    directoryScopeId: scope,
    roleDefinitionId,
    appScopeId: null,
    condition: null,
  };
  dir.roleAssignments.set(obj);
  ensureDirectoryRole(dir, rng, roleDefinitionId);
  return obj;
}

export function ensureDirectoryRole(dir: Directory, rng: Rng, templateId: string): { role: Entity; created: boolean } | undefined {
  const existing = dir.directoryRoleByTemplate.get(templateId);
  if (existing) return { role: dir.directoryRoles.get(existing) as Entity, created: false };
  const def = dir.roleDefinitions.get(templateId);
  if (!def || def['isBuiltIn'] !== true) return undefined;
  const role: Entity = {
    id: rng.guid(),
    deletedDateTime: null,
    description: String(def['description']),
    displayName: String(def['displayName']),
    roleTemplateId: templateId,
  };
  dir.directoryRoles.set(role);
  dir.directoryRoleByTemplate.set(templateId, role.id);
  return { role, created: true };
}
