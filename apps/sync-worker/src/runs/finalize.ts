import { sql, type Kysely, type Transaction } from 'kysely';
import {
  appendConnectorLog,
  kindsOf,
  memberKey,
  slugLikePattern,
  sweepOfStage,
  ENTITLEMENT_KINDS,
  RESOURCE_STAGES,
  RESOURCE_TYPE_LIST,
  type ResourceTypeDescription,
} from '@warden/access-model';
import { type Database, type SyncMode, type SyncStats } from '@warden/database';
import { recomputeClosure, type ClosureResult } from '../inheritance/recompute';
import {
  addCounts,
  cascadeDeletedResources,
  deleteEntitlements,
  deleteResources,
  emptyCounts,
  type CascadeCounts,
} from '../writers/cascade';
import { deleteDirectGrants } from '../writers/grants';
import { PendingDeletions, SAVED_LINKS, STAGES, type RunCheckpoint, type StageCheckpoint } from './checkpoint';
import { RunCancelled } from './session';

export interface FinalizeInput {
  runId: string;
  connectorId: string;
  mode: SyncMode;
  skipAdGroups: boolean;
  checkpoint: RunCheckpoint;
  /** Graph counters of this attempt, merged into the run's stats. */
  graphStats: Partial<SyncStats>;
  grantedPermissions: string[];
  missingPermissions: string[];
  /** Human-readable warnings for status_message (e.g. types skipped for missing permissions). */
  warnings: string[];
}

export interface FinalizeResult {
  stats: SyncStats;
  deleted: CascadeCounts;
  closure: ClosureResult | null;
}

/**
 * The only place a sync run deletes anything, in one transaction with the run's SUCCEEDED: deletions
 * Graph reported or a complete listing implied (collected as pending), sweeps of rows a full pass did
 * not see (per stage that completed one), the skip-on-premises-groups rule, then the nested-group
 * closure over the final direct rows, the new delta links, the stats and the connector's status.
 * A run that never gets here (failed, cancelled, killed) has deleted nothing.
 */
