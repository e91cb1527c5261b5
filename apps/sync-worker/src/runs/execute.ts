import { sql, type Kysely } from 'kysely';
import { GraphAuthError, GraphError, GraphLinkRefusedError, missingPermissions, type GraphClient } from '@warden/graph-core';
import { appendConnectorLog } from '@warden/access-model';
import { type Bus, type SyncRequested } from '@warden/bus';
import { type ConnectorRow, type Database, type SyncRunRow } from '@warden/database';
import { type SecretBox } from '@warden/service-kit';
import type { Logger } from 'pino';
import { ConnectorNotReady, assertConnectorSyncable, graphClientFor, type GraphSettings } from '../graph-client';
import { planStages, type StagePlan } from '../permissions';
import { readDirectoryRoles, syncDirectoryRoles } from '../syncers/directory-roles';
import { planAppAccess, syncAppAccess, type AppAccessOptions } from '../syncers/enterprise-apps';
import { syncGroups } from '../syncers/groups';
import { syncServicePrincipals } from '../syncers/service-principals';
import { syncSignIns } from '../syncers/sign-ins';
import { syncUsers } from '../syncers/users';
import { parseCheckpoint, type StageName } from './checkpoint';
import { finalizeRun, type FinalizeResult } from './finalize';
import { ProgressReporter, publishRunEvent } from './progress';
import { RunCancelled, RunSession } from './session';

export interface RunDeps {
  db: Kysely<Database>;
  bus: Bus | null;
  box: SecretBox;
  logger: Logger;
  graph: GraphSettings;
  workerId: string;
  /** Keeps the NATS message alive (ctx.working()); called at least every `keepAliveMs`. */
  keepAlive?: () => void;
  keepAliveMs?: number;
  /** Aborted when this process shuts down: the run stays RUNNING for another replica to resume. */
  signal?: AbortSignal;
  /** Rows per bulk write and checkpoint in full passes (default 5,000). */
  writeBatchRows?: number;
  /** A partitioned full pass saves its (large) checkpoint at most this often (default 1,000 ms; 0 = every batch). */
  checkpointMinIntervalMs?: number;
  /** Full groups pass: ids per filtered delta round (default and Graph's maximum 50) and rounds at once (default 12). */
  groupChunkSize?: number;
  groupRoundsAtOnce?: number;
  /** Incremental runs read users' sign-in activity when the last read is older than this (default one day); full runs always do. */
  signInIntervalSeconds?: number;
  /** Incremental runs re-read every app's assignments and owners when the last complete read is older than this (default one day; 0 = every run). */
  appAccessFullReadSeconds?: number;
  /** The directory audit log is read from this long before the stored cursor (default one hour). */
  auditOverlapSeconds?: number;
  /** Test hook: the GraphClient to use instead of one built from the connector row. */
  graphClientFactory?: (connector: ConnectorRow) => GraphClient;
}

export type RunOutcome =
  | { status: 'SUCCEEDED'; result: FinalizeResult }
  | { status: 'FAILED'; error: string }
  | { status: 'CANCELLED' }
  | { status: 'SKIPPED'; reason: string };

/** Another replica holds this connector's run right now; the message comes back later. */
export class RunBusy extends Error {}

const LOCK_CLASS = 7_310;

/**
 * Handles one SyncRequested: idempotent (a finished run is acknowledged and left alone), one
 * replica at a time per connector (a session advisory lock that dies with the process, so after a
 * SIGKILL the redelivered message resumes at once), and resumable from the run's checkpoint.
 */
export async function handleSyncRequested(deps: RunDeps, msg: SyncRequested): Promise<RunOutcome> {
  const run = await deps.db.selectFrom('sync_runs').selectAll().where('id', '=', msg.runId).executeTakeFirst();
  if (!run) return { status: 'SKIPPED', reason: 'run no longer exists' };
  if (run.status !== 'QUEUED' && run.status !== 'RUNNING') return { status: 'SKIPPED', reason: `run already ${run.status}` };
  return deps.db.connection().execute(async (conn) => {
    const locked = await sql<{ ok: boolean }>`SELECT pg_try_advisory_lock(${LOCK_CLASS}, hashtext(${run.connector_id})) AS ok`.execute(
      conn,
    );
    if (!locked.rows[0]?.ok) throw new RunBusy(`connector ${run.connector_id} is being synced by another worker`);
    try {
      return await executeRun(deps, run.id);
    } finally {
      await sql`SELECT pg_advisory_unlock(${LOCK_CLASS}, hashtext(${run.connector_id}))`.execute(conn).catch(() => undefined);
    }
  });
}

