import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { entitlementKey, type Database, type EntitlementMetadata, type PrincipalKind, type ResourceType } from '@warden/database';
import { chunks, roleAllowedAtScope, roleAssignedSlug } from '@warden/access-model';
import { sealCredentials, type SecretBox } from '@warden/service-kit';
import type { EmulatorApp, EmulatorConfig, TenantExport } from '@warden/graph-emulator';

const DEFAULT_ACCESS = '00000000-0000-0000-0000-000000000000';
type Obj = Record<string, unknown>;

/** A connector row for one of the emulator's app registrations, credentials sealed as the gateway does. */
export async function insertConnector(db: Kysely<Database>, box: SecretBox, config: EmulatorConfig, app: EmulatorApp): Promise<string> {
  const row = await db
    .insertInto('connectors')
    .values({
      display_name: `emulator (${app.name})`,
      tenant_id: config.tenantId,
      client_id: app.clientId,
      auth_method: 'CLIENT_SECRET',
      graph_base_url: config.baseUrl,
      authority_host: config.authorityHost,
      status: 'CONNECTED',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .updateTable('connectors')
    .set({ secret_ciphertext: sealCredentials(box, row.id, { kind: 'secret', clientSecret: app.clientSecret }) })
    .where('id', '=', row.id)
    .execute();
  return row.id;
}

interface GrantSeed {
  entitlement_key: string;
  principal_external_id: string;
  principal_kind: PrincipalKind;
  direct: boolean;
  via: string[];
  expires_at: string | null;
  graph_assignment_id: string | null;
}

/**
 * Fills resources, entitlements and grants straight from the emulator's export — what a full sync
 * would write — so these tests do not depend on the sync worker. Inherited membership rows are the
 * closure computed here independently of the worker's code.
 */
export async function seedFromExport(db: Kysely<Database>, connectorId: string, t: TenantExport): Promise<void> {
  const resources: { type: ResourceType; external_id: string; display_name: string; profile: Obj }[] = [];
  const kindOf = new Map<string, PrincipalKind>();
  for (const u of t.users as Obj[]) {
    resources.push({
      type: 'USER',
      external_id: String(u.id),
      display_name: String(u.displayName ?? ''),
      profile: { userPrincipalName: u.userPrincipalName, mail: u.mail },
    });
    kindOf.set(String(u.id), 'USER');
  }
  for (const g of t.groups) {
    resources.push({
      type: 'GROUP',
      external_id: g.id,
      display_name: String(g.displayName ?? ''),
      profile: {
        groupTypes: g.groupTypes,
        securityEnabled: g.securityEnabled,
        mailEnabled: g.mailEnabled,
        onPremisesSyncEnabled: g.onPremisesSyncEnabled,
        isAssignableToRole: g.isAssignableToRole,
      },
    });
    kindOf.set(g.id, 'GROUP');
  }
  const apps: Obj[] = [];
  for (const sp of t.servicePrincipals as Obj[]) {
    const type =
      sp.servicePrincipalType === 'ManagedIdentity'
        ? 'MANAGED_IDENTITY'
        : sp.servicePrincipalType === 'Application'
          ? 'ENTERPRISE_APPLICATION'
          : null;
    kindOf.set(String(sp.id), 'SERVICE_PRINCIPAL');
    if (!type) continue;
    resources.push({
      type,
      external_id: String(sp.id),
      display_name: String(sp.displayName ?? ''),
      profile: { appId: sp.appId, servicePrincipalType: sp.servicePrincipalType },
    });
    if (type === 'ENTERPRISE_APPLICATION') apps.push(sp);
  }
  for (const r of t.roleDefinitions as Obj[]) {
    resources.push({
      type: 'DIRECTORY_ROLE',
      external_id: String(r.id),
      display_name: String(r.displayName ?? ''),
      profile: { templateId: r.templateId },
    });
  }

  const entitlements: {
    key: string;
    resource_external_id: string;
    resource_type: ResourceType;
    slug: string;
    display_name: string;
    grantable: boolean;
    app_role_id: string | null;
    metadata: EntitlementMetadata;
  }[] = [];
  for (const g of t.groups) {
    const types = (g.groupTypes as string[] | undefined) ?? [];
    const unified = types.includes('Unified');
    const synced = g.onPremisesSyncEnabled === true;
    const mailNonUnified = g.mailEnabled === true && !unified;
    const dynamic = types.includes('DynamicMembership');
    const meta = { unifiedGroup: unified, roleAssignable: g.isAssignableToRole === true };
    entitlements.push(
      ent('GROUP', g.id, 'member', `Member of ${String(g.displayName)}`, !(synced || mailNonUnified || dynamic), null, meta),
    );
    entitlements.push(ent('GROUP', g.id, 'owner', `Owner of ${String(g.displayName)}`, !(synced || mailNonUnified), null, meta));
  }
  const roleSlug = new Map<string, string>();
  for (const sp of apps) {
    const id = String(sp.id);
    entitlements.push(ent('ENTERPRISE_APPLICATION', id, 'owner', `Owner of ${String(sp.displayName)}`, true, null, {}));
    entitlements.push(
      ent('ENTERPRISE_APPLICATION', id, 'assigned', `Assigned to ${String(sp.displayName)}`, true, DEFAULT_ACCESS, {
        allowedMemberTypes: ['User'],
      }),
    );
    for (const role of (sp.appRoles as Obj[] | undefined) ?? []) {
      const value = String(role.value);
      roleSlug.set(`${id}|${String(role.id)}`, value);
      entitlements.push(
        ent('ENTERPRISE_APPLICATION', id, value, `${String(role.displayName)} of ${String(sp.displayName)}`, true, String(role.id), {
          allowedMemberTypes: role.allowedMemberTypes as string[],
        }),
      );
    }
  }
  for (const r of t.roleDefinitions as Obj[]) {
    entitlements.push(ent('DIRECTORY_ROLE', String(r.id), 'assigned', `${String(r.displayName)} (active)`, true, null, {}));
    entitlements.push(ent('DIRECTORY_ROLE', String(r.id), 'eligible', `${String(r.displayName)} (eligible)`, true, null, {}));
    // Every role over every administrative unit (scopeAllowed says whether Graph accepts it there).
    for (const au of t.administrativeUnits as Obj[]) {
      const scope = `/administrativeUnits/${String(au.id)}`;
      const scopeAllowed = roleAllowedAtScope({ templateId: String(r.templateId), isBuiltIn: r.isBuiltIn === true }, scope);
      entitlements.push(
        ent(
          'DIRECTORY_ROLE',
          String(r.id),
          roleAssignedSlug(scope),
          `${String(r.displayName)} (administrative unit: ${String(au.displayName)})`,
          true,
          null,
          {
            directoryScopeId: scope,
            scopeAllowed,
          },
        ),
      );
    }
  }

  // Roles over one app registration: the (role, application) pairs the tenant holds, as the sync lists them.
  const roleById = new Map((t.roleDefinitions as Obj[]).map((r) => [String(r.id), r]));
  const appById = new Map(((t.applications ?? []) as Obj[]).map((a) => [`/${String(a.id)}`, a]));
  const appScoped = new Set<string>();
  for (const ra of t.roleAssignments as Obj[]) {
    const scope = String(ra.directoryScopeId);
    const app = appById.get(scope);
    const r = roleById.get(String(ra.roleDefinitionId));
    if (!app || !r || appScoped.has(`${String(r.id)}${scope}`)) continue;
    appScoped.add(`${String(r.id)}${scope}`);
    entitlements.push(
      ent(
        'DIRECTORY_ROLE',
        String(r.id),
        roleAssignedSlug(scope),
        `${String(r.displayName)} (application: ${String(app.displayName)})`,
        true,
        null,
        {
          directoryScopeId: scope,
          scopeAllowed: roleAllowedAtScope({ templateId: String(r.templateId), isBuiltIn: r.isBuiltIn === true }, scope),
        },
      ),
    );
  }

  const grants: GrantSeed[] = [];
  const direct = (key: string, principal: string, extra: Partial<GrantSeed> = {}) => {
    const kind = kindOf.get(principal);
    if (!kind) return; // devices, org contacts: not principals of the model
    grants.push({
      entitlement_key: key,
      principal_external_id: principal,
      principal_kind: kind,
      direct: true,
      via: [],
      expires_at: null,
      graph_assignment_id: null,
      ...extra,
    });
  };
  for (const g of t.groups) {
    for (const m of g.members) direct(entitlementKey('GROUP', g.id, 'member'), m);
    for (const o of g.owners) direct(entitlementKey('GROUP', g.id, 'owner'), o);
  }
  for (const a of t.appRoleAssignments as Obj[]) {
    const rid = String(a.resourceId);
    const slug = a.appRoleId === DEFAULT_ACCESS ? 'assigned' : roleSlug.get(`${rid}|${String(a.appRoleId)}`);
    if (slug) direct(entitlementKey('ENTERPRISE_APPLICATION', rid, slug), String(a.principalId), { graph_assignment_id: String(a.id) });
  }
  for (const o of t.servicePrincipalOwners) direct(entitlementKey('ENTERPRISE_APPLICATION', o.servicePrincipalId, 'owner'), o.ownerId);
  for (const ra of t.roleAssignments as Obj[]) {
    direct(
      entitlementKey('DIRECTORY_ROLE', String(ra.roleDefinitionId), roleAssignedSlug(String(ra.directoryScopeId))),
      String(ra.principalId),
      {
        graph_assignment_id: String(ra.id),
      },
    );
  }
  for (const s of t.roleEligibilitySchedules as Obj[]) {
    const end = ((s.scheduleInfo as Obj | undefined)?.expiration as Obj | undefined)?.endDateTime;
    direct(entitlementKey('DIRECTORY_ROLE', String(s.roleDefinitionId), 'eligible'), String(s.principalId), {
      graph_assignment_id: String(s.id),
      expires_at: typeof end === 'string' ? end : null,
    });
  }
  for (const [principal, group, via] of membershipClosure(t)) {
    if (!kindOf.has(principal)) continue;
    grants.push({
      entitlement_key: entitlementKey('GROUP', group, 'member'),
      principal_external_id: principal,
      principal_kind: kindOf.get(principal)!,
      direct: false,
      via,
      expires_at: null,
      graph_assignment_id: null,
    });
  }

  for (const chunk of chunks(resources, 1000)) {
    await db
      .insertInto('resources')
      .values(
        chunk.map((r) => ({
          ...r,
          connector_id: connectorId,
          profile: JSON.stringify(r.profile),
          search_text: r.display_name.toLowerCase(),
        })),
      )
      .execute();
  }
  for (const chunk of chunks(entitlements, 1000)) {
    await db
      .insertInto('entitlements')
      .values(chunk.map((e) => ({ ...e, connector_id: connectorId, metadata: JSON.stringify(e.metadata) })))
      .execute();
  }
  for (const chunk of chunks(grants, 1000)) {
    await db
      .insertInto('grants')
      .values(chunk.map((g) => ({ ...g, connector_id: connectorId })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  await sql`ANALYZE`.execute(db);
}

/**
 * (principal, group, via) for every group a principal reaches through at least one intermediate
 * group: shortest path, ties by group id, outermost first; nobody inherits itself. Independent of
 * the worker's implementation on purpose.
 */
export function membershipClosure(t: Pick<TenantExport, 'groups'>): [string, string, string[]][] {
  const parents = new Map<string, string[]>();
  for (const g of t.groups) for (const m of g.members) parents.set(m, [...(parents.get(m) ?? []), g.id]);
  for (const l of parents.values()) l.sort();
  const out: [string, string, string[]][] = [];
  for (const [principal, direct] of parents) {
    const best = new Map<string, string[]>();
    let level: { group: string; path: string[] }[] = direct.filter((g) => g !== principal).map((g) => ({ group: g, path: [g] }));
    const seen = new Set(level.map((l) => l.group));
    while (level.length > 0) {
      const next: { group: string; path: string[] }[] = [];
      for (const { group, path } of level) {
        for (const up of parents.get(group) ?? []) {
          if (up === principal) continue;
          if (!best.has(up)) best.set(up, path);
          if (!seen.has(up)) {
            seen.add(up);
            next.push({ group: up, path: [...path, up] });
          }
        }
      }
      level = next;
    }
    for (const [group, path] of best) out.push([principal, group, [...path].reverse().map((g) => `GROUP:${g}:member`)]);
  }
  return out;
}

function ent(
  type: ResourceType,
  id: string,
  slug: string,
  name: string,
  grantable: boolean,
  appRoleId: string | null,
  metadata: EntitlementMetadata,
) {
  return {
    key: entitlementKey(type, id, slug),
    resource_external_id: id,
    resource_type: type,
    slug,
    display_name: name,
    grantable,
    app_role_id: appRoleId,
    metadata,
  };
}