export async function finalizeRun(db: Kysely<Database>, input: FinalizeInput): Promise<FinalizeResult> {
  const t0 = Date.now();
  return db.transaction().execute(async (trx) => {
    const run = await trx
      .selectFrom('sync_runs')
      .select(['status', 'started_at'])
      .where('id', '=', input.runId)
      .forUpdate()
      .executeTakeFirst();
    if (!run || run.status !== 'RUNNING') throw new RunCancelled();
    const c = input.connectorId;
    const stages = input.checkpoint.stages;
    const timings: Record<string, number> = {};
    let lapAt = Date.now();
    const lap = (name: string) => {
      const now = Date.now();
      timings[`ms_finalize_${name}`] = now - lapAt;
      lapAt = now;
    };
    const done = (s: StageCheckpoint | undefined): s is StageCheckpoint => s?.state === 'done';

    // A full pass just wrote most of the rows: planner statistics from before it (or none at all)
    // turn the deletions below into scans of the whole grants table.
    const wroteALot = STAGES.some((n) => (stages[n]?.counters?.['rowsWritten'] ?? 0) > 20_000);
    for (const table of await tablesToAnalyze(trx, wroteALot)) await sql`ANALYZE ${sql.table(table)}`.execute(trx);
    lap('analyze');

    const pending = new PendingDeletions();
    for (const name of STAGES) {
      const p = PendingDeletions.from(stages[name]?.pending).toJSON();
      for (const [id, at] of p.resources) pending.resource(id, at);
      for (const [key, at] of p.entitlements) pending.entitlement(key, at);
      for (const [key, principal, at] of p.grants) pending.grant(key, principal, at);
    }
    const json = pending.toJSON();

    // Members of groups about to go lose what they inherited through them.
    const roots = new Set<string>(stages.groups?.roots ?? []);
    if (json.resources.length) {
      const gone = await sql<{ p: string }>`
        SELECT principal_external_id AS p FROM grants
        WHERE connector_id = ${c}::uuid AND direct AND entitlement_key = ANY(${json.resources.map(([id]) => memberKey(id))}::text[])`.execute(
        trx,
      );
      for (const r of gone.rows) roots.add(r.p);
    }
    lap('roots');

    let deleted = emptyCounts();
    deleted = addCounts(deleted, await deleteResources(trx, c, json.resources));
    lap('pendingResources');
    deleted = addCounts(deleted, await deleteEntitlements(trx, c, json.entitlements));
    deleted.grants += await deleteDirectGrants(trx, c, json.grants);
    lap('pendingGrants');

    // Each resource type's sweep rule (the registry in @warden/access-model), per stage whose pass completed.
    for (const stage of RESOURCE_STAGES) {
      const s = stages[stage];
      const sweep = sweepOfStage(stage);
      if (!done(s) || (sweep.fullPassOnly && !s.full)) continue;
      if (sweep.resourceTypes.length)
        deleted = addCounts(deleted, await sweepResources(trx, c, input.runId, sweep.resourceTypes, s.startedAt));
      if (sweep.entitlementTypes.length)
        deleted = addCounts(deleted, await sweepEntitlements(trx, c, input.runId, sweep.entitlementTypes, s.startedAt));
      for (const pattern of sweep.grantPatterns) deleted.grants += await sweepGrants(trx, c, input.runId, pattern, s.startedAt);
      for (const type of sweep.grantSlugTypes) {
        // A kind with its own read permission (PIM eligibility) is swept only when this run could read it.
        const slugs = kindsOf(type)
          .filter((k) => !('read' in ENTITLEMENT_KINDS[k]) || s.eligibilityRead)
          .map((k) => slugLikePattern(ENTITLEMENT_KINDS[k].slug));
        deleted.grants += await sweepGrantsOf(trx, c, input.runId, type, slugs, s.startedAt);
      }
    }
    lap('sweep');
    const groups = stages.groups;
    let droppedGroups = 0;
    if (input.skipAdGroups && done(groups)) {
      const dropped = await dropOnPremisesGroups(trx, c);
      droppedGroups = dropped.resources;
      deleted = addCounts(deleted, dropped);
    }

    let closure: ClosureResult | null = null;
    // Dropping on-premises groups (the setting was just turned on) rewires nesting anywhere: recompute all.
    if (done(groups)) closure = await recomputeClosure(trx, c, groups.full || groups.rootsOverflow || droppedGroups > 0 ? 'all' : roots);

    lap('closure');
    for (const [stage, stream] of SAVED_LINKS) {
      const s = stages[stage];
      if (!done(s) || !s.deltaLink) continue;
      await trx
        .insertInto('delta_state')
        .values({ connector_id: c, stream, delta_link: s.deltaLink })
        .onConflict((oc) => oc.columns(['connector_id', 'stream']).doUpdateSet({ delta_link: s.deltaLink!, updated_at: sql`now()` }))
        .execute();
    }

    const stats = await countStats(trx, c, input, deleted, closure);
    lap('stats');
    Object.assign(stats, timings);
    stats['ms_finalize'] = Date.now() - t0;
    if (closure) {
      stats['closurePrincipals'] = closure.principals;
      for (const [part, ms] of Object.entries(closure.ms)) stats[`ms_closure_${part}`] = ms;
    }
    await trx
      .updateTable('sync_runs')
      .set({
        status: 'SUCCEEDED',
        progress: null,
        stats: JSON.stringify(stats),
        error: null,
        finished_at: sql`clock_timestamp()`,
        heartbeat_at: sql`clock_timestamp()`,
      })
      .where('id', '=', input.runId)
      .execute();
    await trx
      .updateTable('connectors')
      .set({
        status: 'CONNECTED',
        status_message: input.warnings.length ? input.warnings.join(' ') : null,
        granted_permissions: input.grantedPermissions,
        missing_permissions: input.missingPermissions,
        ...(input.mode === 'FULL' ? { last_full_sync_at: sql`now()` } : { last_incremental_sync_at: sql`now()` }),
        updated_at: sql`now()`,
      })
      .where('id', '=', c)
      .execute();
    for (const line of summaryLines(input, stats, run.started_at)) await appendConnectorLog(trx, c, line.level, line.message, input.runId);
    return { stats, deleted, closure };
  });
}

