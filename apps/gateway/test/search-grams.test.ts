import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchGrams, searchGramsLiteral } from '@warden/database';
import { Rng, testSeed } from '@warden/graph-emulator';
import type { Fixture } from './support/fixture';
import { startCountingHarness, type CountedRun, type Harness } from './support/harness';

/**
 * A two- or three-character search's totalCount comes from the per-gram counts of migration 0018; it
 * must equal the count of the LIKE it replaces whatever was written since, for any characters (LIKE's
 * wildcards, non-ASCII, above U+8000, outside the BMP). Random rows from a printed, settable seed.
 */
const SEED = testSeed('search-grams');
const ALPHABET = ['a', 'b', 'c', '%', '_', '\\', ' ', 'é', '中', '😀'];
const rng = new Rng(SEED);
const random = () => rng.next();
const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
const text = (max: number) => Array.from({ length: Math.floor(random() * max) }, () => pick(ALPHABET)).join('');
const PAIRS = ALPHABET.flatMap((a) => ALPHABET.map((b) => a + b));
const TERMS = [...PAIRS, ...Array.from({ length: 80 }, () => pick(ALPHABET) + pick(PAIRS)), 'AB', 'É%', 'ABC', 'a%c', 'abca'];

let h: Harness;
let f: Fixture;
let run: CountedRun;

beforeAll(async () => {
  ({ h, f, run } = await startCountingHarness(20));
  await h.db
    .insertInto('resources')
    .values(
      Array.from({ length: 300 }, (_, i) => ({
        connector_id: f.connectorId,
        type: i % 3 === 0 ? ('GROUP' as const) : ('USER' as const),
        external_id: `random-${i}`,
        display_name: `Random ${i}`,
        profile: '{}',
        search_text: text(12),
      })),
    )
    .execute();
});
afterAll(async () => h?.close());

/** The LIKE the count replaces, as the gateway matches: the term trimmed and lowercased, as a substring. */
async function expected(term: string, type: 'USER' | null): Promise<number> {
  const r = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM resources
    WHERE connector_id = ${f.connectorId} AND (${type}::text IS NULL OR type = ${type}) AND strpos(search_text, ${term.trim().toLowerCase()}) > 0`.execute(
    h.db,
  );
  return r.rows[0]!.n;
}

async function expectCountsExact(): Promise<void> {
  for (const term of TERMS) {
    const typed = await run<{ resources: { totalCount: number } }>(
      'query($c: ID!, $t: String) { resources(connectorId: $c, type: USER, search: $t, first: 2) { totalCount edges { cursor } } }',
      { c: f.connectorId, t: term },
    );
    const untyped = await run<{ resources: { totalCount: number } }>(
      'query($c: ID!, $t: String) { resources(connectorId: $c, search: $t, first: 2) { totalCount edges { cursor } } }',
      { c: f.connectorId, t: term },
    );
    expect([term, typed.data.resources.totalCount, untyped.data.resources.totalCount]).toEqual([
      term,
      await expected(term, 'USER'),
      await expected(term, null),
    ]);
  }
  // The counter table as a whole: what recounting every row's grams gives.
  const drift = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM (
      (SELECT connector_id, type, gram, n FROM resource_gram_counts WHERE n <> 0
       EXCEPT SELECT connector_id, type, b, count(*) FROM resources, unnest(warden_search_grams(search_text)) b GROUP BY 1, 2, 3)
      UNION ALL
      (SELECT connector_id, type, b, count(*) FROM resources, unnest(warden_search_grams(search_text)) b GROUP BY 1, 2, 3
       EXCEPT SELECT connector_id, type, gram, n FROM resource_gram_counts WHERE n <> 0)) d`.execute(h.db);
  expect(drift.rows[0]!.n).toBe(0);
}