async function executeRun(deps: RunDeps, runId: string): Promise<RunOutcome> {
  const claimed = await sql<SyncRunRow>`
    UPDATE sync_runs SET status = 'RUNNING', started_at = coalesce(started_at, now()), attempt = attempt + 1,
      worker_id = ${deps.workerId}, heartbeat_at = now(), checkpoint = CASE WHEN checkpoint ? 'stages' THEN checkpoint ELSE '{"v":1,"stages":{}}'::jsonb END
    WHERE id = ${runId}::uuid AND status IN ('QUEUED', 'RUNNING')
    RETURNING *`.execute(deps.db);
  const run = claimed.rows[0];
  if (!run) return { status: 'SKIPPED', reason: 'run is no longer queued or running' };
  const connector = await deps.db.selectFrom('connectors').selectAll().where('id', '=', run.connector_id).executeTakeFirst();
  if (!connector) return { status: 'SKIPPED', reason: 'connector no longer exists' };
  const logger = deps.logger.child({ runId, connectorId: connector.id, mode: run.mode });
  const resumed = run.attempt > 1 && Object.keys(parseCheckpoint(run.checkpoint).stages).length > 0;

  await deps.db
    .updateTable('connectors')
    .set({ status: 'SYNCING', updated_at: sql`now()` })
    .where('id', '=', connector.id)
    .execute();
  const label = run.mode === 'FULL' ? 'Full' : 'Incremental';
  await appendConnectorLog(
    deps.db,
    connector.id,
    'INFO',
    resumed ? `${label} sync resumed from its checkpoint (attempt ${run.attempt})` : `${label} sync started`,
    runId,
  );
  publishRunEvent(deps.bus, runId, connector.id, 'RUNNING', null);

  const ctl = new AbortController();
  const onShutdown = () => ctl.abort(deps.signal?.reason ?? new Error('worker shutting down'));
  deps.signal?.addEventListener('abort', onShutdown, { once: true });
  const progress = new ProgressReporter({
    db: deps.db,
    bus: deps.bus,
    runId,
    connectorId: connector.id,
    logger,
    onCancelled: () => ctl.abort(new RunCancelled()),
  });
  const keepAlive = setInterval(() => {
    deps.keepAlive?.();
    void progress.flush();
  }, deps.keepAliveMs ?? 5_000);
  keepAlive.unref();
  try {
    // Before any token request or Graph call, whichever client is used: stored hosts still allowed,
    // OAUTH consent verified (defence in depth: requestSync and the scheduler refuse these already).
    assertConnectorSyncable(connector, deps.graph);
    const graph = deps.graphClientFactory ? deps.graphClientFactory(connector) : graphClientFor(connector, deps.box, deps.graph, logger);
    const granted = await graph.grantedPermissions(ctl.signal);
    const plan = planStages(granted);
    const missing = missingPermissions(granted);
    const allMissing = [...new Set([...missing.forSync, ...missing.forProvisioning])];
    if (plan.run.size === 0) {
      throw new NothingReadable(
        `The app can read nothing in this tenant: its token grants ${granted.length ? granted.join(', ') : 'no application permissions'}. ` +
          `Grant (and admin-consent) at least: ${missing.forSync.join(', ')}.`,
      );
    }
    const deltaLinks = new Map(
      (await deps.db.selectFrom('delta_state').select(['stream', 'delta_link']).where('connector_id', '=', connector.id).execute()).map(
        (r) => [r.stream, r.delta_link],
      ),
    );
    const s = new RunSession({
      db: deps.db,
      graph,
      runId,
      connectorId: connector.id,
      mode: run.mode,
      skipAdGroups: connector.skip_ad_groups,
      permissions: granted,
      checkpoint: run.checkpoint,
      deltaLinks,
      signal: ctl.signal,
      logger,
      progress,
      writeBatchRows: deps.writeBatchRows ?? 5_000,
      checkpointMinIntervalMs: deps.checkpointMinIntervalMs ?? 1_000,
      ...(deps.groupChunkSize !== undefined ? { groupChunkSize: deps.groupChunkSize } : {}),
      ...(deps.groupRoundsAtOnce !== undefined ? { groupRoundsAtOnce: deps.groupRoundsAtOnce } : {}),
    });
    await recordSkips(s, plan);
    const timings: Record<string, number> = {};
    const tStages = Date.now();
    await runStages(s, plan, ctl, timings, deps.signInIntervalSeconds ?? 86_400, {
      ...(deps.appAccessFullReadSeconds !== undefined ? { fullReadIntervalSeconds: deps.appAccessFullReadSeconds } : {}),
      ...(deps.auditOverlapSeconds !== undefined ? { auditOverlapSeconds: deps.auditOverlapSeconds } : {}),
    });
    timings['ms_stages'] = Date.now() - tStages;
    s.throwIfAborted();
    await progress.stop();
    const gs = graph.stats();
    const batchCalls = Object.entries(gs.byRoute)
      .filter(([route]) => /\$batch/.test(route))
      .reduce((sum, [, c]) => sum + c.requests, 0);
    const result = await finalizeRun(deps.db, {
      runId,
      connectorId: connector.id,
      mode: run.mode,
      skipAdGroups: connector.skip_ad_groups,
      checkpoint: s.checkpoint,
      graphStats: {
        graphRequests: gs.total.requests,
        throttledRequests: gs.total.throttled,
        ru: gs.total.ru,
        graphRetries: gs.total.retries,
        graphBatchCalls: batchCalls,
        graphBatchItems: s.batchItems,
        // Requests as a per-object client would count them: every batch item is one.
        graphRequestsUnbatched: gs.total.requests - batchCalls + s.batchItems,
        attempt: run.attempt,
        // Durations of this attempt (a resumed run times only what it did itself).
        ...timings,
      },
      grantedPermissions: granted,
      missingPermissions: allMissing,
      warnings: [...plan.skipped.values()].map((r) => `Sync ${r}.`),
    });
    publishRunEvent(deps.bus, runId, connector.id, 'SUCCEEDED', null);
    logger.info({ stats: result.stats }, 'sync run succeeded');
    return { status: 'SUCCEEDED', result };
  } catch (err) {
    await progress.stop();
    const reason = ctl.signal.reason;
    if (err instanceof RunCancelled || reason instanceof RunCancelled) {
      await markCancelled(deps, runId, connector.id);
      return { status: 'CANCELLED' };
    }
    if (deps.signal?.aborted) {
      // Shutting down: leave the run RUNNING with its checkpoint; the message is redelivered.
      logger.info('sync run interrupted by shutdown; another worker resumes it');
      throw err;
    }
    const message = describeError(err);
    logger.warn({ err }, 'sync run failed');
    await failRun(
      deps,
      runId,
      connector.id,
      message,
      err instanceof GraphAuthError || err instanceof ConnectorNotReady || err instanceof NothingReadable,
    );
    return { status: 'FAILED', error: message };
  } finally {
    clearInterval(keepAlive);
    deps.signal?.removeEventListener('abort', onShutdown);
  }
}

