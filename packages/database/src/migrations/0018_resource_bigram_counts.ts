import { sql, type Kysely } from 'kysely';

// The gateway's type-ahead search sends every term from its second letter on, and a two-letter term
// cannot use the trigram index: its totalCount was an index-only scan of every user of the
// connector with LIKE on each (50,000 at L, ~15–30 ms of Postgres CPU a request), and a GIN index of
// bigrams would not help the terms that match nearly everyone (every UPN carries the tenant's domain,
// whose bigrams a first name's often are) since a bitmap heap scan still visits a heap page per
// match (PG 15.20 no longer skips all-visible ones). So the count of each bigram is kept, exact:
// `resources.search_bigrams` holds a row's distinct bigrams (as @warden/database searchBigrams
// defines them; the sync worker computes them, `warden_search_bigrams` does for any other writer), and
// statement triggers add each statement's net change per (connector, type, bigram) to
// `resource_bigram_counts`. A writer's rows are upserted in key order, so concurrent writers of one
// connector wait on each other's counter rows until commit but cannot deadlock on them.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION warden_search_bigrams(t text) RETURNS int[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT coalesce(array_agg(DISTINCT a * 32768 + b ORDER BY a * 32768 + b), '{}')
      FROM (SELECT ascii(substr(t, i, 1)) AS a, ascii(substr(t, i + 1, 1)) AS b FROM generate_series(1, length(t) - 1) i) x
      WHERE a < 32768 AND b < 32768
    $$`.execute(db);
  await sql`ALTER TABLE resources ADD COLUMN search_bigrams int[]`.execute(db);
  await sql`UPDATE resources SET search_bigrams = warden_search_bigrams(search_text)`.execute(db);
  await sql`ALTER TABLE resources ALTER COLUMN search_bigrams SET NOT NULL`.execute(db);
  await sql`
    CREATE TABLE resource_bigram_counts (
      connector_id uuid NOT NULL,
      type text NOT NULL,
      bigram int NOT NULL,
      n bigint NOT NULL,
      PRIMARY KEY (connector_id, type, bigram)
    )`.execute(db);
  await sql`
    INSERT INTO resource_bigram_counts (connector_id, type, bigram, n)
    SELECT connector_id, type, b, count(*) FROM resources, unnest(search_bigrams) b GROUP BY 1, 2, 3`.execute(db);

  // A writer that does not supply the bigrams (tests, fixtures, anything but the sync worker) gets them here.
  await sql`
    CREATE FUNCTION warden_fill_search_bigrams() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.search_bigrams := warden_search_bigrams(NEW.search_text);
      RETURN NEW;
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER resources_search_bigrams_insert BEFORE INSERT ON resources FOR EACH ROW
    WHEN (NEW.search_bigrams IS NULL) EXECUTE FUNCTION warden_fill_search_bigrams()`.execute(db);
  await sql`
    CREATE TRIGGER resources_search_bigrams_update BEFORE UPDATE OF search_text ON resources FOR EACH ROW
    WHEN (NEW.search_text IS DISTINCT FROM OLD.search_text AND NEW.search_bigrams IS NOT DISTINCT FROM OLD.search_bigrams)
    EXECUTE FUNCTION warden_fill_search_bigrams()`.execute(db);

  await sql`
    CREATE FUNCTION warden_count_bigrams() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO resource_bigram_counts AS c (connector_id, type, bigram, n)
        SELECT connector_id, type, b, count(*) FROM new_rows, unnest(search_bigrams) b GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (connector_id, type, bigram) DO UPDATE SET n = c.n + excluded.n;
      ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO resource_bigram_counts AS c (connector_id, type, bigram, n)
        SELECT connector_id, type, b, -count(*) FROM old_rows, unnest(search_bigrams) b GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (connector_id, type, bigram) DO UPDATE SET n = c.n + excluded.n;
      ELSE
        -- Only the rows whose search_text (hence bigrams), type or connector changed: an upsert rewrites
        -- most rows with the same ones, and the sign-in stage's profile patches fire this too. Joined
        -- on id (a row whose id changed counts as removed and added); text compares cheaper than arrays.
        INSERT INTO resource_bigram_counts AS c (connector_id, type, bigram, n)
        SELECT connector_id, type, b, sum(d) FROM (
          SELECT nr.connector_id, nr.type, nr.search_bigrams, 1 AS d FROM new_rows nr LEFT JOIN old_rows o ON o.id = nr.id
          WHERE o.id IS NULL OR (o.connector_id, o.type, o.search_text) IS DISTINCT FROM (nr.connector_id, nr.type, nr.search_text)
          UNION ALL
          SELECT o.connector_id, o.type, o.search_bigrams, -1 FROM old_rows o LEFT JOIN new_rows nr ON nr.id = o.id
          WHERE nr.id IS NULL OR (o.connector_id, o.type, o.search_text) IS DISTINCT FROM (nr.connector_id, nr.type, nr.search_text)
        ) x, unnest(search_bigrams) b GROUP BY 1, 2, 3 HAVING sum(d) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (connector_id, type, bigram) DO UPDATE SET n = c.n + excluded.n;
      END IF;
      RETURN NULL;
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER resources_bigrams_insert AFTER INSERT ON resources REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION warden_count_bigrams()`.execute(db);
  await sql`
    CREATE TRIGGER resources_bigrams_delete AFTER DELETE ON resources REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION warden_count_bigrams()`.execute(db);
  // No column list (not allowed with transition tables): the sign-in stage's profile patches fire it
  // too, and find nothing changed.
  await sql`
    CREATE TRIGGER resources_bigrams_update AFTER UPDATE ON resources
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION warden_count_bigrams()`.execute(db);
  await sql`
    CREATE FUNCTION warden_bigrams_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM resource_bigram_counts;
      RETURN NULL;
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER resources_bigrams_truncate AFTER TRUNCATE ON resources FOR EACH STATEMENT
    EXECUTE FUNCTION warden_bigrams_truncated()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'resources_bigrams_truncate',
    'resources_bigrams_update',
    'resources_bigrams_delete',
    'resources_bigrams_insert',
    'resources_search_bigrams_update',
    'resources_search_bigrams_insert',
  ])
    await sql`DROP TRIGGER ${sql.raw(t)} ON resources`.execute(db);
  await sql`DROP FUNCTION warden_bigrams_truncated()`.execute(db);
  await sql`DROP FUNCTION warden_count_bigrams()`.execute(db);
  await sql`DROP FUNCTION warden_fill_search_bigrams()`.execute(db);
  await sql`DROP TABLE resource_bigram_counts`.execute(db);
  await sql`ALTER TABLE resources DROP COLUMN search_bigrams`.execute(db);
  await sql`DROP FUNCTION warden_search_bigrams(text)`.execute(db);
}
