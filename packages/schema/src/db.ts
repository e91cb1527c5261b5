import { Kysely, Migrator, PostgresDialect, type Migration, type MigrationProvider } from 'kysely';
import pg from 'pg';
import type { Database } from './database';
import * as m0001 from './migrations/0001_initial';
import * as m0002 from './migrations/0002_change_notifications';

// int8 (bigserial ids, counts) as string would leak into every caller; these values stay < 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_change_notifications': m0002,
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
}

export function createDb(opts: DbOptions): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'warden',
  });
  // An idle connection dropped by the server (restart, failover, shutdown) is reported on the pool;
  // without a listener Node would crash the whole service. The next query reconnects or fails loudly.
  pool.on('error', (err) => opts.onIdleError?.(err));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
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
