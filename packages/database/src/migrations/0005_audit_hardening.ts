import { sql, type Kysely } from 'kysely';

// 0001's row trigger refuses UPDATE and DELETE on audit_events, but row triggers never fire for
// TRUNCATE, which empties the table in one statement. A statement-level BEFORE TRUNCATE trigger
// closes that. DROP TABLE / DROP DATABASE (test teardown, `down`) are not TRUNCATE and still work.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION audit_events_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_events is append-only: TRUNCATE is refused';
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_no_truncate()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events`.execute(db);
  await sql`DROP FUNCTION IF EXISTS audit_events_no_truncate()`.execute(db);
}