/**
 * The tables whose statistics are missing, or — after a run that wrote a lot — that changed by more
 * than autovacuum's own threshold for an ANALYZE (50 rows + 10 % of the table). The tables hold every
 * connector: a full pass of a small connector rewrites its rows (marking them seen) but barely moves
 * a table ten times its size, and analyzing grants and resources at L costs 1–3 s of a core.
 */
export async function tablesToAnalyze(trx: Transaction<Database>, wroteALot: boolean): Promise<string[]> {
  const r = await sql<{ relname: string }>`
    SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
    WHERE s.relname IN ('grants', 'resources', 'entitlements')
      AND ((s.last_analyze IS NULL AND s.last_autoanalyze IS NULL)
        OR (${wroteALot} AND s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0)))
    ORDER BY s.relname`.execute(trx);
  return r.rows.map((x) => x.relname);
}

async function sweepResources(
  trx: Transaction<Database>,
  c: string,
  runId: string,
  types: string[],
  startedAt: string | undefined,
): Promise<CascadeCounts> {
  const res = await sql<{ external_id: string }>`
    DELETE FROM resources WHERE connector_id = ${c}::uuid AND type = ANY(${types}::text[])
      AND last_seen_run_id IS DISTINCT FROM ${runId}::uuid AND updated_at < ${startedAt ?? null}::timestamptz
    RETURNING external_id`.execute(trx);
  const ids = res.rows.map((r) => r.external_id);
  const counts = addCounts({ resources: ids.length, entitlements: 0, grants: 0 }, await cascadeDeletedResources(trx, c, ids));
  return counts;
}

async function sweepEntitlements(
  trx: Transaction<Database>,
  c: string,
  runId: string,
  types: string[],
  startedAt: string | undefined,
): Promise<CascadeCounts> {
  const res = await sql<{ key: string }>`
    DELETE FROM entitlements WHERE connector_id = ${c}::uuid AND resource_type = ANY(${types}::text[])
      AND last_seen_run_id IS DISTINCT FROM ${runId}::uuid AND updated_at < ${startedAt ?? null}::timestamptz
    RETURNING key`.execute(trx);
  const keys = res.rows.map((r) => r.key);
  let grants = 0;
  if (keys.length) {
    const g = await sql`DELETE FROM grants WHERE connector_id = ${c}::uuid AND entitlement_key = ANY(${keys}::text[])`.execute(trx);
    grants = Number(g.numAffectedRows ?? 0);
  }
  return { resources: 0, entitlements: keys.length, grants };
}

/** Like sweepGrants, for a few entitlements: found through the entitlements table (index probes, no scan). */
async function sweepGrantsOf(
  trx: Transaction<Database>,
  c: string,
  runId: string,
  type: string,
  slugPatterns: string[],
  startedAt: string | undefined,
): Promise<number> {
  const res = await sql`
    DELETE FROM grants g USING entitlements e
    WHERE e.connector_id = ${c}::uuid AND e.resource_type = ${type} AND e.slug LIKE ANY(${slugPatterns}::text[])
      AND g.connector_id = e.connector_id AND g.entitlement_key = e.key AND g.direct
      AND g.last_seen_run_id IS DISTINCT FROM ${runId}::uuid AND g.updated_at < ${startedAt ?? null}::timestamptz`.execute(trx);
  return Number(res.numAffectedRows ?? 0);
}

async function sweepGrants(
  trx: Transaction<Database>,
  c: string,
  runId: string,
  pattern: string,
  startedAt: string | undefined,
): Promise<number> {
  const res = await sql`
    DELETE FROM grants WHERE connector_id = ${c}::uuid AND direct AND entitlement_key LIKE ${pattern}
      AND last_seen_run_id IS DISTINCT FROM ${runId}::uuid AND updated_at < ${startedAt ?? null}::timestamptz`.execute(trx);
  return Number(res.numAffectedRows ?? 0);
}

