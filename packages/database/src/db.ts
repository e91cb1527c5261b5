import {
  Kysely,
  Migrator,
  PostgresDialect,
  type Migration,
  type MigrationProvider,
  type PostgresPool,
  type PostgresPoolClient,
} from 'kysely';
import pg from 'pg';
import type { Database } from './database';
import * as m0001 from './migrations/0001_initial';
import * as m0002 from './migrations/0002_change_notifications';
import * as m0003 from './migrations/0003_oauth_consent';
import * as m0004 from './migrations/0004_provisioning_keys';
import * as m0005 from './migrations/0005_audit_hardening';
import * as m0006 from './migrations/0006_browser_sessions';
import * as m0007 from './migrations/0007_notifications';
import * as m0008 from './migrations/0008_access_requests';
import * as m0009 from './migrations/0009_access_reviews';
import * as m0010 from './migrations/0010_review_items_bulk';
import * as m0011 from './migrations/0011_change_notifications_per_connector';
import * as m0012 from './migrations/0012_sync_rows_bulk';
import * as m0013 from './migrations/0013_resources_search_covering';
import * as m0014 from './migrations/0014_review_items_id_default';
import * as m0015 from './migrations/0015_provisioning_revokes_recent';
import * as m0016 from './migrations/0016_resources_signin_hot';
import * as m0017 from './migrations/0017_grant_change_keys';
import * as m0018 from './migrations/0018_resource_gram_counts';
import * as m0019 from './migrations/0019_gram_counts_from_writer';

// int8 (bigserial ids, counts) as string would leak into every caller; these values stay < 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_change_notifications': m0002,
  '0003_oauth_consent': m0003,
  '0004_provisioning_keys': m0004,
  '0005_audit_hardening': m0005,
  '0006_browser_sessions': m0006,
  '0007_notifications': m0007,
  '0008_access_requests': m0008,
  '0009_access_reviews': m0009,
  '0010_review_items_bulk': m0010,
  '0011_change_notifications_per_connector': m0011,
  '0012_sync_rows_bulk': m0012,
  '0013_resources_search_covering': m0013,
  '0014_review_items_id_default': m0014,
  '0015_provisioning_revokes_recent': m0015,
  '0016_resources_signin_hot': m0016,
  '0017_grant_change_keys': m0017,
  '0018_resource_gram_counts': m0018,
  '0019_gram_counts_from_writer': m0019,
};

class StaticMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

export interface DbOptions {
  connectionString: string;
  /** Pool size; workers and the gateway size it to their concurrency. */
  max?: number;
  applicationName?: string;
  onIdleError?: (err: Error) => void;
  /**
   * Up to this many distinct SELECT texts become named (server-side prepared) statements, parsed and
   * planned once per connection instead of on every execution. For read-heavy services that repeat a
   * small set of statements (the gateway); 0, the default, sends every statement unnamed.
   */
  preparedStatements?: number;
  /**
   * How long an idle connection stays open (pg's default: 10 s; 0 = until the pool ends). A new
   * connection is a new server process that loads its catalog caches, compiles the trigger functions
   * and plans from nothing: a service that works in bursts minutes apart (scheduled syncs) pays that
   * on every burst unless its connections outlive the gap.
   */
  idleTimeoutMs?: number;
  /**
   * `synchronous_commit = off` on every connection: a commit returns before its WAL reaches disk. For
   * writers whose rows can be written again from their source (the sync worker re-reads Graph), never
   * for decisions, audit or provisioning. Postgres keeps such commits atomic and in order, and any
   * later ordinary commit flushes them with its own, so a crash can lose the last fraction of a second
   * of them and nothing a durable transaction relied on. What it buys besides the fsync: a transaction
   * that sent a NOTIFY (every write here, through the change triggers) holds Postgres' database-wide
   * notification lock from its commit until the commit is flushed, and every other notifying commit —
   * the gateway's change-feed markers, which cache hits wait for, and provisioning's writes — queues
   * behind it.
   */
  asyncCommit?: boolean;
}

/** The pg pool behind each Kysely instance createDb made (not behind its transactions). */
const POOLS = new WeakMap<Kysely<Database>, pg.Pool>();

/**
 * The pg pool behind a Kysely instance from createDb, for what Kysely cannot do (COPY streams);
 * null for anything else (a transaction, another dialect). Clients taken from it must be released.
 */
export function pgPoolOf(db: Kysely<Database>): pg.Pool | null {
  return POOLS.get(db) ?? null;
}

export function createDb(opts: DbOptions): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'warden',
    ...(opts.asyncCommit ? { options: '-c synchronous_commit=off' } : {}),
    ...(opts.idleTimeoutMs === undefined ? {} : { idleTimeoutMillis: opts.idleTimeoutMs }),
  });
  // An idle connection dropped by the server (restart, failover, shutdown) is reported on the pool;
  // without a listener Node would crash the whole service. The next query reconnects or fails loudly.
  pool.on('error', (err) => opts.onIdleError?.(err));
  // A connection checked out and held between queries (an advisory-lock session around a Graph call,
  // a sync run's lock) gets no pool listener: when the server ends it (pg_terminate_backend, a
  // restart), its 'error' event would crash the process. The holder's next query fails instead.
  pool.on('connect', (client) => client.on('error', (err) => opts.onIdleError?.(err)));
  const prepared = opts.preparedStatements ?? 0;
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: prepared > 0 ? preparingPool(pool, prepared) : pool }) });
  POOLS.set(db, pool);
  return db;
}

/** The pool as Kysely sees it, naming the first `maxNames` distinct SELECT texts. */
function preparingPool(pool: pg.Pool, maxNames: number): PostgresPool {
  // One name per text for the whole process, so a connection never sees a name with two texts.
  const names = new Map<string, string>();
  const nameFor = (text: string): string | undefined => {
    let name = names.get(text);
    if (name === undefined && names.size < maxNames && /^\s*select\b/i.test(text)) {
      name = `warden_${names.size}`;
      names.set(text, name);
    }
    return name;
  };
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      const query = (q: unknown, parameters?: ReadonlyArray<unknown>): unknown => {
        if (typeof q !== 'string') return client.query(q as pg.Submittable);
        const name = nameFor(q);
        return client.query(name ? { name, text: q, values: parameters as unknown[] } : { text: q, values: parameters as unknown[] });
      };
      return { query: query as PostgresPoolClient['query'], release: (destroy?: boolean) => client.release(destroy) };
    },
    end: () => pool.end(),
  };
}

/**
 * Brings the schema up to date. Kysely's Postgres migrator serialises concurrent callers with an
 * advisory lock, so every service can call this at start even when several start at once.
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new StaticMigrationProvider() });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    const msg = error instanceof Error ? error.message : String(error);
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${msg}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
