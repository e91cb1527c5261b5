import { sql, type Kysely } from 'kysely';

// 0018's statement trigger counts an INSERT's grams by unnesting every new row's `search_grams` and
// aggregating them: at L's first sync ~3 million grams for 50,000 users, ~1 of the ~4.3 CPU-s the
// users' inserts cost Postgres (bench/sync/replay-resources.sh: 4.0–4.7 CPU-s with the trigger,
// 3.1–3.5 with the counts sent by the writer). The sync worker already computes
// each row's grams; on a first write, where every row of a batch is new, it sends the batch's counts
// and tells the trigger to leave that statement to it: `warden.grams_counted = on`, set local to the
// transaction just before its INSERT and cleared by the trigger, so only that one statement is skipped
// and any other INSERT in the transaction is counted as before.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION warden_count_grams_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF coalesce(current_setting('warden.grams_counted', true), '') = 'on' THEN
        PERFORM set_config('warden.grams_counted', '', true);
        RETURN NULL;
      END IF;
      -- 0018's INSERT branch (a trigger function cannot call another).
      INSERT INTO resource_gram_counts AS c (connector_id, type, gram, n)
      SELECT connector_id, type, b, count(*) FROM new_rows, unnest(search_grams) b GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
      ON CONFLICT (connector_id, type, gram) DO UPDATE SET n = c.n + excluded.n;
      RETURN NULL;
    END $$`.execute(db);
  await pointInsertTriggerAt(db, 'warden_count_grams_inserted');
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await pointInsertTriggerAt(db, 'warden_count_grams');
  await sql`DROP FUNCTION warden_count_grams_inserted()`.execute(db);
}

async function pointInsertTriggerAt(db: Kysely<unknown>, fn: string): Promise<void> {
  await sql`DROP TRIGGER resources_grams_insert ON resources`.execute(db);
  await sql`
    CREATE TRIGGER resources_grams_insert AFTER INSERT ON resources REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ${sql.raw(fn)}()`.execute(db);
}