/**
 * skipAdGroups: groups synced from on-premises AD are not part of the model, nor are their grants:
 * rows stored before the setting was turned on go, and so do grants such groups hold.
 */
async function dropOnPremisesGroups(trx: Transaction<Database>, c: string): Promise<CascadeCounts> {
  const res = await sql<{ external_id: string }>`
    DELETE FROM resources WHERE connector_id = ${c}::uuid AND type = 'GROUP' AND profile->>'onPremisesSyncEnabled' = 'true'
    RETURNING external_id`.execute(trx);
  const ids = res.rows.map((r) => r.external_id);
  const counts = addCounts({ resources: ids.length, entitlements: 0, grants: 0 }, await cascadeDeletedResources(trx, c, ids));
  const held = await sql`
    DELETE FROM grants g WHERE g.connector_id = ${c}::uuid AND g.principal_kind = 'GROUP'
      AND NOT EXISTS (SELECT 1 FROM resources r WHERE r.connector_id = g.connector_id AND r.external_id = g.principal_external_id)`.execute(
    trx,
  );
  counts.grants += Number(held.numAffectedRows ?? 0);
  return counts;
}

async function countStats(
  trx: Transaction<Database>,
  c: string,
  input: FinalizeInput,
  deleted: CascadeCounts,
  closure: ClosureResult | null,
): Promise<SyncStats> {
  const counts = await rowCounts(trx, c);
  const byType = new Map<string, number>();
  let direct = 0;
  let inherited = 0;
  for (const r of counts) {
    if (r.relation === 'resources') byType.set(r.part, r.n);
    else if (r.part === 'direct') direct = r.n;
    else inherited = r.n;
  }
  const counters: Record<string, number> = {};
  for (const name of STAGES) {
    for (const [k, v] of Object.entries(input.checkpoint.stages[name]?.counters ?? {})) counters[k] = (counters[k] ?? 0) + v;
  }
  const resources = {} as Record<ResourceTypeDescription['statsKey'], number>;
  for (const t of RESOURCE_TYPE_LIST) resources[t.statsKey] = byType.get(t.type) ?? 0;
  return {
    ...resources,
    grants: direct + inherited,
    directGrants: direct,
    inheritedGrants: inherited,
    graphRequests: 0,
    throttledRequests: 0,
    ...input.graphStats,
    skippedPrincipals: counters['skippedPrincipals'] ?? 0,
    rowsWritten: (counters['rowsWritten'] ?? 0) + (closure?.written ?? 0),
    rowsDeleted: deleted.resources + deleted.entitlements + deleted.grants + (closure?.deleted ?? 0),
    // Timings, and the groups pass's Graph shape (rounds, pages, longest chain of round trips).
    ...Object.fromEntries(Object.entries(counters).filter(([k]) => k.startsWith('ms_') || k.startsWith('graph'))),
    ...pick(counters, [
      'appPartsChanged',
      'appsReadIncremental',
      'appsReadFull',
      'auditEntries',
      'auditUnavailable',
      'grantsListed',
      'skippedOnPremisesGroups',
      'skippedServicePrincipals',
      'scopedEligibilitySchedules',
      'administrativeUnitsUnreadable',
      'applicationsUnreadable',
      'unknownAppRoles',
      'unresolvedPrincipals',
      'removed',
      'closureRootsSkipped',
      'additionsRevokedMeanwhile',
      'additionsConfirmed',
      'additionsSkipped',
      'additionsUnverified',
    ]),
  };
}

/**
 * The connector's row counts from migration 0015's `connector_row_counts` (each statement's net
 * change, appended by triggers), read in proportion to the changes since the last run rather than
 * by counting every row. Folds the rows it read into one per part, so the next run reads few;
 * rows other transactions append meanwhile have higher ids and are left alone.
 */