/** The app's token allows reading none of the object types. */
export class NothingReadable extends Error {}

async function recordSkips(s: RunSession, plan: StagePlan): Promise<void> {
  for (const [stage, reason] of plan.skipped) {
    if (s.stage(stage)?.state === 'skipped') continue;
    await s.saveStage(stage, { state: 'skipped', reason, full: false, processed: 0 });
    await s.log('WARN', `Sync ${reason}.`);
  }
  if (plan.run.has('directoryRoles') && !plan.eligibility && s.stage('directoryRoles')?.state !== 'done') {
    await s.log(
      'WARN',
      'Sync skipped PIM eligibility schedules: the app has no RoleEligibilitySchedule.Read.Directory or RoleManagement read permission; eligible grants are left as they are.',
    );
  }
  if (plan.run.has('appAccess') && (!plan.appAssignments || !plan.appOwners) && s.stage('appAccess')?.state !== 'done') {
    await s.log('WARN', `Sync skipped ${plan.appAssignments ? 'app owners' : 'app role assignments'}: missing permission.`);
  }
}

/**
 * users ∥ groups ∥ (service principals → app access) ∥ (directory roles once users, groups and
 * service principals are written, so their principals resolve from the database). The first
 * failure aborts the others.
 */
async function runStages(
  s: RunSession,
  plan: StagePlan,
  ctl: AbortController,
  timings: Record<string, number>,
  signInInterval: number,
  appAccess: Pick<AppAccessOptions, 'fullReadIntervalSeconds' | 'auditOverlapSeconds'>,
): Promise<void> {
  const stage = async (name: StageName, fn: () => Promise<void>) => {
    if (!plan.run.has(name)) return;
    const t0 = Date.now();
    await fn();
    timings[`ms_${name}`] = Date.now() - t0;
    s.logger.info({ stage: name, ms: Date.now() - t0 }, 'stage done');
  };
  const guard = <T>(p: Promise<T>): Promise<T> =>
    p.catch((err: unknown) => {
      if (!ctl.signal.aborted) ctl.abort(err);
      throw err;
    });
  // Graph reads that need no other stage start at once: the directory audit log (which apps changed)
  // and the directory roles; only writing them waits for the stages below.
  const fresh = (name: StageName) => plan.run.has(name) && s.stage(name) === undefined;
  const appAccessOpts = { ...appAccess, assignments: plan.appAssignments, owners: plan.appOwners };
  const appPlan = fresh('appAccess') ? guard(planAppAccess(s, appAccessOpts)) : undefined;
  const rolesRead = fresh('directoryRoles') ? guard(readDirectoryRoles(s, { eligibility: plan.eligibility })) : undefined;
  appPlan?.catch(() => undefined);
  rolesRead?.catch(() => undefined);
  const users = guard(stage('users', () => syncUsers(s)));
  const groups = guard(stage('groups', () => syncGroups(s)));
  const sps = guard(stage('servicePrincipals', () => syncServicePrincipals(s)));
  const apps = guard(sps.then(() => stage('appAccess', () => syncAppAccess(s, appAccessOpts, appPlan))));
  // Directory roles resolve principal kinds from the rows the first three stages write (unknown ones
  // through Graph); they need not wait for app access. An incremental run's principals are stored
  // already but for the few new ones, so its roles do not wait at all; a full run's would all go to Graph.
  // Sign-in activity patches the users' rows: its pages are read from the start, applied once the users stage is done.
  const signIns = guard(stage('signIns', () => syncSignIns(s, { intervalSeconds: signInInterval, usersWritten: users })));
  const principalsWritten = s.mode === 'INCREMENTAL' ? Promise.resolve() : Promise.all([users, groups, sps]);
  const roles = guard(
    principalsWritten.then(() => stage('directoryRoles', () => syncDirectoryRoles(s, { eligibility: plan.eligibility }, rolesRead))),
  );
  const settled = await Promise.allSettled([users, groups, sps, apps, roles, signIns]);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw ctl.signal.reason instanceof Error ? ctl.signal.reason : failed.reason;
}

