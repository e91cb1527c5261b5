import { sql } from 'kysely';
import { GraphError } from '@warden/graph-core';
import { directoryScopeKind, entitlementKey, principalKindOfResource, roleAllowedAtScope, roleAssignedSlug } from '@warden/access-model';
import type { PrincipalKind } from '@warden/database';
import {
  bool,
  principalKindOfGraphType,
  searchText,
  str,
  type DirectGrantInput,
  type EntitlementInput,
  type ResourceInput,
} from '../model';
import type { StageCheckpoint } from '../runs/checkpoint';
import type { RunSession } from '../runs/session';
import { upsertEntitlements } from '../writers/entitlements';
import { upsertDirectGrants } from '../writers/grants';
import { upsertResources } from '../writers/resources';
import { bump } from './delta-stream';
import { readCollections } from './graph-batch';

export interface GraphRoleDefinition {
  id: string;
  displayName?: string | null;
  description?: string | null;
  isBuiltIn?: boolean | null;
  isEnabled?: boolean | null;
  templateId?: string | null;
}

interface RoleAssignment {
  id: string;
  principalId?: string | null;
  roleDefinitionId?: string | null;
  directoryScopeId?: string | null;
}

interface EligibilitySchedule extends RoleAssignment {
  memberType?: string | null;
  scheduleInfo?: {
    startDateTime?: string | null;
    expiration?: { type?: string | null; endDateTime?: string | null; duration?: string | null } | null;
  } | null;
}

export function mapRoleDefinition(d: GraphRoleDefinition): { resource: ResourceInput; entitlements: EntitlementInput[] } {
  const displayName = str(d.displayName) ?? '';
  const ent = (slug: 'assigned' | 'eligible', name: string): EntitlementInput => ({
    key: entitlementKey('DIRECTORY_ROLE', d.id, slug),
    resourceExternalId: d.id,
    resourceType: 'DIRECTORY_ROLE',
    slug,
    displayName: name,
    grantable: true,
    appRoleId: null,
    metadata: {},
  });
  return {
    resource: {
      type: 'DIRECTORY_ROLE',
      externalId: d.id,
      displayName,
      profile: { templateId: str(d.templateId), isBuiltIn: bool(d.isBuiltIn), description: str(d.description) },
      searchText: searchText(displayName),
    },
    entitlements: [ent('assigned', `${displayName} (active)`), ent('eligible', `${displayName} (eligible)`)],
  };
}

interface AdministrativeUnit {
  id: string;
  displayName?: string | null;
}

/**
 * The entitlement of an active role assignment over an administrative unit or an application:
 * `DIRECTORY_ROLE:<roleId>:assigned@<directoryScopeId>`, named after the scope ("User Administrator
 * (administrative unit: Sales)"). `scopeAllowed` is false when Graph would refuse a new assignment of
 * this role at this scope (a legacy assignment still shows, but cannot be granted again).
 */
export function mapScopedRoleEntitlement(d: GraphRoleDefinition, directoryScopeId: string, scopeName: string | null): EntitlementInput {
  const role = str(d.displayName) ?? '';
  const scope = directoryScopeKind(directoryScopeId);
  const label = scope.type === 'administrativeUnit' ? 'administrative unit' : 'application';
  const slug = roleAssignedSlug(directoryScopeId);
  return {
    key: entitlementKey('DIRECTORY_ROLE', d.id, slug),
    resourceExternalId: d.id,
    resourceType: 'DIRECTORY_ROLE',
    slug,
    displayName: `${role} (${label}: ${scopeName ?? scope.id ?? directoryScopeId})`,
    grantable: true,
    appRoleId: null,
    metadata: {
      directoryScopeId,
      scopeType: scope.type,
      scopeId: scope.id,
      scopeDisplayName: scopeName,
      scopeAllowed: roleAllowedAtScope({ templateId: str(d.templateId), isBuiltIn: bool(d.isBuiltIn) }, directoryScopeId),
    },
  };
}