async function rowCounts(trx: Transaction<Database>, c: string): Promise<{ relation: string; part: string; n: number }[]> {
  const r = await sql<{ relation: string; part: string; n: number }>`
    WITH folded AS (
      DELETE FROM connector_row_counts WHERE connector_id = ${c}::uuid RETURNING relation, part, n
    ), summed AS (
      SELECT relation, part, sum(n)::bigint AS n FROM folded GROUP BY relation, part
    ), kept AS (
      INSERT INTO connector_row_counts (connector_id, relation, part, n)
      SELECT ${c}::uuid, relation, part, n FROM summed WHERE n <> 0
    )
    SELECT relation, part, n::int AS n FROM summed`.execute(trx);
  return r.rows;
}

function pick(src: Record<string, number>, keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) if (src[k]) out[k] = src[k];
  return out;
}

function n(v: number | undefined): string {
  return (v ?? 0).toLocaleString('en-US');
}

function summaryLines(input: FinalizeInput, stats: SyncStats, startedAt: Date | null): { level: 'INFO' | 'WARN'; message: string }[] {
  const secs = startedAt ? ((Date.now() - startedAt.getTime()) / 1000).toFixed(1) : '?';
  const lines: { level: 'INFO' | 'WARN'; message: string }[] = [];
  lines.push({
    level: 'INFO',
    message:
      `${input.mode === 'FULL' ? 'Full' : 'Incremental'} sync finished in ${secs} s: ${n(stats.users)} users, ${n(stats.managedIdentities)} managed identities, ` +
      `${n(stats.groups)} groups, ${n(stats.enterpriseApplications)} enterprise applications, ${n(stats.directoryRoles)} directory roles, ` +
      `${n(stats.grants)} grants (${n(stats['inheritedGrants'])} inherited through nested groups); ${n(stats['rowsWritten'])} rows written, ` +
      `${n(stats['rowsDeleted'])} deleted; ${n(stats.graphRequests)} Graph HTTP requests (${n(stats['graphBatchItems'])} of them inside $batch calls), ` +
      `${n(stats.throttledRequests)} throttled.`,
  });
  if (stats.skippedPrincipals)
    lines.push({
      level: 'INFO',
      message: `Skipped ${n(stats.skippedPrincipals)} members or owners that are not users, groups or service principals (devices, org contacts).`,
    });
  if (stats['skippedOnPremisesGroups'])
    lines.push({
      level: 'INFO',
      message: `Skipped ${n(stats['skippedOnPremisesGroups'])} groups synced from on-premises AD, and their grants (connector setting).`,
    });
  if (stats['administrativeUnitsUnreadable'])
    lines.push({
      level: 'WARN',
      message:
        'Could not read administrative units (grant AdministrativeUnit.Read.All or Directory.Read.All): roles scoped to them are named by the unit id, and only held ones are listed.',
    });
  if (stats['applicationsUnreadable'])
    lines.push({
      level: 'WARN',
      message: 'Could not read app registrations (grant Application.Read.All): roles scoped to one application are named by its object id.',
    });
  if (stats['scopedEligibilitySchedules'])
    lines.push({
      level: 'INFO',
      message: `Ignored ${n(stats['scopedEligibilitySchedules'])} PIM eligibility schedules scoped to an administrative unit or app (scoped active assignments are entitlements; scoped eligibility is not yet).`,
    });
  if (stats['skippedServicePrincipals'])
    lines.push({
      level: 'INFO',
      message: `Skipped ${n(stats['skippedServicePrincipals'])} service principals that are neither applications nor managed identities.`,
    });
  if (stats['unknownAppRoles'])
    lines.push({
      level: 'WARN',
      message: `${n(stats['unknownAppRoles'])} app role assignments name a role their application no longer defines; not shown.`,
    });
  if (stats['unresolvedPrincipals'])
    lines.push({
      level: 'WARN',
      message: `${n(stats['unresolvedPrincipals'])} directory role principals could not be resolved in Graph; not shown.`,
    });
  return lines;
}