describe('two- and three-character search counts (migration 0018)', () => {
  it('the grams computed by the sync worker are the ones Postgres computes', async () => {
    const samples = [...Array.from({ length: 200 }, () => text(30)), '', 'a', 'user 0001 finance user1@contoso.example'];
    const r = await sql<{ s: string; b: number[] }>`
      SELECT s, warden_search_grams(s) AS b FROM unnest(${samples}::text[]) s`.execute(h.db);
    for (const row of r.rows) expect([row.s, row.b]).toEqual([row.s, searchGrams(row.s)]);
  });

  it('is exact for every term, with and without a type, and comes from the counters in the page statement', async () => {
    const r = await run<{ resources: { totalCount: number } }>(
      'query($c: ID!) { resources(connectorId: $c, type: USER, search: "ab", first: 2) { totalCount edges { cursor } } }',
      { c: f.connectorId },
    );
    expect(r.statements.filter((s) => s.includes('from "resources"'))).toHaveLength(1);
    expect(r.statements[0]).toContain('resource_gram_counts');
    await expectCountsExact();
  });

  it('stays exact through inserts, upserts, updates that do not name the grams, type changes and deletes', async () => {
    // As the sync worker writes: grams supplied, an upsert rewriting some rows.
    const rows = Array.from({ length: 60 }, (_, i) => ({ id: `upsert-${i % 40}`, t: text(12) }));
    for (const batch of [rows.slice(0, 40), rows.slice(40)])
      await sql`
        INSERT INTO resources AS r (connector_id, type, external_id, profile, search_text, search_grams)
        SELECT ${f.connectorId}::uuid, 'USER', x.id, '{}', x.t, x.b::int[]
        FROM unnest(${batch.map((b) => b.id)}::text[], ${batch.map((b) => b.t)}::text[], ${batch.map((b) => searchGramsLiteral(b.t))}::text[]) x(id, t, b)
        ON CONFLICT (connector_id, external_id) DO UPDATE SET search_text = excluded.search_text, search_grams = excluded.search_grams`.execute(
        h.db,
      );
    // Other writers: search_text alone (a trigger recomputes the grams), a type change, profile only, deletes.
    await sql`UPDATE resources SET search_text = reverse(search_text) || 'cab' WHERE external_id LIKE 'random-1%'`.execute(h.db);
    await sql`UPDATE resources SET type = 'GROUP' WHERE external_id LIKE 'random-2%' AND type = 'USER'`.execute(h.db);
    await sql`UPDATE resources SET profile = '{"x": 1}' WHERE external_id LIKE 'random-3%'`.execute(h.db);
    await sql`DELETE FROM resources WHERE external_id LIKE 'random-4%' OR external_id = 'upsert-7'`.execute(h.db);
    await expectCountsExact();
  });
});

describe('searched pages (ids found first, then their rows)', () => {
  /** Every matching row in id order, as the pages must list them. */
  async function matchingRows(term: string, type: 'USER' | null): Promise<unknown[]> {
    const r = await sql<{ id: string; external_id: string; profile: unknown }>`
      SELECT id, external_id, profile FROM resources
      WHERE connector_id = ${f.connectorId} AND (${type}::text IS NULL OR type = ${type}) AND strpos(search_text, ${term.trim().toLowerCase()}) > 0
      ORDER BY id`.execute(h.db);
    return r.rows.map((x) => [x.id, x.external_id, x.profile]);
  }

  it('walks every match exactly once, in id order, page after page, with the rows read whole', async () => {
    const terms = [...TERMS.slice(0, 12), ...TERMS.slice(-8), 'a', 'zz-nothing'];
    for (const term of terms)
      for (const type of ['USER', null] as const) {
        const seen: unknown[] = [];
        let after: string | null = null;
        for (let page = 0; page < 200; page++) {
          const r: { data: PageData; statements: string[] } = await run<PageData>(
            `query($c: ID!, $t: String, $a: String) { resources(connectorId: $c, ${type ? 'type: USER, ' : ''}search: $t, first: 7, after: $a) {
               totalCount pageInfo { hasNextPage endCursor } edges { node { id type externalId profile } } } }`,
            { c: f.connectorId, t: term, a: after },
          );
          const res: PageData['resources'] = r.data.resources;
          // The total rides on the page's statement (an empty page has no row to carry it).
          if (res.edges.length > 0) expect(r.statements.filter((s) => s.includes('from "resources"'))).toHaveLength(1);
          for (const e of res.edges) {
            expect(type === null || e.node.type === type).toBe(true);
            seen.push([e.node.id, e.node.externalId, e.node.profile]);
          }
          expect(res.totalCount).toBe(await expected(term, type));
          if (!res.pageInfo.hasNextPage) break;
          after = res.pageInfo.endCursor;
        }
        expect([term, type, seen]).toEqual([term, type, await matchingRows(term, type)]);
      }
  });
});

interface PageData {
  resources: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: { node: { id: string; type: string; externalId: string; profile: unknown } }[];
  };
}
