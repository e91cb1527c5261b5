import { sql, type Kysely } from 'kysely';

// The gateway's type-ahead search sends every term from its second letter on. A two-letter term
// cannot use the trigram index: its totalCount was an index-only scan of every user of the connector
// with LIKE on each (50,000 at L); a common three-letter one rechecks thousands of trigram matches on
// the table. A GIN index of bigrams would not help the terms that match nearly everyone (every UPN
// carries the tenant's domain, whose bigrams a first name's often are): a bitmap count still visits a
// heap page per match (PG 15.20 no longer skips all-visible ones). So the count of each gram is kept,
// exact: `resources.search_grams` holds a row's distinct bigrams and ASCII trigrams (as
// @warden/database searchGrams defines them; the sync worker computes them, `warden_search_grams`
// does for any other writer), and statement triggers add each statement's net change per (connector,
// type, gram) to `resource_gram_counts`. A statement upserts its counters in key order, so concurrent
// writers of one connector wait on each other's counter rows until commit but cannot deadlock on them.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION warden_search_grams(t text) RETURNS int[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT coalesce(array_agg(DISTINCT g ORDER BY g), '{}') FROM (
        SELECT a * 32768 + b AS g
        FROM (SELECT ascii(substr(t, i, 1)) AS a, ascii(substr(t, i + 1, 1)) AS b FROM generate_series(1, length(t) - 1) i) x
        WHERE a < 32768 AND b < 32768
        UNION ALL
        SELECT -(a * 16384 + b * 128 + c)
        FROM (SELECT ascii(substr(t, i, 1)) AS a, ascii(substr(t, i + 1, 1)) AS b, ascii(substr(t, i + 2, 1)) AS c
              FROM generate_series(1, length(t) - 2) i) y
        WHERE a < 128 AND b < 128 AND c < 128
      ) z
    $$`.execute(db);
  await sql`ALTER TABLE resources ADD COLUMN search_grams int[]`.execute(db);
  await sql`UPDATE resources SET search_grams = warden_search_grams(search_text)`.execute(db);
  await sql`ALTER TABLE resources ALTER COLUMN search_grams SET NOT NULL`.execute(db);
  await sql`
    CREATE TABLE resource_gram_counts (
      connector_id uuid NOT NULL,
      type text NOT NULL,
      gram int NOT NULL,
      n bigint NOT NULL,
      PRIMARY KEY (connector_id, type, gram)
    )`.execute(db);
  await sql`
    INSERT INTO resource_gram_counts (connector_id, type, gram, n)
    SELECT connector_id, type, b, count(*) FROM resources, unnest(search_grams) b GROUP BY 1, 2, 3`.execute(db);

  // A writer that does not supply the grams (tests, fixtures, anything but the sync worker) gets them here.
  await sql`
    CREATE FUNCTION warden_fill_search_grams() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.search_grams := warden_search_grams(NEW.search_text);
      RETURN NEW;
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER resources_search_grams_insert BEFORE INSERT ON resources FOR EACH ROW
    WHEN (NEW.search_grams IS NULL) EXECUTE FUNCTION warden_fill_search_grams()`.execute(db);
  await sql`
    CREATE TRIGGER resources_search_grams_update BEFORE UPDATE OF search_text ON resources FOR EACH ROW
    WHEN (NEW.search_text IS DISTINCT FROM OLD.search_text AND NEW.search_grams IS NOT DISTINCT FROM OLD.search_grams)
    EXECUTE FUNCTION warden_fill_search_grams()`.execute(db);

  await sql`
    CREATE FUNCTION warden_count_grams() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO resource_gram_counts AS c (connector_id, type, gram, n)
        SELECT connector_id, type, b, count(*) FROM new_rows, unnest(search_grams) b GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (connector_id, type, gram) DO UPDATE SET n = c.n + excluded.n;
      ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO resource_gram_counts AS c (connector_id, type, gram, n)
        SELECT connector_id, type, b, -count(*) FROM old_rows, unnest(search_grams) b GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (connector_id, type, gram) DO UPDATE SET n = c.n + excluded.n;
      ELSE
        -- Most UPDATEs change no search_text (the sign-in stage's profile patches, an upsert of
        -- unchanged rows): resources_grams_changed flags those that do, and the others read nothing.
        IF coalesce(current_setting('warden.grams_changed', true), '') <> 'on' THEN
          RETURN NULL;
        END IF;
        PERFORM set_config('warden.grams_changed', '', true);
        -- Only the rows whose search_text (hence grams), type or connector changed: an upsert rewrites
        -- most rows with the same ones, and the sign-in stage's profile patches fire this too. Joined
        -- on id (a row whose id changed counts as removed and added); text compares cheaper than arrays.
        INSERT INTO resource_gram_counts AS c (connector_id, type, gram, n)
        SELECT connector_id, type, b, sum(d) FROM (
          SELECT nr.connector_id, nr.type, nr.search_grams, 1 AS d FROM new_rows nr LEFT JOIN old_rows o ON o.id = nr.id
          WHERE o.id IS NULL OR (o.connector_id, o.type, o.search_text) IS DISTINCT FROM (nr.connector_id, nr.type, nr.search_text)
          UNION ALL
          SELECT o.connector_id, o.type, o.search_grams, -1 FROM old_rows o LEFT JOIN new_rows nr ON nr.id = o.id
          WHERE nr.id IS NULL OR (o.connector_id, o.type, o.search_text) IS DISTINCT FROM (nr.connector_id, nr.type, nr.search_text)
        ) x, unnest(search_grams) b GROUP BY 1, 2, 3 HAVING sum(d) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (connector_id, type, gram) DO UPDATE SET n = c.n + excluded.n;
      END IF;
      RETURN NULL;
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER resources_grams_insert AFTER INSERT ON resources REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION warden_count_grams()`.execute(db);
  await sql`
    CREATE TRIGGER resources_grams_delete AFTER DELETE ON resources REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION warden_count_grams()`.execute(db);
  // A trigger with transition tables cannot name columns, so this one fires on every UPDATE; the row
  // trigger below tells it whether the statement changed anything it counts (a setting local to the
  // transaction, set before the statement's AFTER triggers run and cleared by them).
  await sql`
    CREATE FUNCTION warden_flag_grams_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM set_config('warden.grams_changed', 'on', true);
      RETURN NEW;
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER resources_grams_changed BEFORE UPDATE ON resources FOR EACH ROW
    WHEN (OLD.search_text IS DISTINCT FROM NEW.search_text OR OLD.search_grams IS DISTINCT FROM NEW.search_grams
          OR OLD.type IS DISTINCT FROM NEW.type OR OLD.connector_id IS DISTINCT FROM NEW.connector_id OR OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION warden_flag_grams_changed()`.execute(db);
  await sql`
    CREATE TRIGGER resources_grams_update AFTER UPDATE ON resources
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION warden_count_grams()`.execute(db);
  await sql`
    CREATE FUNCTION warden_grams_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM resource_gram_counts;
      RETURN NULL;
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER resources_grams_truncate AFTER TRUNCATE ON resources FOR EACH STATEMENT
    EXECUTE FUNCTION warden_grams_truncated()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'resources_grams_changed',
    'resources_grams_truncate',
    'resources_grams_update',
    'resources_grams_delete',
    'resources_grams_insert',
    'resources_search_grams_update',
    'resources_search_grams_insert',
  ])
    await sql`DROP TRIGGER ${sql.raw(t)} ON resources`.execute(db);
  await sql`DROP FUNCTION warden_grams_truncated()`.execute(db);
  await sql`DROP FUNCTION warden_flag_grams_changed()`.execute(db);
  await sql`DROP FUNCTION warden_count_grams()`.execute(db);
  await sql`DROP FUNCTION warden_fill_search_grams()`.execute(db);
  await sql`DROP TABLE resource_gram_counts`.execute(db);
  await sql`ALTER TABLE resources DROP COLUMN search_grams`.execute(db);
  await sql`DROP FUNCTION warden_search_grams(text)`.execute(db);
}
