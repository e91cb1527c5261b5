/**
 * Fills a connector's resources, entitlements and grants from the emulator's export, the way a full
 * sync would store them (same keys, slugs, grantability and profile fields), with bulk
 * `INSERT … SELECT FROM unnest(…)`. Used by the gateway bench because a real sync needs the sync
 * worker and graph-core, which were not runnable when this bench was written. Inherited (nested
 * group) rows are not computed: the bench's queries read direct grants.
 */
import { sql, type Kysely } from 'kysely';
import { entitlementKey, type Database, type PrincipalKind, type ResourceType } from '@warden/schema';
import type { TenantExport } from '@warden/graph-emulator';

type Obj = Record<string, unknown>;
const DEFAULT_ACCESS = '00000000-0000-0000-0000-000000000000';
const str = (v: unknown) => (typeof v === 'string' ? v : v == null ? '' : String(v));

export interface LoadCounts {
  resources: number;
  entitlements: number;
  grants: number;
}

export async function loadExport(db: Kysely<Database>, connectorId: string, t: TenantExport): Promise<LoadCounts> {
  const res: { type: ResourceType; id: string; name: string; profile: Obj; search: string }[] = [];
  const kind = new Map<string, PrincipalKind>();
  for (const u of t.users as Obj[]) {
    const upn = str(u.userPrincipalName);
    const mail = str(u.mail);
    res.push({
      type: 'USER', id: str(u.id), name: str(u.displayName), search: `${str(u.displayName)} ${upn} ${mail}`.toLowerCase(),
      profile: { userPrincipalName: upn, mail: u.mail ?? null, accountEnabled: u.accountEnabled ?? null, userType: u.userType ?? null, department: u.department ?? null, jobTitle: u.jobTitle ?? null },
    });
    kind.set(str(u.id), 'USER');
  }
  const ents: { key: string; ext: string; type: ResourceType; slug: string; name: string; grantable: boolean; appRoleId: string | null; metadata: Obj }[] = [];
  const ent = (type: ResourceType, ext: string, slug: string, name: string, grantable: boolean, appRoleId: string | null, metadata: Obj) =>
    ents.push({ key: entitlementKey(type, ext, slug), ext, type, slug, name, grantable, appRoleId, metadata });
  for (const g of t.groups) {
    const types = (g.groupTypes as string[] | undefined) ?? [];
    const unified = types.includes('Unified');
    const dynamic = types.includes('DynamicMembership');
    const synced = g.onPremisesSyncEnabled === true;
    const mailNonUnified = g.mailEnabled === true && !unified;
    const groupType = dynamic ? 'dynamic' : unified ? 'microsoft365' : g.mailEnabled ? (g.securityEnabled ? 'mailEnabledSecurity' : 'distribution') : 'security';
    res.push({ type: 'GROUP', id: g.id, name: str(g.displayName), search: `${str(g.displayName)} ${str(g.mail)}`.toLowerCase(), profile: { groupType, groupTypes: types, securityEnabled: g.securityEnabled ?? null, mailEnabled: g.mailEnabled ?? null, onPremisesSyncEnabled: g.onPremisesSyncEnabled ?? null, isAssignableToRole: g.isAssignableToRole ?? null } });
    kind.set(g.id, 'GROUP');
    const meta = { unifiedGroup: unified, roleAssignable: g.isAssignableToRole === true };
    ent('GROUP', g.id, 'member', `Member of ${str(g.displayName)}`, !(synced || mailNonUnified || dynamic), null, meta);
    ent('GROUP', g.id, 'owner', `Owner of ${str(g.displayName)}`, !(synced || mailNonUnified), null, meta);
  }
  const roleSlug = new Map<string, string>();
  for (const sp of t.servicePrincipals as Obj[]) {
    const id = str(sp.id);
    kind.set(id, 'SERVICE_PRINCIPAL');
    const type: ResourceType | null = sp.servicePrincipalType === 'ManagedIdentity' ? 'MANAGED_IDENTITY' : sp.servicePrincipalType === 'Application' ? 'ENTERPRISE_APPLICATION' : null;
    if (!type) continue;
    res.push({ type, id, name: str(sp.displayName), search: str(sp.displayName).toLowerCase(), profile: { appId: sp.appId ?? null, servicePrincipalType: sp.servicePrincipalType ?? null, accountEnabled: sp.accountEnabled ?? null } });
    if (type !== 'ENTERPRISE_APPLICATION') continue;
    ent('ENTERPRISE_APPLICATION', id, 'owner', `Owner of ${str(sp.displayName)}`, true, null, {});
    ent('ENTERPRISE_APPLICATION', id, 'assigned', `Assigned to ${str(sp.displayName)}`, true, DEFAULT_ACCESS, { allowedMemberTypes: ['User'] });
    for (const role of (sp.appRoles as Obj[] | undefined) ?? []) {
      roleSlug.set(`${id}|${str(role.id)}`, str(role.value));
      ent('ENTERPRISE_APPLICATION', id, str(role.value), `${str(role.displayName)} of ${str(sp.displayName)}`, true, str(role.id), { allowedMemberTypes: role.allowedMemberTypes ?? [] });
    }
  }
  for (const r of t.roleDefinitions as Obj[]) {
    const id = str(r.id);
    res.push({ type: 'DIRECTORY_ROLE', id, name: str(r.displayName), search: str(r.displayName).toLowerCase(), profile: { templateId: r.templateId ?? null, isBuiltIn: r.isBuiltIn ?? null } });
    ent('DIRECTORY_ROLE', id, 'assigned', `${str(r.displayName)} (active)`, true, null, {});
    ent('DIRECTORY_ROLE', id, 'eligible', `${str(r.displayName)} (eligible)`, true, null, {});
  }

  const grants = new Map<string, { key: string; principal: string; kind: PrincipalKind; assignment: string | null }>();
  const direct = (key: string, principal: string, assignment: string | null = null) => {
    const k = kind.get(principal);
    if (k) grants.set(`${key}|${principal}`, { key, principal, kind: k, assignment });
  };
  for (const g of t.groups) {
    for (const m of g.members) direct(entitlementKey('GROUP', g.id, 'member'), m);
    for (const o of g.owners) direct(entitlementKey('GROUP', g.id, 'owner'), o);
  }
  for (const a of t.appRoleAssignments as Obj[]) {
    const rid = str(a.resourceId);
    const slug = a.appRoleId === DEFAULT_ACCESS ? 'assigned' : roleSlug.get(`${rid}|${str(a.appRoleId)}`);
    if (slug) direct(entitlementKey('ENTERPRISE_APPLICATION', rid, slug), str(a.principalId), str(a.id));
  }
  for (const o of t.servicePrincipalOwners) direct(entitlementKey('ENTERPRISE_APPLICATION', o.servicePrincipalId, 'owner'), o.ownerId);
  for (const ra of t.roleAssignments as Obj[]) if (ra.directoryScopeId === '/') direct(entitlementKey('DIRECTORY_ROLE', str(ra.roleDefinitionId), 'assigned'), str(ra.principalId), str(ra.id));
  for (const s of t.roleEligibilitySchedules as Obj[]) direct(entitlementKey('DIRECTORY_ROLE', str(s.roleDefinitionId), 'eligible'), str(s.principalId), str(s.id));

  const BATCH = 10_000;
  for (let i = 0; i < res.length; i += BATCH) {
    const b = res.slice(i, i + BATCH);
    await sql`INSERT INTO resources (connector_id, type, external_id, display_name, profile, search_text)
      SELECT ${connectorId}::uuid, t, e, n, p::jsonb, s FROM unnest(${b.map((r) => r.type)}::text[], ${b.map((r) => r.id)}::text[], ${b.map((r) => r.name)}::text[],
        ${b.map((r) => JSON.stringify(r.profile))}::text[], ${b.map((r) => r.search)}::text[]) AS x(t, e, n, p, s)`.execute(db);
  }
  for (let i = 0; i < ents.length; i += BATCH) {
    const b = ents.slice(i, i + BATCH);
    await sql`INSERT INTO entitlements (connector_id, key, resource_external_id, resource_type, slug, display_name, grantable, app_role_id, metadata)
      SELECT ${connectorId}::uuid, k, e, t, s, n, g, a, m::jsonb FROM unnest(${b.map((x) => x.key)}::text[], ${b.map((x) => x.ext)}::text[], ${b.map((x) => x.type)}::text[],
        ${b.map((x) => x.slug)}::text[], ${b.map((x) => x.name)}::text[], ${b.map((x) => x.grantable)}::boolean[], ${b.map((x) => x.appRoleId)}::text[],
        ${b.map((x) => JSON.stringify(x.metadata))}::text[]) AS x(k, e, t, s, n, g, a, m)
      ON CONFLICT (connector_id, key) DO NOTHING`.execute(db);
  }
  const gs = [...grants.values()];
  for (let i = 0; i < gs.length; i += BATCH) {
    const b = gs.slice(i, i + BATCH);
    await sql`INSERT INTO grants (connector_id, entitlement_key, principal_external_id, principal_kind, direct, graph_assignment_id)
      SELECT ${connectorId}::uuid, k, p, c, true, a FROM unnest(${b.map((g) => g.key)}::text[], ${b.map((g) => g.principal)}::text[], ${b.map((g) => g.kind)}::text[],
        ${b.map((g) => g.assignment)}::text[]) AS x(k, p, c, a)`.execute(db);
  }
  await sql`ANALYZE`.execute(db);
  return { resources: res.length, entitlements: ents.length, grants: gs.length };
}
