import { sql, type Kysely } from 'kysely';
import { CHANGE_CHANNEL, CONNECTOR_COLUMN, SERVED_TABLES } from '../change-channel';

// 0002 announced only which table changed, so a reader that caches had to drop everything on any
// write (a sync of one connector emptied the gateway's cache for all of them). Now each statement
// announces `<table>:<connector id>[,<connector id>…]`, read from the rows it changed (transition
// tables), so writers need to do nothing for it: see change-channel.ts for the payload contract.
// A statement that changed no row announces nothing; TRUNCATE, and rows without a connector, announce
// the bare table name (every connector).
const MAX_PAYLOAD = 7_000; // NOTIFY payloads must stay below 8,000 bytes

function body(rows: string, column: string): string {
  return `SELECT string_agg(c, ',') INTO ids FROM (SELECT coalesce(${column}::text, '*') AS c FROM ${rows} GROUP BY 1) s`;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const column of ['connector_id', 'id']) {
    const update = `SELECT string_agg(c, ',') INTO ids FROM (SELECT coalesce(${column}::text, '*') AS c FROM old_rows
        UNION SELECT coalesce(${column}::text, '*') FROM new_rows) s`;
    await sql`
      CREATE FUNCTION ${sql.raw(`warden_notify_rows_by_${column}`)}() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE ids text;
      BEGIN
        IF TG_OP = 'INSERT' THEN ${sql.raw(body('new_rows', column))};
        ELSIF TG_OP = 'DELETE' THEN ${sql.raw(body('old_rows', column))};
        ELSE ${sql.raw(update)};
        END IF;
        IF ids IS NULL THEN RETURN NULL; END IF;
        IF position('*' IN ids) > 0 OR length(ids) > ${sql.raw(String(MAX_PAYLOAD))} THEN
          PERFORM pg_notify(${sql.lit(CHANGE_CHANNEL)}, TG_TABLE_NAME);
        ELSE
          PERFORM pg_notify(${sql.lit(CHANGE_CHANNEL)}, TG_TABLE_NAME || ':' || ids);
        END IF;
        RETURN NULL;
      END $$`.execute(db);
  }
  for (const table of SERVED_TABLES) {
    const fn = sql.raw(`warden_notify_rows_by_${CONNECTOR_COLUMN[table]}`);
    await sql`DROP TRIGGER ${sql.raw(`${table}_notify_change`)} ON ${sql.table(table)}`.execute(db);
    // Transition tables need one trigger per event.
    await sql`CREATE TRIGGER ${sql.raw(`${table}_notify_insert`)} AFTER INSERT ON ${sql.table(table)}
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`.execute(db);
    await sql`CREATE TRIGGER ${sql.raw(`${table}_notify_update`)} AFTER UPDATE ON ${sql.table(table)}
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`.execute(db);
    await sql`CREATE TRIGGER ${sql.raw(`${table}_notify_delete`)} AFTER DELETE ON ${sql.table(table)}
      REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`.execute(db);
    await sql`CREATE TRIGGER ${sql.raw(`${table}_notify_truncate`)} AFTER TRUNCATE ON ${sql.table(table)}
      FOR EACH STATEMENT EXECUTE FUNCTION warden_notify_change()`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of SERVED_TABLES) {
    for (const event of ['insert', 'update', 'delete', 'truncate'])
      await sql`DROP TRIGGER IF EXISTS ${sql.raw(`${table}_notify_${event}`)} ON ${sql.table(table)}`.execute(db);
    await sql`
      CREATE TRIGGER ${sql.raw(`${table}_notify_change`)} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${sql.table(table)}
      FOR EACH STATEMENT EXECUTE FUNCTION warden_notify_change()`.execute(db);
  }
  for (const column of ['connector_id', 'id'])
    await sql`DROP FUNCTION IF EXISTS ${sql.raw(`warden_notify_rows_by_${column}`)}()`.execute(db);
}
