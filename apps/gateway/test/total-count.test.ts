import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fixture } from './support/fixture';
import { startCountingHarness, type Harness } from './support/harness';

/**
 * totalCount rides in the page statement when the client selects it (directly or through a
 * fragment), costs nothing when it does not, and still answers when the page is empty.
 */
let h: Harness;
let f: Fixture;
let token: string;
let statements: string[] = [];

beforeAll(async () => {
  ({ h, statements, f, token } = await startCountingHarness(120));
});
afterAll(async () => h?.close());

async function run<T>(query: string, variables: Record<string, unknown>): Promise<{ data: T; statements: string[] }> {
  statements.length = 0;
  const r = await h.gql<T>(token, query, variables);
  expect(r.errors).toBeUndefined();
  return { data: r.data!, statements: [...statements] };
}

type Page = { totalCount?: number; edges: { cursor: string }[]; pageInfo: { endCursor: string | null } };

describe('totalCount', () => {
  it('a search page with totalCount is one statement, and the count matches the rows', async () => {
    const q =
      'query($c: ID!) { resources(connectorId: $c, type: USER, search: "finance", first: 500) { totalCount edges { cursor } pageInfo { endCursor } } }';
    const r = await run<{ resources: Page }>(q, { c: f.connectorId });
    expect(r.data.resources.totalCount).toBe(r.data.resources.edges.length);
    expect(r.data.resources.totalCount).toBe(12);
    expect(r.statements.filter((s) => s.includes('from "resources"'))).toHaveLength(1);
  });

  it('no count at all when totalCount is not selected; a fragment selection counts as selected', async () => {
    const plain = await run<{ resources: Page }>(
      'query($c: ID!) { resources(connectorId: $c, first: 5) { edges { cursor } pageInfo { endCursor } } }',
      { c: f.connectorId },
    );
    expect(plain.statements.join('\n')).not.toMatch(/count\(\*\)/);
    const viaFragment = await run<{ resources: Page }>(
      'fragment T on ResourceConnection { totalCount } query($c: ID!) { resources(connectorId: $c, type: USER, first: 5) { ...T edges { cursor } pageInfo { endCursor } } }',
      { c: f.connectorId },
    );
    expect(viaFragment.data.resources.totalCount).toBe(120);
    expect(viaFragment.statements).toHaveLength(1);
  });

  it('an empty page past the end still reports the total (separate count)', async () => {
    const all = await run<{ resources: Page }>(
      'query($c: ID!) { resources(connectorId: $c, type: USER, first: 500) { edges { cursor } pageInfo { endCursor } } }',
      { c: f.connectorId },
    );
    const last = all.data.resources.pageInfo.endCursor;
    const past = await run<{ resources: Page }>(
      'query($c: ID!, $a: String) { resources(connectorId: $c, type: USER, after: $a) { totalCount edges { cursor } pageInfo { endCursor } } }',
      { c: f.connectorId, a: last },
    );
    expect(past.data.resources.edges).toHaveLength(0);
    expect(past.data.resources.totalCount).toBe(120);
  });

  it("a group's grants page with includeInherited carries its distinct-pair count in the page statement", async () => {
    const q = `query($e: ID!) { entitlement(id: $e) { grants(first: 500) { totalCount edges { cursor } pageInfo { endCursor } } } }`;
    const r = await run<{ entitlement: { grants: Page } }>(q, { e: f.bigGroup.memberEntitlementId });
    expect(r.data.entitlement.grants.totalCount).toBe(r.data.entitlement.grants.edges.length);
    // The entitlement, its page and the count: one statement (GrantService.pageUnder).
    expect(r.statements).toHaveLength(1);
  });
});
