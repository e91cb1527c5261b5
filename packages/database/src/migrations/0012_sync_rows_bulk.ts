import { sql, type Kysely } from 'kysely';

// The sync worker writes a full L tenant (650k grants) in set-based batches; profiling those batches
// showed per-row work that is not about the data:
// - the foreign keys of resources, entitlements and grants to connectors ran one RI query per inserted
//   row (a plan execution and a FOR KEY SHARE lock each): about a fifth of the INSERTs' CPU. Now one
//   statement-level trigger per table checks the connectors of all the statement's rows at once, with
//   the same lock (FOR KEY SHARE on each referenced connector, so a concurrent DELETE of the connector
//   waits for the writer and then removes its rows) and the same error code (23503); a statement-level
//   trigger on connectors deletes their rows instead of ON DELETE CASCADE (as 0010 did for review items).
// - grants ids were random uuids, so two of the table's five indexes (the primary key and
//   (connector_id, id)) took every insert at a random leaf: with 650k rows those indexes do not stay
//   in shared buffers. Ids are now time-ordered (UUID version 7 layout: 48 bits of Unix milliseconds,
//   then random bits), so new rows go to the right-hand edge of both. Ids stay opaque; pages by id now
//   list grants roughly in creation order.
// - a full sync writes every user and then, in the sign-in stage, patches each user's profile: with
//   full pages every such UPDATE wrote a new row version in another page and new entries in all five
//   indexes of resources (one a trigram GIN). Pages of resources now keep a quarter free, so those
//   updates (and incremental profile changes) stay on their page without index entries (HOT).
const TABLES = ['resources', 'entitlements', 'grants'] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION warden_time_ordered_uuid() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
      SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
        PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
    $$`.execute(db);
  await sql`ALTER TABLE grants ALTER COLUMN id SET DEFAULT warden_time_ordered_uuid()`.execute(db);
  await sql`ALTER TABLE resources SET (fillfactor = 75)`.execute(db);

  await sql`
    CREATE FUNCTION warden_rows_connectors_exist() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE ids uuid[]; locked int; missing uuid;
    BEGIN
      -- What the foreign key's per-row check did, once per statement: lock the referenced connectors
      -- against deletion until commit, then refuse rows whose connector does not exist.
      IF TG_LEVEL = 'ROW' THEN
        ids := ARRAY[NEW.connector_id];
      ELSE
        SELECT array_agg(DISTINCT connector_id) INTO ids FROM new_rows;
      END IF;
      PERFORM 1 FROM connectors c WHERE c.id = ANY(ids) FOR KEY SHARE OF c;
      GET DIAGNOSTICS locked = ROW_COUNT;
      IF locked < coalesce(cardinality(ids), 0) THEN
        SELECT i INTO missing FROM unnest(ids) i WHERE NOT EXISTS (SELECT 1 FROM connectors c WHERE c.id = i) LIMIT 1;
      END IF;
      IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'insert or update on table "%" violates its reference to connectors', TG_TABLE_NAME
          USING ERRCODE = 'foreign_key_violation', DETAIL = format('Key (connector_id)=(%s) is not present in table "connectors".', missing),
                TABLE = TG_TABLE_NAME, COLUMN = 'connector_id';
      END IF;
      RETURN NULL;
    END $$`.execute(db);
  for (const table of TABLES) {
    await sql`ALTER TABLE ${sql.table(table)} DROP CONSTRAINT ${sql.raw(`${table}_connector_id_fkey`)}`.execute(db);
    await sql`CREATE TRIGGER ${sql.raw(`${table}_connector_exists_insert`)} AFTER INSERT ON ${sql.table(table)}
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION warden_rows_connectors_exist()`.execute(db);
    // Writers never move a row to another connector: an UPDATE is checked per row, and only when it
    // does (the WHEN clause calls no function for the others; transition tables allow no column list).
    await sql`CREATE TRIGGER ${sql.raw(`${table}_connector_exists_update`)} AFTER UPDATE OF connector_id ON ${sql.table(table)}
      FOR EACH ROW WHEN (OLD.connector_id IS DISTINCT FROM NEW.connector_id) EXECUTE FUNCTION warden_rows_connectors_exist()`.execute(db);
  }
  await sql`
    CREATE FUNCTION connectors_delete_sync_rows() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM grants g USING gone c WHERE g.connector_id = c.id;
      DELETE FROM entitlements e USING gone c WHERE e.connector_id = c.id;
      DELETE FROM resources r USING gone c WHERE r.connector_id = c.id;
      RETURN NULL;
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER connectors_delete_sync_rows AFTER DELETE ON connectors
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION connectors_delete_sync_rows()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TRIGGER IF EXISTS connectors_delete_sync_rows ON connectors`.execute(db);
  await sql`DROP FUNCTION IF EXISTS connectors_delete_sync_rows()`.execute(db);
  for (const table of TABLES) {
    await sql`DROP TRIGGER IF EXISTS ${sql.raw(`${table}_connector_exists_insert`)} ON ${sql.table(table)}`.execute(db);
    await sql`DROP TRIGGER IF EXISTS ${sql.raw(`${table}_connector_exists_update`)} ON ${sql.table(table)}`.execute(db);
    await sql`DELETE FROM ${sql.table(table)} t WHERE NOT EXISTS (SELECT 1 FROM connectors c WHERE c.id = t.connector_id)`.execute(db);
    await sql`
      ALTER TABLE ${sql.table(table)} ADD CONSTRAINT ${sql.raw(`${table}_connector_id_fkey`)}
      FOREIGN KEY (connector_id) REFERENCES connectors(id) ON DELETE CASCADE`.execute(db);
  }
  await sql`DROP FUNCTION IF EXISTS warden_rows_connectors_exist()`.execute(db);
  await sql`ALTER TABLE grants ALTER COLUMN id SET DEFAULT gen_random_uuid()`.execute(db);
  await sql`ALTER TABLE resources RESET (fillfactor)`.execute(db);
  await sql`DROP FUNCTION IF EXISTS warden_time_ordered_uuid()`.execute(db);
}
