import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fixture } from './support/fixture';
import { startCountingHarness, type Harness } from './support/harness';

/**
 * `myReviewItems` answers in one statement: the page, its total and the entitlement and principal of
 * each row (ReviewService.myItems). Its answers must be those the loaders give for the same items
 * (`accessReview(id) { items(mine: true) }` still resolves them one loader batch at a time), page
 * after page, for a deleted entitlement too, and the total must be right on an empty page.
 */
const TENANT = '11111111-1111-4111-8111-111111111111'; // seedTenant's tenant
let h: Harness;
let f: Fixture;
let statements: string[];
let manager: string;
let reviewIds: string[];

// Members may not read Entitlement.resource.
const NODE = `id recommendation entitlement { id key slug displayName grantable } principal { id externalId displayName type profile }`;
type Node = { id: string; entitlement: { id: string }; principal: { id: string } };
type Page = { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: Node }[] };

async function asManager<T>(query: string, variables: Record<string, unknown> = {}): Promise<{ data: T; statements: string[] }> {
  statements.length = 0;
  const r = await h.gql<T>(manager, query, variables);
  if (r.errors) throw new Error(`unexpected GraphQL errors: ${JSON.stringify(r.errors)}`);
  return { data: r.data as T, statements: [...statements] };
}

beforeAll(async () => {
  ({ h, f, statements } = await startCountingHarness(20));
  // Users 1..8 report to user 0: user 0 is their reviewer as MANAGER.
  const boss = f.users[0]!.externalId;
  await sql`UPDATE resources SET profile = profile || jsonb_build_object('managerId', ${boss}::text)
    WHERE connector_id = ${f.connectorId} AND external_id = ANY(${f.users.slice(1, 9).map((u) => u.externalId)}::text[])`.execute(h.db);
  const admin = await h.token('SUPER_ADMIN', 'root');
  reviewIds = [];
  for (const name of ['first', 'second']) {
    const r = await h.gql<{ createAccessReview: { id: string } }>(
      admin,
      `mutation($input: AccessReviewInput!) { createAccessReview(input: $input) { id } }`,
      {
        input: {
          name,
          connectorId: f.connectorId,
          entitlementIds: [f.bigGroup.memberEntitlementId],
          reviewers: 'MANAGER',
          fallbackSubjects: ['fallback-sub'],
          dueAt: new Date(Date.now() + 86_400_000).toISOString(),
        },
      },
    );
    if (!r.data) throw new Error(JSON.stringify(r.errors));
    reviewIds.push(r.data.createAccessReview.id);
  }
  manager = await h.token('MEMBER', 'boss-sub', { tid: TENANT, oid: boss });
});
afterAll(async () => h?.close());

/** The same items through the loaders' path: each review's `items(mine: true)`, in id order. */
async function throughLoaders(): Promise<Node[]> {
  const nodes: Node[] = [];
  for (const id of reviewIds) {
    const r = await asManager<{ accessReview: { items: { edges: { node: Node }[] } } }>(
      `query($id: ID!) { accessReview(id: $id) { items(first: 500, mine: true) { edges { node { ${NODE} } } } } }`,
      { id },
    );
    nodes.push(...r.data.accessReview.items.edges.map((e) => e.node));
  }
  return nodes.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

describe('myReviewItems in one statement', () => {
  it('pages, totals, entitlements and principals as the loaders give them, one statement a page', async () => {
    const expected = await throughLoaders();
    // 8 reports in each of the two reviews.
    expect(expected).toHaveLength(16);
    const seen: Node[] = [];
    let after: string | null = null;
    do {
      const r: { data: { myReviewItems: Page }; statements: string[] } = await asManager<{ myReviewItems: Page }>(
        `query($after: String) { myReviewItems(first: 5, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { ${NODE} } } } }`,
        { after },
      );
      // The page with its total and relations; the principals' profiles (not joined) are one loader batch.
      expect(r.statements.filter((s) => /access_review_items/.test(s))).toHaveLength(1);
      expect(r.statements).toHaveLength(2);
      expect(r.data.myReviewItems.totalCount).toBe(16);
      seen.push(...r.data.myReviewItems.edges.map((e) => e.node));
      after = r.data.myReviewItems.pageInfo.hasNextPage ? r.data.myReviewItems.pageInfo.endCursor : null;
    } while (after);
    expect(seen).toEqual(expected);
  });

  it('without relations or total selected: one statement and no join', async () => {
    const r = await asManager<{ myReviewItems: { edges: { node: { id: string } }[] } }>(
      `{ myReviewItems(first: 3) { edges { node { id } } } }`,
    );
    expect(r.statements).toHaveLength(1);
    expect(r.statements[0]).not.toMatch(/join "entitlements"|join "resources"|count\(/i);
    expect(r.data.myReviewItems.edges).toHaveLength(3);
  });

  it('the total of an empty page past the end is still the whole queue', async () => {
    const all = await asManager<{ myReviewItems: Page }>(`{ myReviewItems(first: 500) { pageInfo { endCursor } edges { node { id } } } }`);
    const last = all.data.myReviewItems.pageInfo.endCursor;
    const past = await asManager<{ myReviewItems: Page }>(
      `query($a: String) { myReviewItems(first: 5, after: $a) { totalCount edges { node { id } } } }`,
      {
        a: last,
      },
    );
    expect(past.data.myReviewItems.edges).toHaveLength(0);
    expect(past.data.myReviewItems.totalCount).toBe(16);
  });

  it('an entitlement deleted since shows as its placeholder, as through the loaders', async () => {
    const gone = await h.db
      .selectFrom('entitlements')
      .selectAll()
      .where('id', '=', f.bigGroup.memberEntitlementId)
      .executeTakeFirstOrThrow();
    await h.db.deleteFrom('entitlements').where('id', '=', gone.id).execute();
    try {
      const expected = await throughLoaders();
      const r = await asManager<{ myReviewItems: Page }>(`{ myReviewItems(first: 500) { edges { node { ${NODE} } } } }`);
      expect(r.data.myReviewItems.edges.map((e) => e.node)).toEqual(expected);
      expect(r.data.myReviewItems.edges[0]!.node.entitlement).toMatchObject({
        id: gone.id,
        displayName: `${gone.slug} (no longer synced)`,
      });
    } finally {
      await h.db.insertInto('entitlements').values(gone).execute();
    }
  });
});
