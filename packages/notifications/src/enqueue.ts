import type { Kysely, Transaction } from 'kysely';
import type { Database } from '@warden/database';

/** A platform token subject and/or a USER `resources.id`; at least one of the two. */
export interface NotificationRecipient {
  subject?: string | null;
  resourceId?: string | null;
}

/** What a workflow asks to be told to people (see NOTIFICATION_KINDS for the kinds in use). */
export interface NotificationInput {
  /** e.g. 'request.awaiting_decision', 'request.decided', 'access.expiring', 'review.reminder'. */
  kind: string;
  recipients: NotificationRecipient[];
  title: string;
  text: string;
  link?: string | null;
  data?: Record<string, unknown>;
  /** Same key → enqueued once, however often the caller (a timer, a retried handler) runs. */
  dedupeKey: string;
}

/** The kinds issues 14 and 15 send; `kind` is free text so a new workflow needs no change here. */
export const NOTIFICATION_KINDS = [
  'request.awaiting_decision',
  'request.decided',
  'request.escalated',
  'access.expiring',
  'review.started',
  'review.reminder',
  'review.escalated',
] as const;

export class NotificationInputError extends Error {
  override readonly name = 'NotificationInputError';
}

const MAX_TITLE = 300;
const MAX_TEXT = 10_000;
const MAX_RECIPIENTS = 1_000;

/**
 * Writes the notification to the outbox, once per `dedupeKey`; true when this call enqueued it.
 * Call it with the caller's own transaction (outbox pattern): the notification then exists iff the
 * state change it announces committed, and the governance worker delivers it afterwards.
 * Recipients are stored as given (without duplicates) and resolved to addresses at delivery time.
 */
export async function enqueueNotification(db: Kysely<Database> | Transaction<Database>, input: NotificationInput): Promise<boolean> {
  const recipients = normalizeRecipients(input.recipients);
  if (!input.kind.trim()) throw new NotificationInputError('a notification needs a kind');
  if (!input.dedupeKey.trim()) throw new NotificationInputError('a notification needs a dedupeKey');
  if (!input.title.trim()) throw new NotificationInputError('a notification needs a title');
  if (input.title.length > MAX_TITLE) throw new NotificationInputError(`a notification title has at most ${MAX_TITLE} characters`);
  if (input.text.length > MAX_TEXT) throw new NotificationInputError(`a notification text has at most ${MAX_TEXT} characters`);
  // The link becomes an <a href> in emails and a field receivers may open: an absolute http(s) URL only.
  if (input.link && !/^https?:\/\/[^\s]+$/i.test(input.link))
    throw new NotificationInputError('a notification link must be an http(s) URL');
  if (recipients.length > MAX_RECIPIENTS) throw new NotificationInputError(`a notification has at most ${MAX_RECIPIENTS} recipients`);
  const inserted = await db
    .insertInto('notifications')
    .values({
      kind: input.kind,
      dedupe_key: input.dedupeKey,
      recipients: JSON.stringify(recipients),
      title: input.title,
      text: input.text,
      link: input.link ?? null,
      data: JSON.stringify(input.data ?? {}),
    })
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted !== undefined;
}

/** Drops empty entries and duplicates; refuses a recipient with neither a subject nor a resource id. */
function normalizeRecipients(recipients: NotificationRecipient[]): { subject: string | null; resourceId: string | null }[] {
  const seen = new Set<string>();
  const out: { subject: string | null; resourceId: string | null }[] = [];
  for (const r of recipients) {
    const subject = r.subject?.trim() || null;
    const resourceId = r.resourceId?.trim() || null;
    if (!subject && !resourceId) throw new NotificationInputError('a notification recipient needs a subject or a resourceId');
    const key = `${subject ?? ''}\u0000${resourceId ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ subject, resourceId });
  }
  return out;
}
