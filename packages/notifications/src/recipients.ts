import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, NotificationRecipientJson } from '@warden/database';
import type { ResolvedRecipient } from './channel';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Deliberately simple: one @, no spaces, a dot in the domain. Anything stricter is the mail server's job.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function isEmailAddress(value: string): boolean {
  return EMAIL.test(value);
}

/**
 * The addresses of each recipient — the one rule, documented in the package README:
 * - `resourceId` (a USER resource): its profile `mail`, or its `userPrincipalName` when it has no mail.
 * - `subject` (a platform token subject): the USER identities linked to it the way the gateway's `me`
 *   links a caller — the `tid`/`oid` of the subject's most recent browser session, matched to USER
 *   resources of connectors whose tenant is that `tid` (typed or consented) and whose object id is
 *   that `oid` — each contributing its mail / userPrincipalName as above. A subject with no such link
 *   is used itself when it is an email address.
 * A recipient for whom nothing is found keeps `emails: []`: the webhook still names it, email skips it.
 */
export async function resolveRecipients(
  db: Kysely<Database> | Transaction<Database>,
  recipients: NotificationRecipientJson[],
): Promise<ResolvedRecipient[]> {
  const out: ResolvedRecipient[] = [];
  for (const r of recipients) {
    const subject = r.subject ?? null;
    const resourceId = r.resourceId ?? null;
    const emails: string[] = [];
    let displayName: string | null = null;
    if (resourceId && UUID.test(resourceId)) {
      const row = await db
        .selectFrom('resources')
        .select(['display_name', 'profile'])
        .where('id', '=', resourceId)
        .where('type', '=', 'USER')
        .executeTakeFirst();
      if (row) {
        displayName = row.display_name;
        pushAddress(emails, row.profile);
      }
    }
    if (subject) {
      const linked = await linkedIdentities(db, subject);
      for (const row of linked) {
        displayName ??= row.display_name;
        pushAddress(emails, row.profile);
      }
      if (linked.length === 0 && isEmailAddress(subject)) pushUnique(emails, subject);
    }
    out.push({ subject, resourceId, displayName, emails });
  }
  return out;
}

async function linkedIdentities(db: Kysely<Database> | Transaction<Database>, subject: string) {
  const session = await db
    .selectFrom('browser_sessions')
    .select(['tid', 'oid'])
    .where('subject', '=', subject)
    .where('tid', 'is not', null)
    .where('oid', 'is not', null)
    .orderBy('last_seen_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!session?.tid || !session.oid) return [];
  const tid = session.tid.toLowerCase();
  return db
    .selectFrom('resources as r')
    .innerJoin('connectors as c', 'c.id', 'r.connector_id')
    .select(['r.display_name', 'r.profile'])
    .where('r.type', '=', 'USER')
    .where('r.external_id', '=', session.oid)
    .where((eb) => eb.or([eb(sql<string>`lower(c.tenant_id)`, '=', tid), eb(sql<string>`lower(c.consented_tenant_id)`, '=', tid)]))
    .orderBy('c.id')
    .execute();
}

function pushAddress(emails: string[], profile: Record<string, unknown>): void {
  const mail = typeof profile['mail'] === 'string' ? profile['mail'].trim() : '';
  const upn = typeof profile['userPrincipalName'] === 'string' ? profile['userPrincipalName'].trim() : '';
  const address = isEmailAddress(mail) ? mail : isEmailAddress(upn) ? upn : null;
  if (address) pushUnique(emails, address);
}

function pushUnique(emails: string[], address: string): void {
  if (!emails.some((e) => e.toLowerCase() === address.toLowerCase())) emails.push(address);
}
