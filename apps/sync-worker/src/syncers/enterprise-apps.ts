import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { entitlementKey, isOwnerKey } from '@warden/access-model';
import type { ResourceType } from '@warden/database';
import {
  DEFAULT_ACCESS_ROLE_ID,
  principalKindOfGraphType,
  searchText,
  str,
  type DirectGrantInput,
  type EntitlementInput,
  type ResourceInput,
} from '../model';
import { PendingDeletions, type StageCheckpoint } from '../runs/checkpoint';
import { fmt } from '../runs/progress';
import type { RunSession } from '../runs/session';
import { directGrantsOf, upsertDirectGrants } from '../writers/grants';
import { bump } from './delta-stream';
import { appsChangedSince, AUDIT_CURSOR_STREAM } from './directory-audits';
import { readCollections, type CollectionResult } from './graph-batch';
import { verifiedGuard } from './verify-additions';

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

export function mapEnterpriseApp(sp: Partial<GraphServicePrincipal> & { id: string }): {
  resource: ResourceInput;
  entitlements: EntitlementInput[];
} {
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

/** Audit entries older than this may be gone (Microsoft Entra keeps them 7 days without a P1/P2 licence). */
const AUDIT_RETENTION_MS = 7 * 86_400_000;

/** When more apps than this share changed, reading them one by one is no cheaper than reading all. */
const MOSTLY_CHANGED = 0.5;

export interface AppAccessOptions {
  assignments: boolean;
  owners: boolean;
  /** Incremental runs re-read every app once the last complete read is older than this (0 = every run). */
  fullReadIntervalSeconds?: number;
  /** The audit log is read from this long before the stored cursor: Graph's audit events arrive late. */
  auditOverlapSeconds?: number;
}

export const DEFAULT_FULL_READ_INTERVAL_SECONDS = 86_400;
export const DEFAULT_AUDIT_OVERLAP_SECONDS = 3_600;

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

/** When this connector's app access was last read completely (the pass start of a succeeded run). */
async function lastFullRead(s: RunSession): Promise<Date | null> {
  const r = await sql<{ at: Date | null }>`
    SELECT max((checkpoint -> 'stages' -> 'appAccess' ->> 'startedAt')::timestamptz) AS at FROM sync_runs
    WHERE connector_id = ${s.connectorId}::uuid AND status = 'SUCCEEDED'
      AND checkpoint -> 'stages' -> 'appAccess' ->> 'state' = 'done'
      AND checkpoint -> 'stages' -> 'appAccess' ->> 'full' = 'true'`.execute(s.db);
  return r.rows[0]?.at ?? null;
}

/** What an incremental run learnt from the directory audit log before the service principals stage finished. */
export interface AppAccessPlan {
  /** Database time before anything was read: the next run's audit cursor, and the pass start. */
  startedAt: string;
  /** null: every app is read (full run, no cursor, the periodic full read is due, or the log is not usable). */
  audit: { apps: Set<string> } | null;
  counters: Record<string, number>;
}

/**
 * The audit side of an incremental run's plan: the service principals the directory audit log names
 * since the stored cursor (minus the overlap for late events). It needs nothing from the other stages,
 * so a run starts it with them. Every app is read instead when this is a full run, there is no usable
 * cursor (none, or older than the log keeps), the periodic full read is due, or the log cannot be
 * read (logged with its code).
 */
export async function planAppAccess(s: RunSession, opts: AppAccessOptions): Promise<AppAccessPlan> {
  const startedAt = await s.dbNow();
  const counters: Record<string, number> = {};
  const full = { startedAt, audit: null, counters };
  const interval = opts.fullReadIntervalSeconds ?? DEFAULT_FULL_READ_INTERVAL_SECONDS;
  if (s.mode !== 'INCREMENTAL' || interval === 0) return full;
  const now = new Date(startedAt);
  const last = await lastFullRead(s);
  if (!last || now.getTime() - last.getTime() >= interval * 1000) {
    await s.log(
      'INFO',
      `App access: every application's assignments and owners are read again (${last ? `last complete read ${last.toISOString()}, older than ${interval} s` : 'no complete read yet'}).`,
    );
    return full;
  }
  const saved = s.savedDeltaLink(AUDIT_CURSOR_STREAM);
  const cursor = saved ? new Date(saved) : null;
  if (!cursor || Number.isNaN(cursor.getTime()) || now.getTime() - cursor.getTime() > AUDIT_RETENTION_MS) {
    await s.log('INFO', `App access: no usable directory audit cursor (${saved ?? 'none'}); every application is read again.`);
    return full;
  }
  const since = new Date(cursor.getTime() - (opts.auditOverlapSeconds ?? DEFAULT_AUDIT_OVERLAP_SECONDS) * 1000);
  const t0 = Date.now();
  const audit = await appsChangedSince(s, since);
  bump(counters, 'ms_graph_audit', Date.now() - t0);
  if (!audit.ok) {
    bump(counters, 'auditUnavailable');
    await s.log(
      'WARN',
      `${audit.code}: the directory audit log could not be used (${audit.message}); every application's assignments and owners are read again.`,
    );
    return full;
  }
  bump(counters, 'auditEntries', audit.entries);
  return { startedAt, audit: { apps: audit.apps }, counters };
}

/**
 * The apps an incremental run reads: those the audit log named, plus apps this run's service
 * principals pass created or changed (a new app's assignments may predate the audit window). null =
 * every app, also when most apps changed (reading them one by one is then no cheaper).
 */
async function appsToRead(s: RunSession, plan: AppAccessPlan, total: number): Promise<string[] | null> {
  if (!plan.audit) return null;
  const spPassStart = s.stage('servicePrincipals')?.startedAt ?? plan.startedAt;
  const rows = await sql<{ id: string }>`
    SELECT external_id AS id FROM resources
    WHERE connector_id = ${s.connectorId}::uuid AND type = 'ENTERPRISE_APPLICATION'
      AND (lower(external_id) = ANY(${[...plan.audit.apps]}::text[]) OR updated_at >= ${spPassStart}::timestamptz)
`.execute(s.db);
  // Sorted here: the walk compares ids in JavaScript (`id > cursor`), whatever the database's collation.
  const apps = rows.rows.map((r) => r.id).sort();
  if (apps.length > total * MOSTLY_CHANGED) {
    await s.log('INFO', `App access: ${apps.length} of ${total} applications changed; every application is read again.`);
    return null;
  }
  return apps;
}

/**
 * App role assignments and app owners. Graph has no delta for either, so a full read lists them for
 * every app, and an incremental run lists them only for the apps the directory audit log says changed
 * (planAppAccess, appsToRead; periodically, and whenever the log is not usable, every app). Apps are
 * walked in id order, 20 reads per $batch call, each app's complete listing reconciled with the
 * database: only what changed is written, what disappeared is collected as pending deletions (applied
 * when the run succeeds). The position is checkpointed after each chunk of apps; the audit cursor (the
 * database time before anything was read) is stored when the run succeeds.
 */
export async function syncAppAccess(s: RunSession, opts: AppAccessOptions, planned?: Promise<AppAccessPlan>): Promise<void> {
  let cp = s.stage('appAccess');
  if (cp?.state === 'done' || cp?.state === 'skipped') return;
  if (!cp) {
    const plan = await (planned ?? planAppAccess(s, opts));
    const total = await s.db
      .selectFrom('resources')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('connector_id', '=', s.connectorId)
      .where('type', '=', 'ENTERPRISE_APPLICATION')
      .executeTakeFirst();
    const counters = { ...plan.counters };
    const apps = await appsToRead(s, plan, Number(total?.n ?? 0));
    bump(counters, apps ? 'appsReadIncremental' : 'appsReadFull');
    cp = {
      state: 'running',
      full: apps === null,
      startedAt: plan.startedAt,
      cursor: null,
      processed: 0,
      total: apps ? apps.length : Number(total?.n ?? 0),
      deltaLink: plan.startedAt,
      counters,
      ...(apps ? { apps } : {}),
    };
    await s.saveStage('appAccess', cp);
  }
  const pending = PendingDeletions.from(cp.pending);
  const counters: Record<string, number> = { ...(cp.counters ?? {}) };
  let cursor = cp.cursor ?? null;
  let processed = cp.processed;
  const label = (n: number) => `applications: ${fmt(n)} / ${fmt(Math.max(n, cp!.total ?? 0))}`;
  s.progress.set('appAccess', label(processed));
  const only = cp.apps;
  const nextApps = async (after: string | null): Promise<string[]> => {
    if (only) return only.filter((id) => after === null || id > after).slice(0, APPS_PER_CHUNK);
    let q = s.db
      .selectFrom('resources')
      .select('external_id')
      .where('connector_id', '=', s.connectorId)
      .where('type', '=', 'ENTERPRISE_APPLICATION')
      .orderBy('external_id')
      .limit(APPS_PER_CHUNK);
    if (after !== null) q = q.where('external_id', '>', after);
    return (await q.execute()).map((r) => r.external_id);
  };
  // Graph reads of the next chunk run while the database reconciles this one.
  let apps = await nextApps(cursor);
  let reading = apps.length ? readApps(s, apps, opts, counters) : null;
  while (reading) {
    const chunk = await reading;
    const following = await nextApps(apps[apps.length - 1]!);
    reading = following.length ? readApps(s, following, opts, counters) : null;
    reading?.catch(() => undefined);
    await reconcileApps(s, chunk, pending, counters, opts);
    cursor = apps[apps.length - 1]!;
    processed += apps.length;
    s.progress.set('appAccess', label(processed));
    const next: StageCheckpoint = { ...cp, cursor, processed, pending: pending.toJSON(), counters };
    await s.saveStage('appAccess', next);
    cp = next;
    apps = following;
  }
  await s.saveStage('appAccess', { ...cp, state: 'done' });
  s.progress.set('appAccess', null);
}

interface AppsRead {
  apps: string[];
  /** Database time just before Graph was asked: rows provisioning wrote after it are not judged. */
  observedAt: string;
  results: CollectionResult[];
}

async function readApps(s: RunSession, apps: string[], opts: AppAccessOptions, counters: Record<string, number>): Promise<AppsRead> {
  const urls: string[] = [];
  for (const app of apps) {
    if (opts.assignments) urls.push(`/servicePrincipals/${app}/appRoleAssignedTo?$select=id,appRoleId,principalId,principalType&$top=999`);
    if (opts.owners) urls.push(`/servicePrincipals/${app}/owners?$select=id&$top=999`);
  }
  const observedAt = await s.dbNow();
  const t0 = Date.now();
  const results = await readCollections(s, urls);
  bump(counters, 'ms_graph_appAccess', Date.now() - t0);
  return { apps, observedAt, results };
}

async function reconcileApps(
  s: RunSession,
  read: AppsRead,
  pending: PendingDeletions,
  counters: Record<string, number>,
  opts: AppAccessOptions,
): Promise<void> {
  const { apps, observedAt, results } = read;
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

  // One part per app and collection: its entitlement keys and the grants Graph listed.
  const parts = new Map<string, { keys: string[]; rows: DirectGrantInput[] }>();
  let r = 0;
  for (const app of apps) {
    if (opts.assignments) {
      const res = results[r++]!;
      if (res.status === 404) bump(counters, 'appsGone');
      else if (res.status !== 200) throw new Error(`reading assignments of application ${app} failed (${res.status} ${res.error ?? ''})`);
      else {
        const part = { keys: assignmentKeys.get(app) ?? [], rows: [] as DirectGrantInput[] };
        parts.set(`${app}|a`, part);
        for (const raw of res.items as AssignmentItem[]) {
          const roleId = str(raw.appRoleId)?.toLowerCase();
          const principal = str(raw.principalId);
          const kind = principalKindOfGraphType(str(raw.principalType));
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
          part.rows.push({
            entitlementKey: key,
            principalExternalId: principal,
            principalKind: kind,
            graphAssignmentId: str(raw.id),
            expiresAt: null,
          });
        }
      }
    }
    if (opts.owners) {
      const res = results[r++]!;
      if (res.status === 404) bump(counters, 'appsGone');
      else if (res.status !== 200) throw new Error(`reading owners of application ${app} failed (${res.status} ${res.error ?? ''})`);
      else {
        const key = entitlementKey('ENTERPRISE_APPLICATION', app, 'owner');
        const part = { keys: [key], rows: [] as DirectGrantInput[] };
        parts.set(`${app}|o`, part);
        for (const raw of res.items as DirectoryObjectItem[]) {
          const id = str(raw.id);
          const kind = principalKindOfGraphType(str(raw['@odata.type']));
          if (!id || !kind) {
            bump(counters, 'skippedPrincipals');
            continue;
          }
          part.rows.push({ entitlementKey: key, principalExternalId: id, principalKind: kind, graphAssignmentId: null, expiresAt: null });
        }
      }
    }
  }

  // Most apps did not change since the last run: compare one digest per part computed on both
  // sides, and read rows only for the parts that differ.
  const stored = await storedDigests(s, apps);
  const scope: string[] = [];
  const desired = new Map<string, DirectGrantInput>();
  for (const [id, part] of parts) {
    bump(counters, 'grantsListed', part.rows.length);
    if ((stored.get(id) ?? EMPTY) === digestOf(part.rows)) continue;
    bump(counters, 'appPartsChanged');
    scope.push(...part.keys);
    for (const g of part.rows) desired.set(`${g.entitlementKey}\n${g.principalExternalId}`, g);
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
    const ownerRow = isOwnerKey(row.entitlement_key);
    if (row.principal_kind !== want.principalKind || (!ownerRow && row.graph_assignment_id !== want.graphAssignmentId)) changed.push(want);
  }
  for (const [k, want] of desired) if (!seen.has(k)) changed.push(want);
  const assignments = changed.filter((g) => !isOwnerKey(g.entitlementKey));
  const owners = changed.filter((g) => isOwnerKey(g.entitlementKey));
  // Lists read before a revoke still name the revoked principal: guarded from the read's time.
  const guard = verifiedGuard(s, observedAt, counters);
  let written = await upsertDirectGrants(s.db, s.connectorId, assignments, {
    markRunId: null,
    assignmentIdFromGraph: true,
    expiryFromGraph: false,
    guard,
  });
  written += await upsertDirectGrants(s.db, s.connectorId, owners, {
    markRunId: null,
    assignmentIdFromGraph: false,
    expiryFromGraph: false,
    guard,
  });
  bump(counters, 'rowsWritten', written);
  bump(counters, 'ms_db_appAccess', Date.now() - tDb);
}

const EMPTY = 'empty';

/** What a part's grants look like, order-free: md5 of its sorted lines (owners carry no assignment id). */
function digestOf(rows: DirectGrantInput[]): string {
  if (rows.length === 0) return EMPTY;
  const lines = rows.map(
    (g) =>
      `${g.entitlementKey}|${g.principalExternalId}|${g.principalKind}|${isOwnerKey(g.entitlementKey) ? '' : (g.graphAssignmentId ?? '')}`,
  );
  lines.sort();
  return createHash('md5').update(lines.join('\n')).digest('hex');
}

/**
 * The same digest computed by Postgres over the stored direct grants, per app and part. Byte order
 * (COLLATE "C") matches JavaScript's sort for these ids; a mismatch would only cost a row-level diff.
 */
async function storedDigests(s: RunSession, apps: string[]): Promise<Map<string, string>> {
  const rows = await sql<{ app: string; owner: boolean; digest: string }>`
    SELECT app, owner, md5(string_agg(line, E'\n' ORDER BY line COLLATE "C")) AS digest FROM (
      SELECT e.resource_external_id AS app, e.slug = 'owner' AS owner,
             g.entitlement_key || '|' || g.principal_external_id || '|' || g.principal_kind || '|' ||
             CASE WHEN e.slug = 'owner' THEN '' ELSE coalesce(g.graph_assignment_id, '') END AS line
      FROM entitlements e
      JOIN grants g ON g.connector_id = e.connector_id AND g.entitlement_key = e.key AND g.direct
      WHERE e.connector_id = ${s.connectorId}::uuid AND e.resource_type = 'ENTERPRISE_APPLICATION' AND e.resource_external_id = ANY(${apps}::text[])
    ) x GROUP BY app, owner`.execute(s.db);
  return new Map(rows.rows.map((r) => [`${r.app}|${r.owner ? 'o' : 'a'}`, r.digest]));
}
