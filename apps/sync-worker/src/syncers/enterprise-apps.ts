import { sql } from 'kysely';
import { entitlementKey, type ResourceType } from '@warden/schema';
import { DEFAULT_ACCESS_ROLE_ID, principalKindOf, searchText, str, type DirectGrantInput, type EntitlementInput, type ResourceInput } from '../model';
import { PendingDeletions, type StageCheckpoint } from '../runs/checkpoint';
import { fmt } from '../runs/progress';
import type { RunSession } from '../runs/session';
import { directGrantsOf, upsertDirectGrants } from '../writers/grants';
import { bump } from './delta-stream';
import { readCollections } from './graph-batch';

export interface GraphAppRole {
  id: string;
  value?: string | null;
  displayName?: string | null;
  description?: string | null;
  allowedMemberTypes?: string[] | null;
  isEnabled?: boolean | null;
}

export interface GraphServicePrincipal {
  id: string;
  appId?: string | null;
  displayName?: string | null;
  servicePrincipalType?: string | null;
  accountEnabled?: boolean | null;
  appRoles?: GraphAppRole[] | null;
}

export const SERVICE_PRINCIPAL_SELECT = ['id', 'appId', 'displayName', 'servicePrincipalType', 'accountEnabled', 'appRoles'];

const RESERVED_SLUGS = new Set(['owner', 'assigned']);

export function servicePrincipalResource(type: ResourceType, sp: Partial<GraphServicePrincipal> & { id: string }): ResourceInput {
  const displayName = str(sp.displayName) ?? '';
  const appRoles = Array.isArray(sp.appRoles) ? sp.appRoles : [];
  return {
    type,
    externalId: sp.id,
    displayName,
    profile: {
      appId: str(sp.appId),
      servicePrincipalType: str(sp.servicePrincipalType),
      accountEnabled: typeof sp.accountEnabled === 'boolean' ? sp.accountEnabled : null,
      appRoles,
    },
    searchText: searchText(displayName, str(sp.appId)),
  };
}

/** The entitlement slug of an app role: its `value`, kept clear of the two fixed slugs. */
export function appRoleSlug(role: GraphAppRole): string {
  const value = str(role.value);
  if (!value) return `role-${role.id}`;
  return RESERVED_SLUGS.has(value) ? `approle-${value}` : value;
}

export function mapEnterpriseApp(sp: Partial<GraphServicePrincipal> & { id: string }): { resource: ResourceInput; entitlements: EntitlementInput[] } {
  const resource = servicePrincipalResource('ENTERPRISE_APPLICATION', sp);
  const name = resource.displayName;
  const ent = (slug: string, displayName: string, appRoleId: string | null, allowedMemberTypes?: string[]): EntitlementInput => ({
    key: entitlementKey('ENTERPRISE_APPLICATION', sp.id, slug),
    resourceExternalId: sp.id,
    resourceType: 'ENTERPRISE_APPLICATION',
    slug,
    displayName,
    grantable: true,
    appRoleId,
    metadata: allowedMemberTypes ? { allowedMemberTypes } : {},
  });
  const entitlements = [
    ent('owner', `Owner of ${name}`, null),
    // Default access: what an assignment without an app role grants (users and groups only).
    ent('assigned', `Assigned to ${name}`, DEFAULT_ACCESS_ROLE_ID, ['User']),
  ];
  for (const role of Array.isArray(sp.appRoles) ? sp.appRoles : []) {
    if (!role || typeof role.id !== 'string') continue;
    const types = Array.isArray(role.allowedMemberTypes) ? role.allowedMemberTypes.filter((t): t is string => typeof t === 'string') : [];
    entitlements.push(ent(appRoleSlug(role), `${str(role.displayName) ?? str(role.value) ?? role.id} of ${name}`, role.id, types));
  }
  return { resource, entitlements };
}

/** Apps per round of $batch reads (two collections each: assignments and owners). */
const APPS_PER_CHUNK = 250;

export interface AppAccessOptions {
  assignments: boolean;
  owners: boolean;
}

interface AssignmentItem {
  id?: unknown;
  appRoleId?: unknown;
  principalId?: unknown;
  principalType?: unknown;
}

interface DirectoryObjectItem {
  id?: unknown;
  '@odata.type'?: unknown;
}

/**
 * App role assignments and app owners. Graph has no delta for either, so every run reads them all,
 * app by app in id order, 20 reads per $batch call, and reconciles each app's complete listing with
 * the database: writes only what changed, and collects what disappeared as pending deletions (applied
 * when the run succeeds). The position is checkpointed after each chunk of apps.
 */
export async function syncAppAccess(s: RunSession, opts: AppAccessOptions): Promise<void> {
  let cp = s.stage('appAccess');
  if (cp?.state === 'done' || cp?.state === 'skipped') return;
  if (!cp) {
    const total = await s.db
      .selectFrom('resources')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('connector_id', '=', s.connectorId)
      .where('type', '=', 'ENTERPRISE_APPLICATION')
      .executeTakeFirst();
    cp = { state: 'running', full: true, startedAt: await s.dbNow(), cursor: null, processed: 0, total: Number(total?.n ?? 0) };
    await s.saveStage('appAccess', cp);
  }
  const pending = PendingDeletions.from(cp.pending);
  const counters: Record<string, number> = { ...(cp.counters ?? {}) };
  let cursor = cp.cursor ?? null;
  let processed = cp.processed;
  const label = (n: number) => `applications: ${fmt(n)} / ${fmt(Math.max(n, cp!.total ?? 0))}`;
  s.progress.set('appAccess', label(processed));
  for (;;) {
    let q = s.db
      .selectFrom('resources')
      .select('external_id')
      .where('connector_id', '=', s.connectorId)
      .where('type', '=', 'ENTERPRISE_APPLICATION')
      .orderBy('external_id')
      .limit(APPS_PER_CHUNK);
    if (cursor !== null) q = q.where('external_id', '>', cursor);
    const apps = (await q.execute()).map((r) => r.external_id);
    if (apps.length === 0) break;
    const observedAt = await s.dbNow();
    await reconcileApps(s, apps, observedAt, pending, counters, opts);
    cursor = apps[apps.length - 1]!;
    processed += apps.length;
    s.progress.set('appAccess', label(processed));
    const next: StageCheckpoint = { ...cp, cursor, processed, pending: pending.toJSON(), counters };
    await s.saveStage('appAccess', next);
    cp = next;
  }
  await s.saveStage('appAccess', { ...cp, state: 'done' });
  s.progress.set('appAccess', null);
}

