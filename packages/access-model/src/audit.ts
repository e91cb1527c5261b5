import type { Kysely, Transaction } from 'kysely';
import type { Database } from '@warden/database';

export interface AuditEntry {
  /** Token subject of the caller, or 'system'. */
  actor: string;
  /** e.g. connector.created, grant.requested, grant.succeeded, revoke.failed, grant.expired */
  action: string;
  connectorId?: string | null;
  details?: Record<string, unknown>;
}

/** The only way rows enter the audit log; a trigger refuses updates and deletes. */
export async function appendAudit(db: Kysely<Database> | Transaction<Database>, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({
      actor: entry.actor,
      action: entry.action,
      connector_id: entry.connectorId ?? null,
      details: JSON.stringify(entry.details ?? {}),
    })
    .execute();
}

/** Many audit rows in one statement (a batch of review decisions); same rules as appendAudit. */
export async function appendAuditMany(db: Kysely<Database> | Transaction<Database>, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await db
    .insertInto('audit_events')
    .values(
      entries.map((entry) => ({
        actor: entry.actor,
        action: entry.action,
        connector_id: entry.connectorId ?? null,
        details: JSON.stringify(entry.details ?? {}),
      })),
    )
    .execute();
}
