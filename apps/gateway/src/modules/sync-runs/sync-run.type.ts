import { Extensions, Field, ID, Int, ObjectType } from 'type-graphql';
import { reads } from '../../response-cache/read-scope';
import type { ConnectorLogRow, LogLevel, SyncMode, SyncRunRow, SyncRunStatus, SyncStats as SyncStatsRow } from '@warden/database';
import { connectionTypes } from '../../pagination/connection-types';
import { asDate } from '../shared/dates';
import { LogLevelEnum, SyncModeEnum, SyncRunStatusEnum } from '../shared/enums';
import { DateTimeScalar, JSONScalar } from '../shared/scalars';

@Extensions(reads('sync_runs'))
@ObjectType({ simpleResolvers: true })
export class SyncStats {
  @Field(() => Int) users!: number;
  @Field(() => Int) managedIdentities!: number;
  @Field(() => Int) groups!: number;
  @Field(() => Int) enterpriseApplications!: number;
  @Field(() => Int) directoryRoles!: number;
  @Field(() => Int) grants!: number;
  @Field(() => Int) graphRequests!: number;
  @Field(() => Int) throttledRequests!: number;
  @Field(() => JSONScalar, { description: 'Every counter the run recorded, including ones beyond the fields above.' })
  all!: Record<string, number>;
}

@Extensions(reads('sync_runs'))
@ObjectType({ simpleResolvers: true })
export class SyncRun {
  @Field(() => ID)
  id!: string;

  @Field(() => SyncModeEnum)
  mode!: SyncMode;

  @Field(() => SyncRunStatusEnum)
  status!: SyncRunStatus;

  @Field(() => String, { nullable: true, description: "Human-readable stage, e.g. 'groups: 3,000 / 5,000'." })
  progress!: string | null;

  @Field(() => SyncStats)
  stats!: SyncStats;

  @Field(() => String, { nullable: true })
  error!: string | null;

  @Field(() => String, { nullable: true, description: 'Token subject that requested the run, or null for scheduled runs.' })
  requestedBy!: string | null;

  @Field(() => DateTimeScalar)
  queuedAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true })
  startedAt!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  finishedAt!: Date | null;

  connectorId!: string;
}

export type SyncRunListRow = Pick<
  SyncRunRow,
  'id' | 'connector_id' | 'mode' | 'status' | 'progress' | 'stats' | 'error' | 'requested_by' | 'queued_at' | 'started_at' | 'finished_at'
>;
export const SYNC_RUN_COLUMNS = [
  'id',
  'connector_id',
  'mode',
  'status',
  'progress',
  'stats',
  'error',
  'requested_by',
  'queued_at',
  'started_at',
  'finished_at',
] as const;

function toStats(s: Partial<SyncStatsRow>): SyncStats {
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0);
  const all: Record<string, number> = {};
  for (const [k, v] of Object.entries(s)) if (typeof v === 'number') all[k] = v;
  return {
    users: n(s.users),
    managedIdentities: n(s.managedIdentities),
    groups: n(s.groups),
    enterpriseApplications: n(s.enterpriseApplications),
    directoryRoles: n(s.directoryRoles),
    grants: n(s.grants),
    graphRequests: n(s.graphRequests),
    throttledRequests: n(s.throttledRequests),
    all,
  };
}

/**
 * A SyncRun whose `stats` are read from the row's JSON on first access: a list of connectors with
 * their last run (a dashboard's) maps a run per connector and rarely selects its counters.
 */
const LAZY_RUN: object = Object.create(SyncRun.prototype, {
  stats: {
    enumerable: true,
    get(this: SyncRun & { statsRow: SyncRunListRow['stats']; parsed?: SyncStats }): SyncStats {
      return (this.parsed ??= toStats(this.statsRow ?? {}));
    },
  },
}) as object;

export function toSyncRun(row: SyncRunListRow): SyncRun {
  return Object.assign(Object.create(LAZY_RUN) as SyncRun, {
    id: row.id,
    connectorId: row.connector_id,
    mode: row.mode,
    status: row.status,
    progress: row.progress,
    statsRow: row.stats,
    error: row.error,
    requestedBy: row.requested_by,
    queuedAt: asDate(row.queued_at),
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  });
}

export const { EdgeType: SyncRunEdge, ConnectionType: SyncRunConnection } = connectionTypes(SyncRun, 'SyncRun');

@Extensions(reads('connector_logs'))
@ObjectType({ simpleResolvers: true })
export class ConnectorLogEntry {
  @Field(() => DateTimeScalar)
  at!: Date;

  @Field(() => LogLevelEnum)
  level!: LogLevel;

  @Field(() => String)
  message!: string;

  syncRunId!: string | null;
}

export function toLogEntry(row: Pick<ConnectorLogRow, 'at' | 'level' | 'message' | 'sync_run_id'>): ConnectorLogEntry {
  return { at: asDate(row.at), level: row.level, message: row.message, syncRunId: row.sync_run_id };
}

export const { EdgeType: ConnectorLogEdge, ConnectionType: ConnectorLogConnection } = connectionTypes(ConnectorLogEntry, 'ConnectorLog');
