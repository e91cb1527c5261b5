import { sql, type Kysely } from 'kysely';
import { CHANGE_CHANNEL, SERVED_TABLES } from '../change-channel';

// Readers that cache what they served (the gateway's response cache) must learn of every committed
// change. NOTIFY is delivered only after commit and in commit order, which is exactly the ordering a
// cache needs; a statement-level trigger costs one notification per statement (Postgres folds equal
// payloads within a transaction), so the sync worker's bulk upserts stay cheap.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION warden_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify(${sql.lit(CHANGE_CHANNEL)}, TG_TABLE_NAME);
      RETURN NULL;
    END $$`.execute(db);
  for (const table of SERVED_TABLES) {
    await sql`
      CREATE TRIGGER ${sql.raw(`${table}_notify_change`)} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${sql.table(table)}
      FOR EACH STATEMENT EXECUTE FUNCTION warden_notify_change()`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of SERVED_TABLES)
    await sql`DROP TRIGGER IF EXISTS ${sql.raw(`${table}_notify_change`)} ON ${sql.table(table)}`.execute(db);
  await sql`DROP FUNCTION IF EXISTS warden_notify_change()`.execute(db);
}
