import { sql, type Kysely } from 'kysely';

// The reviewer lookup of access review items ("is the caller a reviewer of this item", the queue of
// myReviewItems) without a GIN entry per item. Almost every item has exactly one reviewer key (its
// manager, or one fallback subject), and a campaign's GIN entries all went through the index's one
// pending list, which the parallel writers of a creation queue on: about 7 of a 34 CPU-second L
// campaign. Now:
// - a btree on the first key, which answers every item with a single reviewer;
// - the GIN index only over items with several keys (resource owners, listed reviewers), partial.
// The gateway asks `reviewer_keys[1] = ANY(keys) OR (cardinality(reviewer_keys) > 1 AND
// reviewer_keys && keys)`, the same set as `reviewer_keys && keys`, as a BitmapOr of the two.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX access_review_items_first_reviewer_idx ON access_review_items ((reviewer_keys[1]))`.execute(db);
  await sql`
    CREATE INDEX access_review_items_more_reviewers_idx ON access_review_items USING gin (reviewer_keys)
    WITH (gin_pending_list_limit = 65536) WHERE cardinality(reviewer_keys) > 1`.execute(db);
  await sql`DROP INDEX access_review_items_reviewers_idx`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX access_review_items_reviewers_idx ON access_review_items USING gin (reviewer_keys) WITH (gin_pending_list_limit = 65536)`.execute(
    db,
  );
  await sql`DROP INDEX access_review_items_more_reviewers_idx`.execute(db);
  await sql`DROP INDEX access_review_items_first_reviewer_idx`.execute(db);
}
