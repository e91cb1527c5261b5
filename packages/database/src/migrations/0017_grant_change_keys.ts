import { sql, type Kysely } from 'kysely';
import { CHANGE_CHANNEL } from '../change-channel';

// 0011 announces a grants change as `grants:<connector>`, so the gateway's response cache retired
// every answer that read grants of that connector: with grants and revokes every few seconds on a
// big connector, no group's holders and no user's access stayed cached. A statement that changed
// the grants of one connector now also names the entitlement keys and principals of the rows it
// changed, appended to the connector list as `e=<entitlement key>` and `p=<principal external id>`:
// `grants:<connector>,e=<key>,…,p=<principal>,…`. A reader that knows this retires only answers
// that read those entitlements' or principals' grants; a reader that does not (0011's parser splits
// on commas) sees a few extra "connectors" besides the real one, and retires what it always did.
// Big statements (a sync's batches), statements over several connectors, and keys that contain a
// comma are announced as before: the reader then retires every grants answer of the connector.
const MAX_PAYLOAD = 7_000; // NOTIFY payloads must stay below 8,000 bytes
// A sync batch names thousands of rows: building a detail that cannot fit would be wasted work.
const MAX_DETAILED_ROWS = 200;

function rowsOf(op: 'INSERT' | 'DELETE' | 'UPDATE'): string {
  const cols = 'connector_id, entitlement_key, principal_external_id';
  if (op === 'INSERT') return `SELECT ${cols} FROM new_rows`;
  if (op === 'DELETE') return `SELECT ${cols} FROM old_rows`;
  return `SELECT ${cols} FROM old_rows UNION ALL SELECT ${cols} FROM new_rows`;
}

function branch(op: 'INSERT' | 'DELETE' | 'UPDATE'): string {
  // Transition tables exist only for their event, so each branch names its own (plpgsql plans a
  // statement the first time it runs, so the other branches' tables are never looked up).
  return `
      SELECT string_agg(DISTINCT coalesce(connector_id::text, '*'), ','), count(*),
          bool_or(position(',' IN entitlement_key) > 0 OR position(',' IN principal_external_id) > 0)
        INTO ids, n, commas FROM (${rowsOf(op)}) r;
      IF n <= ${MAX_DETAILED_ROWS} AND NOT commas AND position(',' IN ids) = 0 AND ids <> '*' THEN
        SELECT string_agg(k, ',') INTO detail FROM (
          SELECT 'e=' || entitlement_key AS k FROM (${rowsOf(op)}) r
          UNION SELECT 'p=' || principal_external_id FROM (${rowsOf(op)}) r) s;
      END IF;`;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION warden_notify_grants_rows() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE ids text; n bigint; commas boolean; detail text;
    BEGIN
      IF TG_OP = 'INSERT' THEN ${sql.raw(branch('INSERT'))}
      ELSIF TG_OP = 'DELETE' THEN ${sql.raw(branch('DELETE'))}
      ELSE ${sql.raw(branch('UPDATE'))}
      END IF;
      IF ids IS NULL THEN RETURN NULL; END IF;
      IF position('*' IN ids) > 0 OR length(ids) > ${sql.raw(String(MAX_PAYLOAD))} THEN
        PERFORM pg_notify(${sql.lit(CHANGE_CHANNEL)}, TG_TABLE_NAME);
      ELSIF detail IS NOT NULL AND length(ids) + length(detail) < ${sql.raw(String(MAX_PAYLOAD))} THEN
        PERFORM pg_notify(${sql.lit(CHANGE_CHANNEL)}, TG_TABLE_NAME || ':' || ids || ',' || detail);
      ELSE
        PERFORM pg_notify(${sql.lit(CHANGE_CHANNEL)}, TG_TABLE_NAME || ':' || ids);
      END IF;
      RETURN NULL;
    END $$`.execute(db);
  await pointGrantsTriggersAt(db, 'warden_notify_grants_rows');
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await pointGrantsTriggersAt(db, 'warden_notify_rows_by_connector_id');
  await sql`DROP FUNCTION warden_notify_grants_rows()`.execute(db);
}

/** Re-creates grants' three statement triggers on `fn` (up: this migration's; down: 0011's). */
async function pointGrantsTriggersAt(db: Kysely<unknown>, fn: string): Promise<void> {
  for (const event of ['insert', 'update', 'delete'] as const) {
    await sql`DROP TRIGGER ${sql.raw(`grants_notify_${event}`)} ON grants`.execute(db);
    const refs =
      event === 'insert'
        ? 'NEW TABLE AS new_rows'
        : event === 'delete'
          ? 'OLD TABLE AS old_rows'
          : 'OLD TABLE AS old_rows NEW TABLE AS new_rows';
    await sql`CREATE TRIGGER ${sql.raw(`grants_notify_${event}`)} AFTER ${sql.raw(event.toUpperCase())} ON grants
      REFERENCING ${sql.raw(refs)} FOR EACH STATEMENT EXECUTE FUNCTION ${sql.raw(`${fn}()`)}`.execute(db);
  }
}
