import { sql, type Kysely } from 'kysely';

// Access review campaigns are written in parallel partitions (packages/access-model/src/reviews/create.ts):
// each partition commits its items on its own connection, and the creating transaction commits the
// review row after all of them, so items exist for a moment before their review does.
// - access_review_items.review_id loses its foreign key (which also checked each of 550k rows at the end
//   of its INSERT: seconds of the creation); a statement-level trigger deletes the items of deleted
//   reviews instead (a connector's deletion cascades to its reviews, then to their items).
// - access_review_creations: one row per creation under way, committed before any partition starts
//   and deleted by the creating transaction. A row whose review never appeared (the creating process
//   died) tells reviewTick which items to delete.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE access_review_creations (
      review_id uuid PRIMARY KEY,
      started_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`ALTER TABLE access_review_items DROP CONSTRAINT access_review_items_review_id_fkey`.execute(db);
  await sql`
    CREATE FUNCTION access_reviews_delete_items() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM access_review_items i USING gone g WHERE i.review_id = g.id;
      RETURN NULL;
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER access_reviews_delete_items AFTER DELETE ON access_reviews
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION access_reviews_delete_items()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS access_review_creations`.execute(db);
  await sql`DROP TRIGGER IF EXISTS access_reviews_delete_items ON access_reviews`.execute(db);
  await sql`DROP FUNCTION IF EXISTS access_reviews_delete_items()`.execute(db);
  await sql`DELETE FROM access_review_items i WHERE NOT EXISTS (SELECT 1 FROM access_reviews r WHERE r.id = i.review_id)`.execute(db);
  await sql`
    ALTER TABLE access_review_items ADD CONSTRAINT access_review_items_review_id_fkey
    FOREIGN KEY (review_id) REFERENCES access_reviews(id) ON DELETE CASCADE`.execute(db);
}