/** When an eligibility schedule ends: afterDateTime → endDateTime, afterDuration → start + duration, else never. */
export function scheduleEnd(s: EligibilitySchedule['scheduleInfo']): string | null {
  const exp = s?.expiration;
  if (!exp?.type || exp.type === 'noExpiration') return null;
  if (exp.type === 'afterDateTime') return str(exp.endDateTime);
  if (exp.type === 'afterDuration' && exp.duration && s?.startDateTime) {
    const ms = isoDurationMs(exp.duration);
    const start = Date.parse(s.startDateTime);
    return ms !== null && Number.isFinite(start) ? new Date(start + ms).toISOString() : null;
  }
  return str(exp.endDateTime);
}

/** PnDTnHnMnS (weeks too); months and years are not used by PIM durations. */
export function isoDurationMs(d: string): number | null {
  const m = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(d);
  if (!m) return null;
  const [w, day, h, min, sec] = m.slice(1).map((x) => (x ? Number(x) : 0)) as [number, number, number, number, number];
  return ((((w * 7 + day) * 24 + h) * 60 + min) * 60 + sec) * 1000;
}

async function collect<T extends { id?: string }>(s: RunSession, path: string): Promise<T[]> {
  const out: T[] = [];
  for await (const page of s.graph.pages<T>(path, { signal: s.signal })) out.push(...page.items);
  return out;
}

/**
 * Each principal's kind: first as the role grants stored by earlier runs name it (a principal's object
 * type never changes, and those rows were written together, so a few pages), then from the synced
 * resources for the principals new to every role (one random page each: at L the ~500 role holders
 * cost an incremental run ~160 ms of cold reads that way), then from Graph for the rest.
 */
async function principalKinds(
  s: RunSession,
  ids: string[],
  roleKeys: string[],
  counters: Record<string, number>,
): Promise<Map<string, PrincipalKind>> {
  const kinds = new Map<string, PrincipalKind>();
  if (ids.length === 0) return kinds;
  const wanted = new Set(ids);
  const stored = await sql<{ p: string; kind: PrincipalKind }>`
    SELECT principal_external_id AS p, principal_kind AS kind FROM grants
    WHERE connector_id = ${s.connectorId}::uuid AND direct AND entitlement_key = ANY(${roleKeys}::text[])`.execute(s.db);
  for (const r of stored.rows) if (wanted.has(r.p)) kinds.set(r.p, r.kind);
  const unknown = ids.filter((id) => !kinds.has(id));
  if (unknown.length) {
    const rows = await s.db
      .selectFrom('resources')
      .select(['external_id', 'type'])
      .where('connector_id', '=', s.connectorId)
      .where('external_id', '=', sql<string>`ANY(${unknown}::text[])`)
      .execute();
    for (const r of rows) kinds.set(r.external_id, principalKindOfResource(r.type));
  }
  const missing = ids.filter((id) => !kinds.has(id));
  if (missing.length) {
    const results = await readCollections(
      s,
      missing.map((id) => `/directoryObjects/${id}`),
      { single: true },
    );
    results.forEach((r, i) => {
      const obj = r.items[0] as { '@odata.type'?: unknown } | undefined;
      const kind = r.status === 200 ? principalKindOfGraphType(str(obj?.['@odata.type'])) : null;
      if (kind) kinds.set(missing[i]!, kind);
      else bump(counters, 'unresolvedPrincipals');
    });
  }
  return kinds;
}

/**
 * Administrative units, to name scoped entitlements. Reading them needs AdministrativeUnit.Read.All
 * or Directory.Read.All, which the read-only set has; a connector with only the RoleManagement
 * permissions gets 403, and then scoped entitlements are named by the unit's id (counted).
 */
async function administrativeUnits(s: RunSession, counters: Record<string, number>): Promise<AdministrativeUnit[]> {
  try {
    return await collect<AdministrativeUnit>(s, '/v1.0/administrativeUnits?$select=id,displayName');
  } catch (err) {
    if (!(err instanceof GraphError) || err.status !== 403) throw err;
    bump(counters, 'administrativeUnitsUnreadable');
    return [];
  }
}

/**
 * App registrations, to name roles scoped to one application. Read only when an assignment has such a
 * scope (rare), with Application.Read.All (in the read-only set); on 403 they are named by the
 * registration's object id (counted).
 */
