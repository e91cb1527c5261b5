import type { Kysely, Transaction } from 'kysely';
import { appendAudit, type AuditEntry } from '@warden/access-model';
import type { Database } from '@warden/database';
import type { Caller } from './roles';

/**
 * What an audit row records about the caller besides `actor` (its subject): the Entra object id
 * (`details.actorOid`) when the token carried one. The one place the gateway adds it, for rows it
 * writes itself (appendCallerAudit / callerAudit) and for rows access-model writes on its behalf (requestSync,
 * requestProvisioning: their `auditDetails`).
 */
export function actorDetails(caller: Caller): { actorOid?: string } {
  return caller.oid ? { actorOid: caller.oid } : {};
}

/** An audit entry for an action of `caller`: actor = subject, plus actorDetails in `details`. */
export function callerAudit(caller: Caller, entry: Omit<AuditEntry, 'actor'>): AuditEntry {
  return { ...entry, actor: caller.sub, details: { ...entry.details, ...actorDetails(caller) } };
}

/** appendAudit for an action of `caller` (see callerAudit). */
export function appendCallerAudit(
  db: Kysely<Database> | Transaction<Database>,
  caller: Caller,
  entry: Omit<AuditEntry, 'actor'>,
): Promise<void> {
  return appendAudit(db, callerAudit(caller, entry));
}
