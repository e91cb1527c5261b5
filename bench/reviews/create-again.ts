/**
 * npx tsx bench/reviews/create-again.ts --database <kept bench database> [--code <checkout>]... [--runs 1]
 *
 * The create step of bench:reviews again, on a database a `--keep` run left behind (seeded L tenant),
 * calling createAccessReview directly (no gateway: its share is ~0.3 CPU-s), for back-to-back A/B of
 * two versions of the code on the same data: each `--code <checkout>` (this one by default) imports
 * the create of that checkout, in the order given, `--runs` times over. Every campaign is compared
 * item by item with the first (the same items, reviewers, recommendation and reasons; the day counts
 * in the reasons move with now(), so differences in them alone are counted apart), then all are
 * deleted (and the table vacuumed).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { RESOURCE_TYPES, createDb } from '@warden/database';
import { TEST_ADMIN_DATABASE_URL } from '@warden/database/testing';
import type { Bus } from '@warden/bus';
import type { createAccessReview as CreateFn } from '@warden/access-model';
import { loadAverage } from '../support/result';
import { postgresCpu } from '../support/postgres-cpu';

const { values } = parseArgs({
  options: {
    database: { type: 'string' },
    code: { type: 'string', multiple: true, default: [path.resolve(import.meta.dirname, '../..')] },
    runs: { type: 'string', default: '1' },
  },
});
if (!values.database || !/^[a-z0-9_]+$/.test(values.database)) throw new Error('--database <name of a kept bench database>');
const url = new URL(TEST_ADMIN_DATABASE_URL);
url.pathname = `/${values.database}`;
const db = createDb({ connectionString: url.toString(), max: 6, applicationName: 'create-again' });
// createAccessReview publishes one event at the end; nothing listens here.
const bus = { publishAccessReviewUpdated: () => undefined } as unknown as Bus;
const connectorId = (await sql<{ id: string }>`SELECT id FROM connectors LIMIT 1`.execute(db)).rows[0]!.id;
type Create = typeof CreateFn;
const versions: Array<{ code: string; create: Create }> = [];
for (const code of values.code) {
  const mod = (await import(path.join(path.resolve(code), 'packages/access-model/src/reviews/create.ts'))) as {
    createAccessReview: Create;
  };
  versions.push({ code, create: mod.createAccessReview });
}
const made: string[] = [];
try {
  for (let run = 0; run < Number(values.runs); run++) {
    for (const { code, create } of versions) {
      const load = loadAverage();
      const pg = postgresCpu(db, values.database);
      await pg.start();
      const t0 = Date.now();
      const { review, items } = await create(
        db,
        bus,
        { subject: 'bench-admin', role: 'SUPER_ADMIN' },
        {
          name: 'again',
          connectorId,
          resourceTypes: [...RESOURCE_TYPES],
          reviewers: 'MANAGER',
          fallbackSubjects: ['bench-fallback'],
          dueAt: new Date(Date.now() + 7 * 86_400_000),
          undecided: 'KEEP',
          inactiveDays: 30,
        },
      );
      const seconds = (Date.now() - t0) / 1000;
      const cpu = await pg.stop();
      made.push(review.id);
      const diff = made.length === 1 ? null : await compare(made[0]!, review.id);
      console.log(
        JSON.stringify({
          code,
          items,
          seconds,
          postgresCpuSeconds: cpu,
          perBackend: pg.perBackend().slice(0, 6),
          differences: diff,
          loadAtStart: load,
          loadAtEnd: loadAverage(),
        }),
      );
    }
  }
} finally {
  for (const id of made) await sql`DELETE FROM access_reviews WHERE id = ${id}`.execute(db);
  await sql`VACUUM access_review_items`.execute(db);
  await db.destroy();
}

/** Items of campaign b that are not in campaign a, compared whole and with the day counts masked. */
async function compare(a: string, b: string): Promise<{ items: number; beyondDayCounts: number }> {
  const cols = sql.raw(`entitlement_id, entitlement_key, principal_id, principal_external_id, principal_kind, recommendation, fallback,
    inherited_count, last_sign_in_at, reviewer_oids, reviewer_subjects, reviewer_keys`);
  const r = await sql<{ items: number; masked: number }>`
    WITH m AS (
      SELECT review_id, ${cols}, recommendation_reason,
        regexp_replace(recommendation_reason, '[0-9]+ days?', 'N days', 'g') AS masked_reason
      FROM access_review_items WHERE review_id IN (${a}, ${b})
    )
    SELECT
      (SELECT count(*)::int FROM (SELECT ${cols}, recommendation_reason FROM m WHERE review_id = ${b}
                                  EXCEPT ALL SELECT ${cols}, recommendation_reason FROM m WHERE review_id = ${a}) d) AS items,
      (SELECT count(*)::int FROM (SELECT ${cols}, masked_reason FROM m WHERE review_id = ${b}
                                  EXCEPT ALL SELECT ${cols}, masked_reason FROM m WHERE review_id = ${a}) d) AS masked`.execute(db);
  return { items: r.rows[0]!.items, beyondDayCounts: r.rows[0]!.masked };
}