async function applicationNames(
  s: RunSession,
  assignments: readonly RoleAssignment[],
  counters: Record<string, number>,
): Promise<Map<string, string | null>> {
  const appScoped = assignments.some((a) => directoryScopeKind(a.directoryScopeId ?? '/').type === 'application');
  if (!appScoped) return new Map();
  try {
    const apps = await collect<AdministrativeUnit>(s, '/v1.0/applications?$select=id,displayName&$top=999');
    return new Map(apps.filter((a) => typeof a.id === 'string').map((a) => [a.id.toLowerCase(), str(a.displayName)]));
  } catch (err) {
    if (!(err instanceof GraphError) || err.status !== 403) throw err;
    bump(counters, 'applicationsUnreadable');
    return new Map();
  }
}

/**
 * Directory roles (role definitions, built-in and custom), active assignments at tenant scope
 * (`assigned`) and over an administrative unit or application (`assigned@<directoryScopeId>`, one
 * entitlement per role and scope), and PIM eligibility schedules at tenant scope (`eligible`, with
 * their expiry). Graph has no delta for these, and they are small, so every run (full or
 * incremental) reads them completely and marks what it saw; the finished stage sweeps the rest.
 * Administrative units are read only to name the scoped entitlements; every (AU-scopable role,
 * administrative unit) pair is an entitlement, so a review can grant one nobody holds yet.
 */
export interface DirectoryRolesRead {
  /** Database time before Graph was asked: the stage's sweep spares rows written after it. */
  startedAt: string;
  defs: GraphRoleDefinition[];
  assignments: RoleAssignment[];
  schedules: EligibilitySchedule[];
  units: AdministrativeUnit[];
  counters: Record<string, number>;
}

/**
 * The stage's Graph reads, all at once. They need nothing from the other stages (only resolving the
 * principals' kinds does), so a run starts them with the other stages and the stage proper waits for
 * users, groups and service principals only to write.
 */
export async function readDirectoryRoles(s: RunSession, opts: { eligibility: boolean }): Promise<DirectoryRolesRead> {
  const startedAt = s.stage('directoryRoles')?.startedAt ?? (await s.dbNow());
  const counters: Record<string, number> = {};
  const [defs, assignments, schedules, units] = await Promise.all([
    collect<GraphRoleDefinition>(
      s,
      '/v1.0/roleManagement/directory/roleDefinitions?$select=id,displayName,description,isBuiltIn,isEnabled,templateId',
    ),
    collect<RoleAssignment>(s, '/v1.0/roleManagement/directory/roleAssignments?$select=id,principalId,roleDefinitionId,directoryScopeId'),
    opts.eligibility
      ? collect<EligibilitySchedule>(
          s,
          '/v1.0/roleManagement/directory/roleEligibilitySchedules?$select=id,principalId,roleDefinitionId,directoryScopeId,memberType,scheduleInfo',
        )
      : Promise.resolve([] as EligibilitySchedule[]),
    administrativeUnits(s, counters),
  ]);
  return { startedAt, defs, assignments, schedules, units, counters };
}