async function reconcileApps(
  s: RunSession,
  apps: string[],
  observedAt: string,
  pending: PendingDeletions,
  counters: Record<string, number>,
  opts: AppAccessOptions,
): Promise<void> {
  const urls: string[] = [];
  for (const app of apps) {
    if (opts.assignments) urls.push(`/servicePrincipals/${app}/appRoleAssignedTo?$select=id,appRoleId,principalId,principalType&$top=999`);
    if (opts.owners) urls.push(`/servicePrincipals/${app}/owners?$select=id&$top=999`);
  }
  const tGraph = Date.now();
  const results = await readCollections(s, urls);
  bump(counters, 'ms_graph_appAccess', Date.now() - tGraph);
  const tDb = Date.now();

  const ents = await s.db
    .selectFrom('entitlements')
    .select(['key', 'slug', 'app_role_id', 'resource_external_id'])
    .where('connector_id', '=', s.connectorId)
    .where('resource_type', '=', 'ENTERPRISE_APPLICATION')
    .where('resource_external_id', '=', sql<string>`ANY(${apps}::text[])`)
    .execute();
  const roleKey = new Map<string, string>();
  const assignmentKeys = new Map<string, string[]>();
  for (const e of ents) {
    if (e.slug === 'owner') continue;
    if (e.app_role_id) roleKey.set(`${e.resource_external_id}|${e.app_role_id.toLowerCase()}`, e.key);
    const list = assignmentKeys.get(e.resource_external_id) ?? [];
    list.push(e.key);
    assignmentKeys.set(e.resource_external_id, list);
  }

  const scope: string[] = [];
  const desired = new Map<string, DirectGrantInput>();
  let r = 0;
  for (const app of apps) {
    if (opts.assignments) {
      const res = results[r++]!;
      if (res.status === 404) bump(counters, 'appsGone');
      else if (res.status !== 200) throw new Error(`reading assignments of application ${app} failed (${res.status} ${res.error ?? ''})`);
      else {
        scope.push(...(assignmentKeys.get(app) ?? []));
        for (const raw of res.items as AssignmentItem[]) {
          const roleId = str(raw.appRoleId)?.toLowerCase();
          const principal = str(raw.principalId);
          const kind = principalKindOf(str(raw.principalType));
          if (!roleId || !principal || !kind) {
            bump(counters, 'skippedPrincipals');
            continue;
          }
          const key = roleKey.get(`${app}|${roleId}`);
          if (!key) {
            // An assignment to a role the app no longer defines: nothing to show it as.
            bump(counters, 'unknownAppRoles');
            continue;
          }
          desired.set(`${key}\n${principal}`, { entitlementKey: key, principalExternalId: principal, principalKind: kind, graphAssignmentId: str(raw.id), expiresAt: null });
        }
      }
    }
    if (opts.owners) {
      const res = results[r++]!;
      if (res.status === 404) bump(counters, 'appsGone');
      else if (res.status !== 200) throw new Error(`reading owners of application ${app} failed (${res.status} ${res.error ?? ''})`);
      else {
        const key = entitlementKey('ENTERPRISE_APPLICATION', app, 'owner');
        scope.push(key);
        for (const raw of res.items as DirectoryObjectItem[]) {
          const id = str(raw.id);
          const kind = principalKindOf(str(raw['@odata.type']));
          if (!id || !kind) {
            bump(counters, 'skippedPrincipals');
            continue;
          }
          desired.set(`${key}\n${id}`, { entitlementKey: key, principalExternalId: id, principalKind: kind, graphAssignmentId: null, expiresAt: null });
        }
      }
    }
  }

  const existing = await directGrantsOf(s.db, s.connectorId, scope);
  const changed: DirectGrantInput[] = [];
  const seen = new Set<string>();
  for (const row of existing) {
    const k = `${row.entitlement_key}\n${row.principal_external_id}`;
    const want = desired.get(k);
    if (!want) {
      pending.grant(row.entitlement_key, row.principal_external_id, observedAt);
      continue;
    }
    seen.add(k);
    const ownerRow = row.entitlement_key.endsWith(':owner');
    if (row.principal_kind !== want.principalKind || (!ownerRow && row.graph_assignment_id !== want.graphAssignmentId)) changed.push(want);
  }
  for (const [k, want] of desired) if (!seen.has(k)) changed.push(want);
  const assignments = changed.filter((g) => !g.entitlementKey.endsWith(':owner'));
  const owners = changed.filter((g) => g.entitlementKey.endsWith(':owner'));
  let written = await upsertDirectGrants(s.db, s.connectorId, assignments, { markRunId: null, assignmentIdFromGraph: true, expiryFromGraph: false });
  written += await upsertDirectGrants(s.db, s.connectorId, owners, { markRunId: null, assignmentIdFromGraph: false, expiryFromGraph: false });
  bump(counters, 'rowsWritten', written);
  bump(counters, 'grantsListed', desired.size);
  bump(counters, 'ms_db_appAccess', Date.now() - tDb);
}
