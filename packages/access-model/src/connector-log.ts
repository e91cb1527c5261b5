import type { Kysely, Transaction } from 'kysely';
import type { Database, LogLevel } from '@warden/database';

/** A line an administrator reads in the connector's log (never secrets, never stack traces). */
export async function appendConnectorLog(
  db: Kysely<Database> | Transaction<Database>,
  connectorId: string,
  level: LogLevel,
  message: string,
  syncRunId: string | null = null,
): Promise<void> {
  await db.insertInto('connector_logs').values({ connector_id: connectorId, level, message, sync_run_id: syncRunId }).execute();
}