export async function syncDirectoryRoles(s: RunSession, opts: { eligibility: boolean }, read?: Promise<DirectoryRolesRead>): Promise<void> {
  const prev = s.stage('directoryRoles');
  if (prev?.state === 'done' || prev?.state === 'skipped') return;
  const { startedAt, defs, assignments, schedules, units, counters } = await (read ?? readDirectoryRoles(s, opts));
  const cp: StageCheckpoint = {
    state: 'running',
    full: true,
    startedAt,
    processed: 0,
    eligibilityRead: opts.eligibility,
  };
  await s.saveStage('directoryRoles', cp);
  s.progress.set('directoryRoles', 'directory roles');
  const resources: ResourceInput[] = [];
  const entitlements: EntitlementInput[] = [];
  const defId = new Map<string, string>();
  const defById = new Map<string, GraphRoleDefinition>();
  for (const d of defs) {
    if (typeof d.id !== 'string') continue;
    const m = mapRoleDefinition(d);
    resources.push(m.resource);
    entitlements.push(...m.entitlements);
    defId.set(d.id.toLowerCase(), d.id);
    defById.set(d.id, d);
    if (d.templateId) defId.set(d.templateId.toLowerCase(), d.id);
  }

  const scopeName = new Map(units.filter((u) => typeof u.id === 'string').map((u) => [u.id.toLowerCase(), str(u.displayName)]));
  for (const [id, name] of await applicationNames(s, assignments, counters)) scopeName.set(id, name);
  const tenantWide = (x: RoleAssignment) => (x.directoryScopeId ?? '/') === '/';
  const principals = new Set<string>();
  for (const a of assignments) if (a.principalId) principals.add(a.principalId);
  for (const e of schedules) if (e.principalId && tenantWide(e)) principals.add(e.principalId);
  const roleKeys = [...defById.keys()].flatMap((id) => ['assigned', 'eligible'].map((slug) => entitlementKey('DIRECTORY_ROLE', id, slug)));
  const kinds = await principalKinds(s, [...principals], roleKeys, counters);

  // Scoped entitlements: every AU-scopable role over every administrative unit, and whatever (role, scope) an assignment holds.
  const scoped = new Map<string, EntitlementInput>();
  const scopedEntitlement = (d: GraphRoleDefinition, scope: string) => {
    const e = mapScopedRoleEntitlement(d, scope, scopeName.get(directoryScopeKind(scope).id?.toLowerCase() ?? '') ?? null);
    if (!scoped.has(e.key)) scoped.set(e.key, e);
    return e.key;
  };
  for (const d of defs) {
    if (typeof d.id !== 'string') continue;
    for (const u of units) {
      const scope = `/administrativeUnits/${u.id}`;
      if (roleAllowedAtScope({ templateId: str(d.templateId), isBuiltIn: bool(d.isBuiltIn) }, scope)) scopedEntitlement(d, scope);
    }
  }

  const active: DirectGrantInput[] = [];
  for (const a of assignments) {
    const def = a.roleDefinitionId ? defId.get(a.roleDefinitionId.toLowerCase()) : undefined;
    const kind = a.principalId ? kinds.get(a.principalId) : undefined;
    if (!def || !kind || !a.principalId) {
      bump(counters, 'skippedRoleAssignments');
      continue;
    }
    active.push({
      entitlementKey: tenantWide(a)
        ? entitlementKey('DIRECTORY_ROLE', def, 'assigned')
        : scopedEntitlement(defById.get(def)!, a.directoryScopeId!),
      principalExternalId: a.principalId,
      principalKind: kind,
      graphAssignmentId: a.id,
      expiresAt: null,
    });
  }
  const eligible = new Map<string, DirectGrantInput>();
  for (const e of schedules) {
    if (!tenantWide(e)) {
      bump(counters, 'scopedEligibilitySchedules');
      continue;
    }
    const def = e.roleDefinitionId ? defId.get(e.roleDefinitionId.toLowerCase()) : undefined;
    const kind = e.principalId ? kinds.get(e.principalId) : undefined;
    if (!def || !kind || !e.principalId) {
      bump(counters, 'skippedRoleAssignments');
      continue;
    }
    const key = entitlementKey('DIRECTORY_ROLE', def, 'eligible');
    const row: DirectGrantInput = {
      entitlementKey: key,
      principalExternalId: e.principalId,
      principalKind: kind,
      graphAssignmentId: e.id,
      expiresAt: scheduleEnd(e.scheduleInfo),
    };
    const prior = eligible.get(`${key}\n${e.principalId}`);
    // Two schedules for one principal and role: the one that lasts longer is what they hold.
    if (!prior || (prior.expiresAt !== null && (row.expiresAt === null || row.expiresAt > prior.expiresAt)))
      eligible.set(`${key}\n${e.principalId}`, row);
  }

  const mark = s.runId;
  // The four writes at once, each on its own pooled connection: no row of one refers to another's,
  // and the stage's writes were four round trips in a row.
  const written = (
    await Promise.all([
      upsertResources(s.db, s.connectorId, resources, mark),
      upsertEntitlements(s.db, s.connectorId, [...entitlements, ...scoped.values()], mark),
      upsertDirectGrants(s.db, s.connectorId, active, { markRunId: mark, assignmentIdFromGraph: true, expiryFromGraph: false }),
      upsertDirectGrants(s.db, s.connectorId, [...eligible.values()], {
        markRunId: mark,
        assignmentIdFromGraph: true,
        expiryFromGraph: true,
      }),
    ])
  ).reduce((a, b) => a + b, 0);
  bump(counters, 'rowsWritten', written);
  await s.saveStage('directoryRoles', { ...cp, state: 'done', processed: defs.length, counters });
  s.progress.set('directoryRoles', null);
}
