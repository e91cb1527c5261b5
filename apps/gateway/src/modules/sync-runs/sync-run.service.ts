import { sql } from 'kysely';
import { requestSync, SyncRefused } from '@warden/access-model';
import type { SyncRunUpdated } from '@warden/bus';
import { type Database, type SyncMode, type SyncRunRow } from '@warden/database';
import { actorDetails } from '../../auth/audit-actor';
import type { Caller } from '../../auth/roles';
import type { GatewayDeps } from '../../context';
import type { ConnectorService } from '../connectors/connector.service';
import { BadUserInputError, ConflictError, NotFoundError } from '../../errors';
import { decodeCursor, isUuid, pageSize } from '../../pagination/cursor';
import { isTimestampKey, timestampKey } from '../../pagination/keyset';
import { knownTotal, toPage, totalColumn, type PageResult } from '../../pagination/page';
import { Statements } from '../../execution/statements';
import { eventStream } from '../../subscriptions/event-stream';
import { SYNC_RUN_COLUMNS, toLogEntry, toSyncRun, type ConnectorLogEntry, type SyncRun, type SyncRunListRow } from './sync-run.type';

export class SyncRunService {
  private readonly statements: Statements<Database>;

  constructor(
    private readonly deps: GatewayDeps,
    /** Owns the connector ownership check a sync request needs. */
    private readonly connectors: ConnectorService,
  ) {
    this.statements = new Statements(deps.db);
  }

  /**
   * Newest first: (queued_at, id) descending. `withCount`: the client selected totalCount, so the page
   * statement carries it (one round trip instead of the page and then the count). Built once per
   * shape (see Statements).
   */
  async listForConnector(
    connectorId: string,
    first: number | null | undefined,
    after: string | null | undefined,
    withCount = false,
  ): Promise<PageResult<SyncRun>> {
    const limit = pageSize(first);
    const cursor = decodeCursor(after, ['string', 'string']);
    if (cursor && (!isTimestampKey(cursor[0] as string) || !isUuid(cursor[1] as string)))
      throw new BadUserInputError('`after` is not a cursor returned by this API');
    const db = this.deps.db;
    const count = (c: string) =>
      db
        .selectFrom('sync_runs')
        .where('connector_id', '=', c)
        .select((eb) => eb.fn.countAll<string>().as('n'));
    const P = Statements.param;
    const build = () => {
      let q = db
        .selectFrom('sync_runs')
        .select([...SYNC_RUN_COLUMNS, timestampKey('queued_at').as('queued_key')])
        .select(totalColumn(withCount ? count(P<string>(0)) : null))
        .where('connector_id', '=', P<string>(0));
      if (cursor) q = q.where(sql<boolean>`(queued_at, id) < (${P(1)}::timestamptz, ${P(2)}::uuid)`);
      return q.orderBy('queued_at', 'desc').orderBy('id', 'desc').limit(P<number>(3));
    };
    const values = [connectorId, cursor?.[0] ?? null, cursor?.[1] ?? null, limit + 1];
    const rows = (await this.statements.run(`syncRuns:${withCount}:${cursor !== null}`, build, values)).rows;
    return toPage(
      rows,
      limit,
      (r) => [r.queued_key, r.id],
      toSyncRun,
      async () => Number((await count(connectorId).executeTakeFirstOrThrow()).n),
      knownTotal(rows),
    );
  }

  /** Newest first by id. */
  async logs(
    connectorId: string,
    first: number | null | undefined,
    after: string | null | undefined,
  ): Promise<PageResult<ConnectorLogEntry>> {
    const limit = pageSize(first);
    const cursor = decodeCursor(after, ['number']);
    const db = this.deps.db;
    let q = db.selectFrom('connector_logs').select(['id', 'at', 'level', 'message', 'sync_run_id']).where('connector_id', '=', connectorId);
    if (cursor) q = q.where('id', '<', String(cursor[0]));
    const rows = await q
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    return toPage(
      rows,
      limit,
      (r) => [Number(r.id)],
      toLogEntry,
      async () => {
        const r = await db
          .selectFrom('connector_logs')
          .where('connector_id', '=', connectorId)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        return Number(r.n);
      },
    );
  }

  /** The connector's sync run events from NATS (any replica's), for Subscription.syncRunUpdated. */
  updates(connectorId: string): AsyncIterableIterator<SyncRunUpdated> {
    if (!isUuid(connectorId)) throw new NotFoundError(`connector ${connectorId} does not exist`);
    return eventStream<SyncRunUpdated>((push) => this.deps.bus.subscribeSyncRunUpdated(connectorId, push));
  }

  /** The run an event is about, as it is now; when it is gone (its connector was deleted), what the event says. */
  async forEvent(event: SyncRunUpdated): Promise<SyncRunListRow> {
    const row = await this.deps.db.selectFrom('sync_runs').select(SYNC_RUN_COLUMNS).where('id', '=', event.runId).executeTakeFirst();
    if (row) return row;
    const at = new Date(event.at);
    return {
      id: event.runId,
      connector_id: event.connectorId,
      mode: 'FULL',
      status: event.status,
      progress: event.progress,
      stats: {},
      error: null,
      requested_by: null,
      queued_at: at as never,
      started_at: null,
      finished_at: event.status === 'QUEUED' || event.status === 'RUNNING' ? null : at,
    };
  }

  /**
   * Inserts a QUEUED run, or returns the queued/running one (the partial unique index
   * sync_runs_one_active_idx settles races between gateway replicas), and publishes SyncRequested.
   */
  async trigger(caller: Caller | null, connectorId: string, mode: SyncMode): Promise<SyncRunRow> {
    // The caller may change this connector (NOT_FOUND before FORBIDDEN).
    const { who } = await this.connectors.authorizeWrite(caller, connectorId);
    try {
      const { run } = await requestSync(this.deps.db, this.deps.bus, {
        connectorId,
        mode,
        requestedBy: who.sub,
        audit: true,
        auditDetails: actorDetails(who),
      });
      return run;
    } catch (err) {
      // An OAUTH connector without a verified admin consent: CONFLICT (the connector's state, not the
      // request, is what is wrong; it can be retried once consent is complete).
      if (err instanceof SyncRefused)
        throw err.code === 'CONNECTOR_NOT_FOUND' ? new NotFoundError(err.message) : new ConflictError(err.message);
      throw err;
    }
  }
}