export function describeError(err: unknown): string {
  if (err instanceof GraphAuthError) return `Sign-in to Microsoft Entra failed: ${err.code}: ${err.description}`;
  if (err instanceof GraphLinkRefusedError)
    return `Sync stopped: a paging or delta link (from Graph or a stored checkpoint) points to another host; ${err.graphMessage}`;
  if (err instanceof GraphError)
    return `Microsoft Graph answered ${err.status} ${err.code}: ${err.graphMessage}${err.requestId ? ` (request-id ${err.requestId})` : ''}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** FAILED deletes nothing: the rows a partial run wrote are upserts, the deletions were only pending. */
async function failRun(deps: RunDeps, runId: string, connectorId: string, message: string, connectorProblem: boolean): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const res = await trx
      .updateTable('sync_runs')
      .set({ status: 'FAILED', error: message, progress: null, finished_at: sql`clock_timestamp()` })
      .where('id', '=', runId)
      .where('status', '=', 'RUNNING')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) return;
    await trx
      .updateTable('connectors')
      .set({ status: 'ERROR', status_message: message, updated_at: sql`now()` })
      .where('id', '=', connectorId)
      .execute();
    await appendConnectorLog(
      trx,
      connectorId,
      'ERROR',
      `Sync failed${connectorProblem ? '' : ' (nothing was deleted)'}: ${message}`,
      runId,
    );
  });
  publishRunEvent(deps.bus, runId, connectorId, 'FAILED', null);
}

async function markCancelled(deps: RunDeps, runId: string, connectorId: string): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const run = await trx.selectFrom('sync_runs').select(['status']).where('id', '=', runId).executeTakeFirst();
    if (run?.status === 'RUNNING') {
      await trx
        .updateTable('sync_runs')
        .set({ status: 'CANCELLED', progress: null, finished_at: sql`clock_timestamp()` })
        .where('id', '=', runId)
        .execute();
    }
    const c = await trx
      .selectFrom('connectors')
      .select(['status', 'last_full_sync_at', 'last_incremental_sync_at'])
      .where('id', '=', connectorId)
      .executeTakeFirst();
    if (c?.status === 'SYNCING') {
      await trx
        .updateTable('connectors')
        .set({ status: c.last_full_sync_at || c.last_incremental_sync_at ? 'CONNECTED' : 'NOT_CONNECTED', updated_at: sql`now()` })
        .where('id', '=', connectorId)
        .execute();
    }
    if (run) await appendConnectorLog(trx, connectorId, 'WARN', 'Sync cancelled; nothing was deleted.', runId);
  });
  publishRunEvent(deps.bus, runId, connectorId, 'CANCELLED', null);
}
