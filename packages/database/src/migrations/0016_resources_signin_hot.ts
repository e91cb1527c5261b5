import { sql, type Kysely } from 'kysely';

// A first sync inserts every user and then, in the sign-in stage, patches each user's profile with
// its sign-in activity in statements of up to 5,000 users. An UPDATE's new row version stays on its
// page (HOT: no new entries in resources' five indexes, one a trigram GIN) only if the page has room
// for it, and the versions a statement replaces free nothing until it commits: so a page needs room
// for a new version of every row on it. At 75 (0012) a page of L's users (~650 bytes a row) holds
// 9 rows and room for 2–3 new versions: 15,442 of 44,753 patches were HOT in a replay of L's sign-in
// stage (5,000 per statement), 4.6 CPU s; at 50, 42,829 were, 2.6 CPU s. The table ends the stage the
// same size (71 MB against 72 MB), since the non-HOT versions took new pages instead. Only rows
// written from now on are laid out this way.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE resources SET (fillfactor = 50)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE resources SET (fillfactor = 75)`.execute(db);
}
